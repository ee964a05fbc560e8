//! A terminal login over the Loginapp REST API: username and password, then whatever second
//! factor the Loginapp asks for (mobile-only link, One-Touch push, passcode, OTP, device choice).
//!
//! By default it runs against the emulator, whose "phone" approves pushes after 2 s. Set
//! `AIRLOCK_LOGINAPP_URL=https://iam.example.com/auth` to use a real Loginapp.
//!
//! `cargo run -p airlock-iam --example terminal_login`
//! (answers can be piped: `printf 'alice\npassword1\n' | cargo run ...`).

use std::io::{BufRead, Write};
use std::time::Duration;

use airlock_iam::emulator::Emulator;
use airlock_iam::{Client, Error, Flow, NextAuthStep, Otp, Password};
use auth_core::PollConfig;

fn ask(prompt: &str, default: &str) -> String {
    print!("{prompt} [{default}]: ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(n) if n > 0 && !line.trim().is_empty() => line.trim().to_owned(),
        _ => {
            println!("{default}");
            default.to_owned()
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = match std::env::var("AIRLOCK_LOGINAPP_URL") {
        Ok(_) => None,
        Err(_) => Some(Emulator::start().await?),
    };
    Ok(login(emulator).await?)
}

/// Logs a user in on the Loginapp (the emulator's, when there is one).
async fn login(emulator: Option<Emulator>) -> Result<(), Error> {
    let url = std::env::var("AIRLOCK_LOGINAPP_URL").unwrap_or_else(|_| {
        emulator
            .as_ref()
            .map(|e| e.base_url().to_string())
            .unwrap_or_default()
    });
    let client = Client::builder(&url)
        .poll_config(PollConfig::every(
            Duration::from_millis(500),
            Duration::from_secs(120),
        ))
        .build()?;
    println!("Loginapp: {url}");
    let flow = client.flow();
    let username = ask("username", "alice");
    let password = Password::new(ask("password", "password1"));
    let mut step = match flow.check_password(&username, &password).await {
        Ok(step) => step,
        Err(e) => {
            println!("login failed: {e}");
            if let Some(t) = e.temporary_lock_expiry() {
                println!("try again after {t}");
            }
            return Ok(());
        }
    };
    // Follow nextAuthStep until the flow is done.
    loop {
        let Some(next) = step.next.clone() else {
            println!("logged in (session {})", step.id);
            return Ok(());
        };
        step = match next {
            NextAuthStep::Airlock2faMobileOnlyChallengeRetrievalRequired => {
                let c = flow.retrieve_mobile_only_challenge().await?;
                println!(
                    "open this link on your phone (it is a secret): {}",
                    c.uri.expose_secret()
                );
                phone(&emulator, &username);
                wait_for_phone(&flow, &emulator, &username).await?
            }
            NextAuthStep::Airlock2faPollingOrOfflineRequired
            | NextAuthStep::Airlock2faPollingRequired => {
                println!("a push was sent to your phone; waiting for approval…");
                phone(&emulator, &username);
                wait_for_phone(&flow, &emulator, &username).await?
            }
            NextAuthStep::Airlock2faDeviceChoiceRequired => {
                let devices = flow.retrieve_devices().await?;
                for (i, d) in devices.iter().enumerate() {
                    println!(
                        "  {i}: {} ({})",
                        d.display_name.as_deref().unwrap_or("?"),
                        d.id
                    );
                }
                let i: usize = ask("device", "0").parse().unwrap_or(0);
                let Some(device) = devices.get(i).or(devices.first()) else {
                    println!("no device");
                    return Ok(());
                };
                flow.select_device(&device.id).await?
            }
            NextAuthStep::OtpRequired | NextAuthStep::MtanOtpRequired => {
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    let hint = emulator
                        .as_ref()
                        .and_then(|e| e.passcode(&username))
                        .unwrap_or_default();
                    match flow
                        .check_otp(&Otp::new(ask("one-time password", &hint)))
                        .await
                    {
                        Ok(step) => break step,
                        Err(e @ (Error::WrongOtp { .. } | Error::TemporarilyLocked { .. }))
                            if attempt < 3 =>
                        {
                            println!("{e}");
                            // Never retry before the temporary lock expires.
                            if let Some(t) = e.temporary_lock_expiry() {
                                tokio::time::sleep(t.remaining(std::time::SystemTime::now())).await;
                            }
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            other => {
                println!(
                    "this terminal cannot do step {other}; attributes: {:?}",
                    step.attributes.keys().collect::<Vec<_>>()
                );
                return Ok(());
            }
        };
    }
}

/// On the emulator, the phone approves after 2 s.
fn phone(emulator: &Option<Emulator>, _user: &str) {
    if emulator.is_some() {
        println!("(emulator: the phone will approve in 2 s)");
    }
}

async fn wait_for_phone(
    flow: &Flow,
    emulator: &Option<Emulator>,
    user: &str,
) -> Result<airlock_iam::StepResponse, Error> {
    let approve = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        if let Some(e) = emulator {
            e.approve(user);
        }
        std::future::pending::<Result<airlock_iam::StepResponse, Error>>().await
    };
    tokio::select! {
        r = flow.wait() => r,
        r = approve => r,
    }
}
