//! A webhook route in axum: verify `X-Signature-V2` over the raw body bytes, then handle the
//! event.
//!
//! `cargo run -p authsignal --example webhook_axum` (the emulator delivers
//! real signed webhooks to the route, then a tampered one is refused).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use authsignal::emulator::Emulator;
use authsignal::webhook::{EventType, WebhookVerifier};
use authsignal::{ActionCode, ChallengeRequest, EnrollVerifiedAuthenticatorRequest, UserId};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

#[derive(Clone)]
struct App {
    verifier: WebhookVerifier,
    seen: Arc<Mutex<HashSet<String>>>,
}

/// `POST /webhooks/authsignal`. Takes the body as `Bytes` — never `Json<…>`: the signature is
/// over the bytes as sent, and re-serialized JSON would not match.
async fn webhook(State(app): State<App>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let payload = match app.verifier.verify_headers(&body, &headers) {
        Ok(p) => p,
        Err(e) => {
            println!("   refused: {e}");
            return StatusCode::UNAUTHORIZED;
        }
    };
    for event in payload.events() {
        // Deliveries are retried: deduplicate on the event id.
        let first_time = app
            .seen
            .lock()
            .map(|mut s| s.insert(event.id.clone()))
            .unwrap_or(false);
        if !first_time {
            continue;
        }
        match &event.event_type {
            EventType::SmsCreated | EventType::EmailCreated => {
                if let Some(Ok(d)) = event.delivery() {
                    // Send `d.code` through your own SMS / e-mail provider here. Never log it.
                    println!(
                        "   {}: deliver a code to {} (code not shown)",
                        event.event_type,
                        d.to.as_deref().unwrap_or("(no address)")
                    );
                }
            }
            EventType::AuthenticatorCreated => {
                if let Some(Ok(a)) = event.authenticator() {
                    println!(
                        "   {}: {} for user {:?}",
                        event.event_type, a.verification_method, a.user_id
                    );
                }
            }
            other => println!("   {other}: ignored"),
        }
    }
    StatusCode::OK
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emu = Emulator::start().await?;
    let app = App {
        verifier: WebhookVerifier::new(emu.secret()),
        seen: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/webhooks/authsignal", listener.local_addr()?);
    let router = Router::new()
        .route("/webhooks/authsignal", post(webhook))
        .with_state(app);
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    emu.set_webhook_url(url.clone());

    let client = emu.client()?;
    client
        .enroll_verified_authenticator(
            &UserId::new("ada")?,
            &EnrollVerifiedAuthenticatorRequest::sms("+64270000001"),
        )
        .await?;
    client
        .challenge(&ChallengeRequest::sms(
            ActionCode::new("signIn")?,
            "+64270000001",
        ))
        .await?;
    println!("Authsignal delivers two signed events:");
    let statuses = emu.deliver_webhooks().await?;
    println!("   route answered {statuses:?}");

    println!("An attacker posts a forged event:");
    let forged = r#"{"version":1,"id":"x","type":"sms.created","data":{"to":"+1555","code":"1"}}"#;
    let r = reqwest::Client::new()
        .post(&url)
        .header(
            "X-Signature-V2",
            "t=1740016316,v2=OToSMT/TC94bppHq3DDqA+OgomFQxMh2ktPFWrntGyE",
        )
        .body(forged)
        .send()
        .await?;
    println!("   route answered {}", r.status().as_u16());
    server.abort();
    Ok(())
}
