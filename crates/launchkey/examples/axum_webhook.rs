//! An axum route that receives LaunchKey webhooks. The handler takes the **raw body bytes**
//! (never a parsed JSON extractor: the signature covers the exact bytes), the headers, the
//! method and the path, and lets the client verify and decrypt.
//!
//! The example starts the route on a loopback port, lets the emulator make a webhook as the
//! platform would, POSTs it over HTTP and prints what the route saw.
//! Run with `cargo run -p launchkey --example axum_webhook`.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::routing::post;
use launchkey::emulator::Emulator;
use launchkey::{AuthorizationRequest, Client, ServiceId, ServicePrivateKey, WebhookPackage};

const WEBHOOK_PATH: &str = "/launchkey/webhook";

async fn webhook(State(client): State<Client>, request: Request) -> StatusCode {
    // The raw body bytes: the token's hash covers exactly them. (Behind a reverse proxy that
    // rewrites paths, put the path the platform addressed back into the URI.)
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 1024 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE;
    };
    match client
        .handle_webhook(&Request::from_parts(parts, body))
        .await
    {
        Ok(WebhookPackage::AuthorizationResponse(r)) => {
            println!(
                "[route] authorization response for {}: authorized = {}, fraud = {}",
                r.authorization_request_id, r.authorized, r.fraud
            );
            StatusCode::OK
        }
        Ok(WebhookPackage::ServiceUserSessionEnd(end)) => {
            println!(
                "[route] user {} logged out on the device: end the local session",
                end.service_user_hash
            );
            StatusCode::OK
        }
        Ok(_) => StatusCode::OK,
        Err(e) => {
            println!("[route] rejected: {e}");
            StatusCode::UNAUTHORIZED
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let service_id = ServiceId::from_uuid(uuid::Uuid::new_v4());
    let key = ServicePrivateKey::generate()?;
    let emulator = Emulator::builder()
        .service(service_id, key.public_key())
        .user("alice")
        .start()
        .await?;
    let client = Client::builder(service_id, key)
        .base_url(emulator.base_url())
        .build()?;

    let app = Router::new()
        .route(WEBHOOK_PATH, post(webhook))
        .with_state(client.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("webhook route listening on http://{addr}{WEBHOOK_PATH}");

    let created = client
        .authorize(&AuthorizationRequest::new("alice").context("Log in?"))
        .await?;
    emulator.approve(&created.id)?;
    let http = reqwest::Client::new();
    for wh in [
        emulator.authorization_webhook(&created.id, WEBHOOK_PATH)?,
        emulator.session_end_webhook(service_id, "alice", WEBHOOK_PATH)?,
    ] {
        let status = http
            .post(format!("http://{addr}{WEBHOOK_PATH}"))
            .headers(wh.headers().clone())
            .body(wh.body().clone())
            .send()
            .await?
            .status();
        println!("platform -> route: HTTP {status}");
    }
    // A tampered body is refused.
    let mut wh = emulator.session_end_webhook(service_id, "alice", WEBHOOK_PATH)?;
    *wh.body_mut() =
        br#"{"service_user_hash":"someone-else","api_time":"2019-01-01T00:00:00Z"}"#.to_vec();
    let status = http
        .post(format!("http://{addr}{WEBHOOK_PATH}"))
        .headers(wh.headers().clone())
        .body(wh.into_body())
        .send()
        .await?
        .status();
    println!("tampered webhook -> route: HTTP {status}");
    Ok(())
}
