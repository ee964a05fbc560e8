//! The axum example's routes over real HTTP against the emulator: the mobile-only link is shown,
//! the page polls, approval finishes the login; two visitors keep separate Loginapp sessions.

// Test code: panicking on a broken expectation is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code, unused_imports)]
#[path = "../../examples/axum_login.rs"]
mod axum_login;

use airlock_iam::Client;
use airlock_iam::emulator::Emulator;

async fn serve(emulator: &Emulator) -> std::net::SocketAddr {
    let client = Client::builder(emulator.base_url()).build().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, axum_login::app(client)).await });
    addr
}

fn cookie_of(response: &str) -> String {
    response
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn axum_page_shows_the_mobile_only_link_and_polls_to_done() {
    let emulator = Emulator::start().await.unwrap();
    let addr = serve(&emulator).await;
    let form = axum_login::raw_http(addr, "GET", "/", None, "")
        .await
        .unwrap();
    assert!(form.contains("<form"));

    let jdoe = axum_login::raw_http(
        addr,
        "POST",
        "/login",
        None,
        "username=jdoe&password=password1",
    )
    .await
    .unwrap();
    assert!(
        jdoe.contains("href=\"airlock2fa://auth?session_token="),
        "{jdoe}"
    );
    assert!(jdoe.contains("&amp;user_id="), "escaped: {jdoe}");
    let jdoe_cookie = cookie_of(&jdoe);

    let alice = axum_login::raw_http(
        addr,
        "POST",
        "/login",
        None,
        "username=alice&password=password1",
    )
    .await
    .unwrap();
    assert!(alice.contains("Check your phone"));
    let alice_cookie = cookie_of(&alice);

    let s = axum_login::raw_http(addr, "GET", "/status", Some(&jdoe_cookie), "")
        .await
        .unwrap();
    assert!(s.contains("\"pending\""), "{s}");
    assert!(emulator.approve("jdoe"));
    let s = axum_login::raw_http(addr, "GET", "/status", Some(&jdoe_cookie), "")
        .await
        .unwrap();
    assert!(s.contains("\"done\""), "{s}");
    let s = axum_login::raw_http(addr, "GET", "/status", Some(&alice_cookie), "")
        .await
        .unwrap();
    assert!(s.contains("\"pending\""), "alice's login is separate: {s}");

    let bad = axum_login::raw_http(addr, "POST", "/login", None, "username=jdoe&password=nope")
        .await
        .unwrap();
    assert!(bad.starts_with("HTTP/1.1 401"), "{bad}");
    assert!(bad.contains("wrong username or password"));
    assert!(!bad.contains("nope"));
    let none = axum_login::raw_http(addr, "GET", "/status", None, "")
        .await
        .unwrap();
    assert!(none.contains("\"failed\""));
}
