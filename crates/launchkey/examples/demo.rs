//! End to end against the LaunchKey emulator: a service asks alice to approve a login on her
//! phone, polls for the answer, starts and ends her session; then bob flags a request as fraud,
//! and the same answer arrives as a webhook.
//!
//! Run with `cargo run -p launchkey --example launchkey-demo` (or `cargo xtask demo`).

use std::time::Duration;

use auth_core::emulator::Control;
use auth_core::poll::PollConfig;
use launchkey::emulator::Emulator;
use launchkey::{AuthorizationRequest, Client, DenialReason, ServiceId, ServicePrivateKey};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("== LaunchKey Service Client demo (against the emulator) ==\n");
    let service_id = ServiceId::from_uuid(uuid::Uuid::new_v4());
    let key = ServicePrivateKey::generate()?;
    println!(
        "1. Service {service_id} made an RSA key (kid {}); its public key goes to the platform",
        key.kid()
    );
    let emulator = Emulator::builder()
        .service(service_id, key.public_key())
        .user("alice")
        .user("bob")
        .start()
        .await?;
    println!(
        "2. The LaunchKey platform emulator listens on {}; alice and bob have the app",
        emulator.base_url()
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
    for shown in emulator.pending() {
        println!(
            "   [{}'s phone] shows \"{}\": {}",
            shown.user, shown.title, shown.message
        );
    }

    let phone = {
        let id = created.id.to_string();
        let emulator = &emulator;
        async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            println!("   [alice's phone] alice taps APPROVE");
            emulator.control(Control::Approve { id })
        }
    };
    println!("   polling for the answer...");
    let (answer, tapped) = tokio::join!(client.wait_for_response(&created.id, &poll), phone);
    tapped?;
    let answer = answer?;
    println!(
        "   -> authorized: {}  (type {:?}, reason {:?}, device {:?}, {} service PINs)",
        answer.authorized,
        answer.response_type,
        answer.reason,
        answer.device_id,
        answer.service_pins.len()
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
    emulator.control(Control::Deny {
        id: created.id.to_string(),
        fraud: true,
        reason: Some("FR".into()),
    })?;
    println!("   [bob's phone] bob taps DENY and picks \"This was not me\"");
    let answer = client.wait_for_response(&created.id, &poll).await?;
    println!(
        "   -> authorized: {}, fraud: {}, denial reason: {:?}",
        answer.authorized, answer.fraud, answer.denial_reason
    );

    println!("\n6. The same answer as a webhook, verified and decrypted");
    let webhook = emulator.authorization_webhook(&created.id, "/launchkey/webhook")?;
    if let launchkey::WebhookPackage::AuthorizationResponse(r) =
        client.handle_webhook(&webhook).await?
    {
        println!(
            "   -> webhook for request {}: fraud = {}",
            r.authorization_request_id, r.fraud
        );
    }

    println!("\n7. The platform's request log (method, path, status; never bodies)");
    let log = emulator.control(Control::ReadLog { limit: Some(3) })?;
    for entry in log.as_array().into_iter().flatten() {
        println!(
            "   {} {} -> {}",
            entry["method"], entry["path"], entry["status"]
        );
    }
    println!("\nDone.");
    Ok(())
}
