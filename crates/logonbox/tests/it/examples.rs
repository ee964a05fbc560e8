//! The axum redirect-flow example's routes over real HTTP against the emulator: a sign-in
//! completes once and only once, a rejection and a tampered response are refused, and text
//! from the browser or the server is never reflected as markup.

#[allow(dead_code, unused_imports)]
#[path = "../../examples/axum_redirect.rs"]
mod axum_redirect;

use logonbox::emulator::{Behaviour, Emulator};
use logonbox::{Client, KeyType};

const LEE: &str = "lee@logonbox.com";

struct Site {
    addr: std::net::SocketAddr,
    browser: reqwest::Client,
}

impl Site {
    async fn start(emulator: &Emulator) -> Site {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = axum_redirect::app(
            Client::builder(emulator.base_url()).build().unwrap(),
            format!("http://{addr}/finish?response={{response}}"),
        );
        tokio::spawn(async move { axum::serve(listener, router).await });
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Site { addr, browser }
    }

    /// `/login?user=…`; returns (status, session cookie, Location, body).
    async fn login(&self, user: &str) -> (u16, Option<String>, Option<String>, String) {
        let url =
            url::Url::parse_with_params(&format!("http://{}/login", self.addr), [("user", user)])
                .unwrap();
        let r = self.browser.get(url.as_str()).send().await.unwrap();
        let header = |name: &str| {
            r.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let cookie = header("set-cookie").map(|c| c.split(';').next().unwrap().to_owned());
        let location = header("location");
        (
            r.status().as_u16(),
            cookie,
            location,
            r.text().await.unwrap(),
        )
    }

    async fn get(&self, url: &str, cookie: &str) -> (u16, String) {
        let r = self
            .browser
            .get(url)
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// Logs in and follows the sign page; returns (cookie, URL back to /finish).
    async fn to_finish(&self, emulator: &Emulator) -> (String, url::Url) {
        let (status, cookie, location, _) = self.login(LEE).await;
        assert_eq!(status, 302);
        let sign_url = url::Url::parse(&location.unwrap()).unwrap();
        let back = emulator.follow_sign_url(&sign_url).await.unwrap();
        (cookie.unwrap(), back)
    }
}

#[tokio::test]
async fn axum_sign_in_completes_once() {
    let emulator = Emulator::start().await.unwrap();
    emulator.add_user(LEE, &[KeyType::Ed25519]).unwrap();
    let site = Site::start(&emulator).await;
    let (cookie, back) = site.to_finish(&emulator).await;
    assert!(
        back.as_str()
            .starts_with(&format!("http://{}/finish?response=", site.addr))
    );
    let (status, body) = site.get(back.as_str(), &cookie).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&format!("Welcome, {LEE}!")), "{body}");
    let fingerprint = emulator.public_keys(LEE)[0].fingerprint().to_string();
    assert!(body.contains(&fingerprint), "{body}");
    // The session entry was consumed: the same response again is refused.
    let (status, body) = site.get(back.as_str(), &cookie).await;
    assert_eq!(status, 400, "{body}");
    // Without the session cookie, nothing to finish either.
    let (status, _) = site.get(back.as_str(), "sid=guess").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn axum_refuses_rejection_and_tampering() {
    let emulator = Emulator::start().await.unwrap();
    emulator.add_user(LEE, &[KeyType::Ed25519]).unwrap();
    let site = Site::start(&emulator).await;

    emulator.set_behaviour(
        LEE,
        Behaviour::Reject {
            message: "<b>no</b>".into(),
        },
    );
    let (cookie, back) = site.to_finish(&emulator).await;
    let (status, body) = site.get(back.as_str(), &cookie).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Rejected: &lt;b&gt;no&lt;/b&gt;"), "{body}");

    emulator.set_behaviour(LEE, Behaviour::CorruptSignature);
    let (cookie, back) = site.to_finish(&emulator).await;
    let (status, body) = site.get(back.as_str(), &cookie).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("Refused: the signature does not verify"),
        "{body}"
    );
}

#[tokio::test]
async fn axum_never_reflects_markup() {
    let emulator = Emulator::start().await.unwrap();
    let site = Site::start(&emulator).await;
    let (status, cookie, _, body) = site.login("<script>alert(1)</script>").await;
    assert_eq!(status, 403);
    assert!(cookie.is_none());
    assert!(!body.contains("<script>"), "{body}");
    assert!(body.contains("&lt;script&gt;"), "{body}");
}
