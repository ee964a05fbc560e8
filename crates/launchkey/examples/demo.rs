//! End to end against the LaunchKey emulator: a service asks alice to approve a login on her
//! phone, polls for the answer, starts and ends her session; then bob flags a request as fraud.
//!
//! Run with `cargo run -p launchkey --example launchkey-demo` (or
//! `cargo xtask demo`).

use std::time::Duration;

use auth_core::poll::PollConfig;
use launchkey::emulator::Emulator;
use launchkey::{AuthorizationRequest, Client, DenialReason, ServiceId, ServicePrivateKey};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), launchkey::Error> {
    println!("== LaunchKey Service Client demo (against the in-process emulator) ==\n");
    let emulator = Emulator::start().await?;
    println!(
        "1. The LaunchKey API emulator listens on {}",
        emulator.base_url()
    );

    let service_id = ServiceId::from_uuid(uuid::Uuid::new_v4());
    let key = ServicePrivateKey::generate()?;
    println!(
        "2. Service {service_id} made an RSA key (kid {}) and registered its public key",
        key.kid()
    );
    emulator.register_service(service_id, &key.public_key_pem())?;
    let alice = emulator.add_user("alice");
    emulator.add_user("bob");
    println!(
        "   Users alice (device {}) and bob have the LaunchKey app",
        alice.device_id
    );

    let client = Client::builder(service_id, key)
        .base_url(emulator.base_url())
        .build()?;
    let poll = PollConfig::every(Duration::from_millis(200), Duration::from_secs(30));

    println!("\n3. The service asks alice: \"Log in to ACME from Firefox?\" (ttl 120 s)");
    let request = AuthorizationRequest::new("alice")
        .context("Log in to ACME from Firefox?")
        .ttl(Duration::from_secs(120));
    let created = client.authorize(&request).await?;
    println!(
        "   -> request {} pushed to {} device(s)",
        created.id,
        created.device_ids.len()
    );

    let phone = {
        let id = created.id.clone();
        let emulator = &emulator;
        async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            println!("   [alice's phone] alice taps APPROVE");
            emulator.approve(&id)
        }
    };
    println!("   polling for the answer...");
    let (answer, tapped) = tokio::join!(client.wait_for_response(&created.id, &poll), phone);
    tapped?;
    let answer = answer?;
    println!(
        "   -> authorized: {}  (type {:?}, reason {:?}, device {:?}, service PINs {:?})",
        answer.authorized,
        answer.response_type,
        answer.reason,
        answer.device_id,
        answer.service_pins
    );

    println!("\n4. The service starts alice's session, later she logs out");
    client.session_start("alice", Some(&created.id)).await?;
    println!(
        "   -> session open on the platform: {}",
        emulator.has_session(service_id, "alice")
    );
    client.session_end("alice").await?;
    println!(
        "   -> session open on the platform: {}",
        emulator.has_session(service_id, "alice")
    );

    println!("\n5. Someone else tries to log in as bob; the service offers denial reasons");
    let request = AuthorizationRequest::new("bob")
        .context("Log in to ACME from an unknown computer?")
        .denial_reasons(vec![
            DenialReason::fraud("FR", "This was not me"),
            DenialReason::not_fraud("NO", "Not now"),
        ]);
    let created = client.authorize(&request).await?;
    println!("   -> request {}", created.id);
    emulator.deny_fraud(&created.id, Some("FR"))?;
    println!("   [bob's phone] bob taps DENY and picks \"This was not me\"");
    let answer = client.wait_for_response(&created.id, &poll).await?;
    println!(
        "   -> authorized: {}, fraud: {}, denial reason: {:?}",
        answer.authorized, answer.fraud, answer.denial_reason
    );

    println!("\n6. The same answer as a webhook, verified and decrypted");
    let webhook = emulator.authorization_webhook(&created.id, "/launchkey/webhook")?;
    let package = client.handle_webhook(&webhook).await?;
    if let launchkey::WebhookPackage::AuthorizationResponse(r) = package {
        println!(
            "   -> webhook for request {}: fraud = {}",
            r.authorization_request_id, r.fraud
        );
    }
    println!("\nDone.");
    Ok(())
}
