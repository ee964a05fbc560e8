//! The client notification endpoint in an axum app: a ping route and a push route (CIBA §10.2,
//! §10.3), run against the emulator.
//!
//! ```text
//! cargo run -p ciba --example ciba_callbacks_axum
//! ```
//!
//! The routes take the `Authorization` header and the **raw body bytes** (not `Json<…>`): the
//! client checks the bearer token against the request's `client_notification_token` in
//! constant time before anything in the body is acted on. In production the notification
//! endpoint must be `https://` (OPs refuse anything else).

use auth_core::emulator::Control;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use ciba::emulator::{EmulatedClient, Emulator};
use ciba::{AuthenticationRequest, Client, ClientAuth, ClientId, DeliveryMode, Outcome, TokenPoll};

#[derive(Clone)]
struct App {
    ping: Client,
    push: Client,
}

fn answer(result: Result<String, ciba::Error>) -> StatusCode {
    match result {
        Ok(line) => {
            println!("   {line}");
            StatusCode::NO_CONTENT
        }
        Err(ciba::Error::Notification(e)) => {
            println!("   refused a notification: {e}");
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST)
        }
        Err(e) => {
            println!("   could not act on a notification: {e}");
            StatusCode::BAD_REQUEST
        }
    }
}

/// `POST /ciba/ping`: verify the bearer token, then fetch the tokens with one token request.
async fn ping(State(app): State<App>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let auth = headers.get("authorization").map(|v| v.as_bytes());
    answer(
        app.ping
            .handle_ping(auth, &body)
            .await
            .map(|(id, poll)| match poll {
                TokenPoll::Done(Outcome::Approved(t)) => {
                    format!("ping for {id}: {} signed in", t.claims.sub)
                }
                other => format!("ping for {id}: {other:?}"),
            }),
    )
}

/// `POST /ciba/push`: verify the bearer token, then validate the pushed ID token (`at_hash`,
/// `rt_hash`, `auth_req_id` claim).
async fn push(State(app): State<App>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let auth = headers.get("authorization").map(|v| v.as_bytes());
    answer(
        app.push
            .handle_push(auth, &body)
            .await
            .map(|(id, outcome)| match outcome {
                Outcome::Approved(t) => format!("push for {id}: {} signed in", t.claims.sub),
                other => format!("push for {id}: {other:?}"),
            }),
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    println!("1. The app's notification endpoints: {base}/ciba/ping and {base}/ciba/push");

    // Each client is registered with the OP for one delivery mode.
    let emulator = Emulator::builder()
        .user("alice")
        .client(
            EmulatedClient::secret_basic("shop-ping", "ping-secret")
                .notify(DeliveryMode::Ping, format!("{base}/ciba/ping")),
        )
        .client(
            EmulatedClient::secret_basic("shop-push", "push-secret")
                .notify(DeliveryMode::Push, format!("{base}/ciba/push")),
        )
        .start()
        .await?;
    let client = |id: &str, secret: &str, mode| -> Result<Client, ciba::Error> {
        Client::builder(ClientId::new(id)?, ClientAuth::secret_basic(secret))
            .issuer(emulator.base_url())
            .delivery_mode(mode)
            .build()
    };
    let app = App {
        ping: client("shop-ping", "ping-secret", DeliveryMode::Ping)?,
        push: client("shop-push", "push-secret", DeliveryMode::Push)?,
    };
    let router = axum::Router::new()
        .route("/ciba/ping", post(ping))
        .route("/ciba/push", post(push))
        .with_state(app.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });

    println!("2. Two sign-ins start; each request carries a fresh 256-bit notification token.");
    let pinged = app
        .ping
        .authenticate(AuthenticationRequest::login_hint("alice").binding_message("Ping sign-in"))
        .await?;
    let pushed = app
        .push
        .authenticate(AuthenticationRequest::login_hint("alice").binding_message("Push sign-in"))
        .await?;
    println!(
        "   auth_req_id {} (ping) and {} (push)",
        pinged.auth_req_id, pushed.auth_req_id
    );

    println!("3. A forged ping (wrong bearer token) is refused before anything happens:");
    let forged = format!(r#"{{"auth_req_id":"{}"}}"#, pinged.auth_req_id);
    let status = reqwest::Client::new()
        .post(format!("{base}/ciba/ping"))
        .header("authorization", "Bearer guessed")
        .header("content-type", "application/json")
        .body(forged)
        .send()
        .await?
        .status();
    println!("   → HTTP {}", status.as_u16());

    println!("4. The user approves both on their phone; the OP notifies the app:");
    for waiting in emulator.pending() {
        println!("   the phone shows \"{}\": approve", waiting.message);
        emulator.control(Control::Approve { id: waiting.id })?;
    }
    let statuses = emulator.deliver_notifications().await?;
    println!("5. The app answered the OP with {statuses:?}.");
    Ok(())
}
