//! `cargo xtask demo` for airlock-iam: the Loginapp REST flows end to end against the
//! emulator (real HTTP on a loopback port), told step by step.
//!
//! Run: `cargo run -p airlock-iam --example airlock-iam-demo` (or `cargo xtask demo`)

use std::time::Duration;

use airlock_iam::emulator::Emulator;
use airlock_iam::{ApplicationId, Client, Error, Otp, Password};
use auth_core::stepup::{Started, StepUp, StepUpRequest};
use auth_core::{Classify, PollConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::start().await?;
    let poll = PollConfig::every(Duration::from_millis(200), Duration::from_secs(20));
    let client = Client::builder(emulator.base_url())
        .poll_config(poll.clone())
        .build()?;
    println!("Airlock IAM Loginapp emulator at {}", emulator.base_url());
    println!("(codes the spec marks unconfirmed are the emulator's model choices)\n");

    // 1. Mobile-only: the seed's flow.
    println!("== 1. jdoe logs in on her phone (Airlock 2FA mobile-only)");
    let flow = client.flow();
    let step = flow
        .check_password("jdoe", &Password::new("password1"))
        .await?;
    println!("app    → POST password/check/ {{username: jdoe, password: ***}}");
    println!("server → 200, nextAuthStep = {}", show(&step.next));
    let challenge = flow.retrieve_mobile_only_challenge().await?;
    println!("app    → POST airlock-2fa/mobile-only/challenge/retrieve/");
    println!(
        "server → 200, mobileAuthUri = {}://auth?session_token=[secret]&user_id={}",
        challenge.uri.scheme(),
        challenge.uri.user_id()
    );
    println!("app    → opens the Airlock 2FA app with that URI, then polls status/poll/");
    let (done, _) = tokio::join!(flow.wait(), async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        println!("phone  → jdoe taps \"Approve\"");
        emulator.approve_session_token(challenge.uri.session_token().expose_secret())
    });
    let done = done?;
    println!(
        "server → 200, attributes {{}}: flow done (session {}), state {:?}\n",
        done.id,
        flow.state()
    );

    // 2. One-Touch, rejected.
    println!("== 2. alice gets a push (One-Touch) she did not expect");
    let flow = client.flow();
    let step = flow
        .check_password("alice", &Password::new("password1"))
        .await?;
    println!(
        "server → nextAuthStep = {} (push sent to {:?})",
        show(&step.next),
        emulator.pushes("alice")
    );
    emulator.reject("alice");
    println!("phone  → alice taps \"Reject\"");
    match flow.wait().await {
        Err(e @ Error::Rejected { .. }) => println!("client → {e} ({:?})\n", e.code()),
        other => println!("client → unexpected: {other:?}\n"),
    }

    // 3. One-Touch, then offline passcode.
    println!("== 3. alice has no network on her phone: switch to the passcode");
    let flow = client.flow();
    flow.check_password("alice", &Password::new("password1"))
        .await?;
    let step = flow.switch_to_offline().await?;
    println!(
        "app    → POST airlock-2fa/offline/switch/ → nextAuthStep = {}",
        show(&step.next)
    );
    let code = emulator.passcode("alice").unwrap_or_default();
    println!("phone  → shows passcode {code}; alice types it");
    let done = flow.check_passcode(&Otp::new(code)).await?;
    println!("server → flow done: {}\n", done.is_done());

    // 4. Device choice.
    println!("== 4. bob has two phones (device choice)");
    let flow = client.flow();
    let step = flow
        .check_password("bob", &Password::new("password1"))
        .await?;
    println!("server → nextAuthStep = {}", show(&step.next));
    let devices = flow.retrieve_devices().await?;
    for d in &devices {
        println!(
            "         device {} ({})",
            d.id,
            d.display_name.as_deref().unwrap_or("?")
        );
    }
    flow.select_device(&devices[1].id).await?;
    println!(
        "app    → selects {}; push sent to {:?}",
        devices[1].id,
        emulator.pushes("bob")
    );
    emulator.approve("bob");
    println!(
        "phone  → bob approves; flow done: {}\n",
        flow.wait().await?.is_done()
    );

    // 5. Errors, classified the same way for every oob-auth provider.
    println!("== 5. wrong password, then an immediate retry");
    let flow = client.flow();
    let attempts = [
        ("jdoe", "guess"),
        ("jdoe", "password1"),
        ("locked", "password1"),
    ];
    for (user, password) in attempts {
        match flow.check_password(user, &Password::new(password)).await {
            Err(e) => println!(
                "server → {e}\n         kind {:?}, code {}, retry after {:?}",
                e.kind(),
                e.provider_code().unwrap_or("-"),
                e.retry_after()
            ),
            Ok(_) => println!("server → accepted"),
        }
    }

    // 6. Step-up through auth-core's StepUp, with a portable handle.
    println!("\n== 6. alice, logged in to `portal`, confirms a payment (step-up to `ebanking`)");
    let app = |id| ApplicationId::new(id).map_err(Error::from);
    let stepping = Client::builder(emulator.base_url())
        .target_application(app("portal")?)
        .step_up_application(app("ebanking")?)
        .poll_config(poll.clone())
        .build()?;
    let login = stepping.flow();
    login.start().await?;
    login
        .check_password("alice", &Password::new("password1"))
        .await?;
    stepping.attach_session("alice", login.save());
    println!("app    → alice logged in to portal (password only); session attached");
    let started = stepping
        .start(StepUpRequest::new(
            "alice",
            "Payment",
            "Pay 120 EUR to ACME?",
        ))
        .await?;
    let Started::Pending(handle) = started else {
        println!("client → settled at once: {:?}", started.outcome());
        return Ok(());
    };
    println!(
        "app    → step-up started ({:?}): push sent to {:?}; the handle goes to the web session",
        stepping.capabilities(),
        emulator.pushes("alice").last()
    );
    println!("         (a serialized handle holds the session: it is stored server-side)");
    drop(stepping);
    let after_restart = Client::builder(emulator.base_url())
        .step_up_application(app("ebanking")?)
        .poll_config(poll.clone())
        .build()?;
    let (outcome, _) = tokio::join!(after_restart.wait(&handle, &poll), async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        println!("phone  → alice approves the push");
        emulator.approve("alice")
    });
    println!(
        "client → a fresh client (as after a restart) checked the handle: approved = {}; it now holds alice's upgraded session: {}",
        outcome?.is_approved(),
        after_restart.session("alice").is_some()
    );
    println!(
        "\nDone: {} server sessions were used.",
        emulator.session_count()
    );
    Ok(())
}

fn show(step: &Option<airlock_iam::NextAuthStep>) -> String {
    step.as_ref()
        .map(|s| s.to_string())
        .unwrap_or_else(|| "(none: done)".into())
}
