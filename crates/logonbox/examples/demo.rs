//! The LogonBox Authenticator, end to end, against the emulator (`cargo xtask demo`).
//!
//! A credential server with real keys runs on a loopback port; the emulated phone approves or
//! rejects. Each step prints who asked, what the phone answered and what the client concluded.
//!
//! Run: `cargo run -p logonbox --example logonbox-demo` (or `cargo xtask demo`)

use std::time::Duration;

use auth_core::Classify;
use auth_core::emulator::Control;
use logonbox::emulator::{Behaviour, Emulator, response_param};
use logonbox::{AuthRequest, Client, Error, KeyType, RedirectRequest};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("== LogonBox Authenticator demo (emulated credential server and phone) ==\n");
    let emulator = Emulator::start().await?;
    let lee = "lee@logonbox.com";
    let keys = emulator.add_user(lee, &[KeyType::Ed25519, KeyType::Rsa])?;
    println!("Credential server listening on {}", emulator.base_url());
    println!("User {lee} has enrolled two keys on the phone:");
    for k in &keys {
        println!(
            "  {:<11} {}  ({})",
            k.key_type(),
            k.fingerprint(),
            k.comment()
        );
    }

    // The base URL is all a client needs (https in production; the emulator is on loopback).
    let client = Client::builder(emulator.base_url())
        .remote_name("Demo Payroll")
        .build()?;

    println!("\n-- 1. Direct flow: the server waits while the user answers on the phone --");
    let listing = client.authorized_keys(lee).await?;
    println!(
        "GET /app/api/authenticator/keys/{lee} -> {} key(s)",
        listing.keys().len()
    );
    emulator.set_delay(lee, Duration::from_millis(300));
    let approval = client.authenticate(lee).await?;
    let asked = emulator.sign_requests().pop().ok_or("no sign request")?;
    println!(
        "Asked the phone: \"{}\" [{}]",
        asked.text, asked.authorize_text
    );
    println!(
        "The phone signed {} random bytes with {} ({}, flags {})",
        approval.signed_data().len(),
        approval.key().comment(),
        approval.key().key_type(),
        approval.flags()
    );
    println!(
        "The client verified the {}-byte signature with the listed key: APPROVED",
        approval.signature().len()
    );

    println!("\n-- 2. Direct flow with the legacy RSA key (SHA-512) --");
    let rsa = keys[1].fingerprint().clone();
    let approval = client
        .authenticate(AuthRequest::new(lee).key(logonbox::KeySelection::Fingerprint(rsa)))
        .await?;
    println!(
        "RSA-{} PKCS#1 v1.5 / SHA-512 signature verified: APPROVED",
        approval.key().rsa_bits().unwrap_or_default()
    );

    println!("\n-- 3. The user taps \"Reject\" --");
    emulator.set_behaviour(lee, Behaviour::reject());
    match client.authenticate(lee).await {
        Err(e @ Error::Rejected { .. }) => println!("{e}  -> REJECTED ({:?})", e.kind()),
        other => println!("unexpected: {other:?}"),
    }
    println!(
        "The user was prompted {} time(s) in total (never twice for one authentication).",
        emulator.sign_requests().len()
    );

    println!("\n-- 4. A phone (or server) that returns a bad signature --");
    emulator.set_behaviour(lee, Behaviour::CorruptSignature);
    match client.authenticate(lee).await {
        Err(e @ Error::SignatureInvalid) => {
            println!("Signature does not verify -> REFUSED ({:?})", e.kind())
        }
        other => println!("unexpected: {other:?}"),
    }

    println!("\n-- 5. Unknown user --");
    match client.authenticate("nobody@logonbox.com").await {
        Err(e) if e.is_not_enrolled() => println!("{e}"),
        other => println!("unexpected: {other:?}"),
    }

    println!("\n-- 6. Redirect flow (web apps): browser -> credential server -> back --");
    emulator.set_behaviour(lee, Behaviour::Approve);
    emulator.set_delay(lee, Duration::ZERO);
    let pending = client
        .generate_request(RedirectRequest::new(
            lee,
            "http://127.0.0.1:8080/finish?response={response}",
        ))
        .await?;
    let sign_url = client.sign_url(&pending);
    println!("The app redirects the browser to {sign_url}");
    let back = emulator.follow_sign_url(&sign_url).await?;
    let response = response_param(&back).ok_or("no response parameter")?;
    println!(
        "The user approved; the server sends the browser back to {}…",
        &back.as_str()[..back.as_str().len().min(70)]
    );
    let other = client
        .generate_request(RedirectRequest::new(
            lee,
            "http://127.0.0.1:8080/finish?response={response}",
        ))
        .await?;
    match client.process_response(other, &response).await {
        Err(e) => println!("Replaying that response onto another request: {e} -> REFUSED"),
        Ok(_) => println!("unexpected: replay accepted"),
    }
    let approval = client.process_response(pending, &response).await?;
    println!(
        "process_response: user, key and flags match the request, signature over the request blob verified -> {} signed in",
        approval.principal()
    );
    println!(
        "\n-- 7. The user answers by hand (the emulator's control API, as tests and the phone page play it) --"
    );
    emulator.set_behaviour(lee, Behaviour::Manual);
    let asking = tokio::spawn({
        let client = client.clone();
        async move { client.authenticate(lee).await }
    });
    let pending = loop {
        match emulator.pending().pop() {
            Some(p) => break p,
            None => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    };
    println!(
        "The phone shows \"{}\" from {} (request {})",
        pending.message, pending.title, pending.id
    );
    emulator.control(Control::Approve { id: pending.id })?;
    let approval = asking.await??;
    println!(
        "Approved by hand; signature verified -> {} signed in",
        approval.principal()
    );
    println!("\nDone.");
    Ok(())
}
