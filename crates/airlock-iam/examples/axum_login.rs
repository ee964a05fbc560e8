//! An axum login page over the Loginapp REST API: a password form, then for mobile-only users a
//! page with the `mobileAuthUri` link (open it on the phone) that polls until approved; One-Touch
//! users get a "check your phone" page that polls the same way.
//!
//! The flow is kept between the page's own HTTP requests as a [`SavedFlow`] in the web
//! application's session store (here: in memory, keyed by the app's own `login_sid` cookie) and
//! resumed on every request — one Loginapp cookie jar per visitor.
//!
//! Run against the emulator: `cargo run -p airlock-iam --example axum_login`
//! and open the printed URL; log in as `jdoe` / `password1` (mobile-only) or `alice` (One-Touch).
//! The "phone" approves 3 s after the challenge. `--smoke` serves one scripted login and exits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use airlock_iam::{Client, FlowState, NextAuthStep, Password, SavedFlow};
use auth_core::PollStatus;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

/// The web application's state: the Loginapp client and its session store.
#[derive(Clone)]
pub struct AppState {
    client: Client,
    sessions: Arc<Mutex<HashMap<String, SavedFlow>>>,
}

/// The login page's routes.
pub fn app(client: Client) -> Router {
    let state = AppState {
        client,
        sessions: Arc::new(Mutex::new(HashMap::new())),
    };
    Router::new()
        .route("/", get(form))
        .route("/login", post(login))
        .route("/status", get(status))
        .with_state(state)
}

const SID: &str = "login_sid";

fn sid(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == SID)
        .map(|(_, v)| v.to_owned())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn form() -> Html<&'static str> {
    Html(
        "<h1>Log in</h1><form method=post action=/login>\
         <input name=username placeholder=username> \
         <input name=password type=password placeholder=password> \
         <button>Log in</button></form>",
    )
}

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

const POLL_SCRIPT: &str = "<p id=s>Waiting…</p><script>\
    async function p(){const r=await fetch('/status');const j=await r.json();\
    document.getElementById('s').textContent=j.message;\
    if(j.state==='pending'){setTimeout(p,1500)}}p()</script>";

async fn login(State(app): State<AppState>, Form(login): Form<Login>) -> Response {
    let flow = app.client.flow();
    let password = Password::new(login.password);
    let page = match flow.check_password(&login.username, &password).await {
        Err(e) => {
            return (
                StatusCode::UNAUTHORIZED,
                Html(format!("<p>{}</p>", escape(&e.to_string()))),
            )
                .into_response();
        }
        Ok(step) => match step.next {
            None => "<p>Logged in.</p>".to_owned(),
            Some(NextAuthStep::Airlock2faMobileOnlyChallengeRetrievalRequired) => {
                match flow.retrieve_mobile_only_challenge().await {
                    Ok(c) => format!(
                        "<h1>Confirm on this phone</h1><p><a id=mobile href=\"{}\">Open Airlock 2FA</a></p>{POLL_SCRIPT}",
                        escape(c.uri.expose_secret())
                    ),
                    Err(e) => format!("<p>{}</p>", escape(&e.to_string())),
                }
            }
            Some(step) if step.is_polling() => {
                format!("<h1>Check your phone</h1>{POLL_SCRIPT}")
            }
            Some(other) => format!(
                "<p>Step {} is not supported by this page.</p>",
                escape(other.as_str())
            ),
        },
    };
    let id = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    app.sessions
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id.clone(), flow.save());
    (
        [(
            SET_COOKIE,
            format!("{SID}={id}; Path=/; HttpOnly; SameSite=Strict"),
        )],
        Html(page),
    )
        .into_response()
}

async fn status(State(app): State<AppState>, headers: HeaderMap) -> Json<serde_json::Value> {
    let Some(id) = sid(&headers) else {
        return Json(json!({"state": "failed", "message": "no login in progress"}));
    };
    let saved = app
        .sessions
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&id)
        .cloned();
    let Some(saved) = saved else {
        return Json(json!({"state": "failed", "message": "no login in progress"}));
    };
    if saved.state == FlowState::Done {
        return Json(json!({"state": "done", "message": "Logged in."}));
    }
    let flow = match app.client.resume(saved) {
        Ok(flow) => flow,
        Err(e) => return Json(json!({"state": "failed", "message": e.to_string()})),
    };
    let answer = flow.poll().await;
    app.sessions
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id, flow.save());
    Json(match answer {
        Ok(PollStatus::Ready(step)) if step.is_done() => {
            json!({"state": "done", "message": "Logged in."})
        }
        Ok(PollStatus::Ready(step)) => {
            json!({"state": "failed", "message": format!("next step {:?}", step.next)})
        }
        Ok(_) => json!({"state": "pending", "message": "Waiting for your approval…"}),
        Err(e) => json!({"state": "failed", "message": e.to_string()}),
    })
}

#[allow(dead_code)]
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = airlock_iam::emulator::Emulator::start().await?;
    let client = Client::builder(emulator.base_url()).build()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("login page: http://{addr}/  (jdoe or alice, password1)");
    let smoke = std::env::args().any(|a| a == "--smoke");
    let server = tokio::spawn(async move { axum::serve(listener, app(client)).await });
    // Play the phone: approve whatever is pending, a few seconds after it appeared.
    let phone = async {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            for user in ["jdoe", "alice"] {
                if emulator.approve(user) {
                    println!("phone: {user} approved");
                }
            }
        }
    };
    if smoke {
        // One scripted login through the page over real HTTP, then exit.
        let body = "username=alice&password=password1";
        let page = raw_http(addr, "POST", "/login", None, body).await?;
        let cookie = page
            .lines()
            .find_map(|l| l.strip_prefix("set-cookie: "))
            .and_then(|c| c.split(';').next())
            .map(str::to_owned)
            .ok_or("no session cookie")?;
        emulator.approve("alice");
        let status = raw_http(addr, "GET", "/status", Some(&cookie), "").await?;
        println!("{}", status.lines().last().unwrap_or_default());
        server.abort();
        return Ok(());
    }
    tokio::select! {
        r = server => { r??; }
        _ = phone => {}
    }
    Ok(())
}

/// A minimal HTTP/1.1 exchange over a real socket (keeps the example free of a client crate).
#[allow(dead_code)]
pub async fn raw_http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: &str,
) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n{cookie}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    Ok(out)
}
