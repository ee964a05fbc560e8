//! The redirect flow in an axum web app, against the emulator.
//!
//! Routes: `GET /` (a sign-in form), `GET /login?user=…` (makes the request, keeps it in the
//! server-side session, redirects the browser to the credential server), `GET
//! /finish?response=…` (takes the request out of the session — once — and verifies).
//!
//! `cargo run -p logonbox --example axum_redirect` drives one sign-in
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

fn session_id() -> Option<String> {
    let mut bytes = [0u8; 16];
    // No randomness, no session: never fall back to a guessable id.
    SystemRandom::new().fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Escapes text for HTML: user names and messages come from the browser and the credential
/// server, so they are never written into a page raw.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: StatusCode, text: &str) -> Response {
    (status, Html(format!("<p>{}</p>", escape(text)))).into_response()
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
            let Some(sid) = session_id() else {
                return page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "no randomness for a session",
                );
            };
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
        Err(e) if e.is_not_enrolled() => page(StatusCode::FORBIDDEN, &e.to_string()),
        Err(e) => page(StatusCode::BAD_GATEWAY, &e.to_string()),
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
        return page(StatusCode::BAD_REQUEST, "No sign-in in progress");
    };
    match app.client.process_response(pending, &q.response).await {
        Ok(approval) => page(
            StatusCode::OK,
            &format!(
                "Welcome, {}! (key {})",
                approval.principal(),
                approval.key().fingerprint()
            ),
        ),
        Err(Error::Rejected { message }) => {
            page(StatusCode::FORBIDDEN, &format!("Rejected: {message}"))
        }
        Err(e) => page(StatusCode::FORBIDDEN, &format!("Refused: {e}")),
    }
}

/// The app's routes: `client` talks to the credential server, `callback` is this app's own
/// `/finish` URL with the `{response}` placeholder.
pub fn app(client: Client, callback: String) -> Router {
    let state = Arc::new(App {
        client,
        sessions: Mutex::default(),
        callback,
    });
    Router::new()
        .route("/", get(index))
        .route("/login", get(login))
        .route("/finish", get(finish))
        .with_state(state)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::start().await?;
    emulator.add_user("lee@logonbox.com", &[KeyType::Ed25519])?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let router = app(
        Client::builder(emulator.base_url())
            .remote_name("Axum demo")
            .build()?,
        format!("http://{addr}/finish?response={{response}}"),
    );
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    println!(
        "App on http://{addr}/ ; credential server (emulator) on {}",
        emulator.base_url()
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
        back.chars().take(80).collect::<String>()
    );
    let page = browser
        .get(&back)
        .header(header::COOKIE, &sid)
        .send()
        .await?;
    println!("3. /finish -> {} {}", page.status(), page.text().await?);
    // A user name with markup is shown escaped, never as markup.
    let hostile_url = url::Url::parse_with_params(
        &format!("http://{addr}/login"),
        [("user", "<script>alert(1)</script>")],
    )?;
    let hostile = browser
        .get(hostile_url.as_str())
        .send()
        .await?
        .text()
        .await?;
    if hostile.contains("<script>") {
        return Err("the app reflected markup".into());
    }
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
