//! The redirect flow in an axum web app, against the emulator.
//!
//! Routes: `GET /` (a sign-in form), `GET /login?user=…` (makes the request, keeps it in the
//! server-side session, redirects the browser to the credential server), `GET
//! /finish?response=…` (takes the request out of the session — once — and verifies).
//!
//! `cargo run -p logonbox --features emulator --example axum_redirect` drives one sign-in
//! through the app with an HTTP client playing the browser and exits; add `-- --serve` to keep
//! it running and sign in with a real browser (the emulated phone approves `lee@logonbox.com`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use logonbox::emulator::Emulator;
use logonbox::{Client, Error, KeyType, PendingRequest, RedirectRequest};
use serde::Deserialize;

struct App {
    client: Client,
    /// Server-side sessions: session id → the pending LogonBox request.
    sessions: Mutex<HashMap<String, PendingRequest>>,
    /// Our own callback, with the `{response}` placeholder.
    callback: String,
}

#[derive(Deserialize)]
struct Login {
    user: String,
}

#[derive(Deserialize)]
struct Finish {
    response: String,
}

fn session_id() -> String {
    let mut bytes = [0u8; 16];
    let _ = SystemRandom::new().fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::COOKIE)?
        .to_str()
        .ok()?
        .split(';')
        .find_map(|c| c.trim().strip_prefix("sid=").map(str::to_owned))
}

async fn index() -> Html<&'static str> {
    Html(
        "<form action=/login><input name=user value=lee@logonbox.com>\
         <button>Sign in with LogonBox</button></form>",
    )
}

async fn login(State(app): State<Arc<App>>, Query(q): Query<Login>) -> Response {
    match app
        .client
        .generate_request(RedirectRequest::new(q.user, app.callback.clone()))
        .await
    {
        Ok(pending) => {
            let url = app.client.sign_url(&pending);
            let sid = session_id();
            app.sessions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(sid.clone(), pending);
            (
                StatusCode::FOUND,
                [
                    (header::LOCATION, url.to_string()),
                    (
                        header::SET_COOKIE,
                        format!("sid={sid}; HttpOnly; SameSite=Lax; Path=/"),
                    ),
                ],
            )
                .into_response()
        }
        Err(e) if e.is_not_enrolled() => {
            (StatusCode::FORBIDDEN, Html(format!("<p>{e}</p>"))).into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, Html(format!("<p>{e}</p>"))).into_response(),
    }
}

async fn finish(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<Finish>,
) -> Response {
    // Take the request out of the session before verifying: one response per request.
    let pending = cookie(&headers).and_then(|sid| {
        app.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&sid)
    });
    let Some(pending) = pending else {
        return (
            StatusCode::BAD_REQUEST,
            Html("<p>No sign-in in progress</p>"),
        )
            .into_response();
    };
    match app.client.process_response(pending, &q.response).await {
        Ok(approval) => Html(format!(
            "<p>Welcome, {}! (key {})</p>",
            approval.principal(),
            approval.key().fingerprint()
        ))
        .into_response(),
        Err(Error::Rejected { message }) => (
            StatusCode::FORBIDDEN,
            Html(format!("<p>Rejected: {message}</p>")),
        )
            .into_response(),
        Err(e) => (StatusCode::FORBIDDEN, Html(format!("<p>Refused: {e}</p>"))).into_response(),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::start().await;
    emulator.add_user("lee@logonbox.com", &[KeyType::Ed25519])?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Arc::new(App {
        client: emulator.client_builder().remote_name("Axum demo").build()?,
        sessions: Mutex::default(),
        callback: format!("http://{addr}/finish?response={{response}}"),
    });
    let router = Router::new()
        .route("/", get(index))
        .route("/login", get(login))
        .route("/finish", get(finish))
        .with_state(app);
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    println!(
        "App on http://{addr}/ ; credential server (emulator) on {}",
        emulator.uri()
    );

    if std::env::args().any(|a| a == "--serve") {
        println!("Open http://{addr}/ in a browser; Ctrl-C to stop.");
        server.await??;
        return Ok(());
    }

    // Play the browser once.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let r = browser
        .get(format!("http://{addr}/login?user=lee@logonbox.com"))
        .send()
        .await?;
    let sid = r
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("no session cookie")?
        .to_owned();
    let sign_url = r
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or("no redirect")?
        .to_owned();
    println!("1. /login -> 302 to the credential server: {sign_url}");
    let r = browser.get(&sign_url).send().await?;
    let back = r
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or("no redirect back")?
        .to_owned();
    println!(
        "2. The phone approved; 302 back to the app: {}…",
        &back[..back.len().min(80)]
    );
    let page = browser
        .get(&back)
        .header(header::COOKIE, &sid)
        .send()
        .await?;
    println!("3. /finish -> {} {}", page.status(), page.text().await?);
    let again = browser
        .get(&back)
        .header(header::COOKIE, &sid)
        .send()
        .await?;
    println!(
        "4. The same response again -> {} {}",
        again.status(),
        again.text().await?
    );
    server.abort();
    Ok(())
}
