//! A terminal poll-mode login with CIBA: the backend asks the OpenID Provider to authenticate a
//! user on their phone, polls, and prints who signed in.
//!
//! Against the built-in emulator (its "phone" approves after two seconds):
//!
//! ```text
//! cargo run -p ciba --example ciba-demo
//! ```
//!
//! Against your own OP (a client registered for CIBA poll mode with `client_secret_basic`):
//!
//! ```text
//! CIBA_ISSUER=https://op.example.com CIBA_CLIENT_ID=my-client CIBA_CLIENT_SECRET=… \
//!   CIBA_LOGIN_HINT=alice cargo run -p ciba --example ciba-demo
//! ```

use std::sync::Arc;
use std::time::Duration;

use auth_core::poll::PollConfig;
use auth_core::{StepUp, StepUpOutcome, StepUpRequest};
use ciba::emulator::Emulator;
use ciba::{AuthReqId, AuthenticationRequest, Client, ClientAuth, ClientId, Outcome};

/// The emulated user approves `id` on their "phone" two seconds from now.
fn phone_approves(emulator: &Arc<Emulator>, id: &AuthReqId) {
    let (emulator, id) = (emulator.clone(), id.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        println!("   (the user taps \"Approve\" on their phone)");
        if let Err(e) = emulator.approve(&id) {
            println!("   (the phone could not answer: {e})");
        }
    });
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, user, emulator) = match std::env::var("CIBA_ISSUER") {
        Ok(issuer) => {
            let id = std::env::var("CIBA_CLIENT_ID")?;
            let secret = std::env::var("CIBA_CLIENT_SECRET")?;
            let user = std::env::var("CIBA_LOGIN_HINT")?;
            let client = Client::builder(ClientId::new(id)?, ClientAuth::secret_basic(secret))
                .issuer(issuer)
                .build()?;
            (client, user, None)
        }
        Err(_) => {
            println!(
                "1. Starting a CIBA OpenID Provider emulator on loopback (poll interval 1 s)."
            );
            let emulator = Arc::new(
                Emulator::builder()
                    .user("alice")
                    .interval(Some(1))
                    .start()
                    .await?,
            );
            (emulator.client()?, "alice".to_owned(), Some(emulator))
        }
    };

    let endpoints = client.discover().await?;
    println!("2. Discovered the OP {}:", endpoints.issuer);
    println!(
        "   backchannel endpoint {}",
        endpoints.backchannel_authentication
    );
    println!("   token endpoint       {}", endpoints.token);

    let request = AuthenticationRequest::login_hint(user.clone())
        .binding_message("Sign in to the terminal? 4F")
        .requested_expiry(Duration::from_secs(120));
    let started = client.authenticate(request).await?;
    println!(
        "3. Asked the OP to authenticate {user}: auth_req_id {}, expires in {:?}, poll every {:?}.",
        started.auth_req_id, started.expires_in, started.interval
    );
    println!(
        "   The phone shows \"Sign in to the terminal? 4F\", as does this terminal: they must match."
    );
    if let Some(e) = &emulator {
        phone_approves(e, &started.auth_req_id);
    }

    println!("4. Polling the token endpoint (never faster than the interval, never past expiry)…");
    match client.poll(&started).await? {
        Outcome::Approved(tokens) => {
            let c = &tokens.claims;
            println!("5. Approved. The ID token is verified (signature, iss, aud, exp, iat):");
            println!(
                "   sub {} · acr {:?} · amr {:?} · issuer {}",
                c.sub, c.acr, c.amr, c.iss
            );
            println!(
                "   The tokens are secrets; their Debug output is {:?}.",
                tokens.access_token
            );
        }
        Outcome::Denied { description } => println!("5. Denied: {description:?}"),
        Outcome::Expired => println!("5. Nobody answered in time."),
        other => println!("5. {other:?}"),
    }

    if let Some(e) = &emulator {
        println!("6. The same through the provider-neutral StepUp interface:");
        let handle = client
            .start(StepUpRequest::new(&user, "Confirm", "Pay 12 EUR?"))
            .await?
            .into_handle();
        phone_approves(e, &AuthReqId::new(handle.id.clone())?);
        let poll = PollConfig::every(Duration::from_millis(500), Duration::from_secs(60));
        match client.wait(&handle, &poll).await? {
            StepUpOutcome::Approved { evidence } => {
                println!(
                    "   approved; the evidence is the ID token's claims: {}",
                    evidence.details
                )
            }
            other => println!("   {other:?}"),
        }
    }
    Ok(())
}
