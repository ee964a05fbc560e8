//! The whole Onegini user-authentication lifecycle, run by the client model against the Token
//! Server model over real HTTP on a loopback port, narrated step by step.
//!
//! ```text
//! cargo run -p onegini-model --features emulator --example onegini-model-demo   (or: cargo xtask demo)
//! ```

use std::sync::Arc;
use std::time::Duration;

use auth_core::FakeClock;
use onegini_model::emulator::{AdminCommand, AppConfig, AppVersion, Consent, Emulator};
use onegini_model::testing::{Prompt, ScriptedFingerprint, ScriptedUser};
use onegini_model::{
    ApplicationSignature, Authenticator, Client, FingerprintScan, MemoryKeystore, MemoryStorage,
};

const SIGNATURE: &str = "AB:CD:EF:01:23:45:67:89:signing-cert-sha256";

fn client(emu: &Emulator, clock: &FakeClock) -> Result<Client, Box<dyn std::error::Error>> {
    // The served app's identifier, platform, version, signature and redirect URI.
    let config = emu
        .client_config()
        .device_name("Pixel 8")
        .pbkdf2_iterations(10_000)
        .fingerprint_sensor()
        .build()?;
    // The phone's keystore: the fingerprint token is sealed under a key it holds.
    Ok(Client::builder(config, Arc::new(MemoryStorage::new()))
        .base_url(emu.base_url())
        .keystore(Arc::new(MemoryKeystore::new()))
        .clock(Arc::new(clock.clone()))
        .build()?)
}

fn server_says(emu: &Emulator, seen: &mut usize) {
    let events = emu.model().events();
    for e in events.iter().skip(*seen) {
        println!("      [token server] {e}");
    }
    *seen = events.len();
}

fn user_saw(user: &ScriptedUser, seen: &mut usize) {
    let prompts = user.prompts();
    for p in &prompts[*seen..] {
        let text = match p {
            Prompt::CreatePin {
                profile,
                pin_length,
            } => {
                format!("app asks {profile} to create a PIN of {pin_length} digits")
            }
            Prompt::PinRejected(code) => {
                format!("PIN rejected by the policy (error {code}); asked again")
            }
            Prompt::FinishPinCreation => "PIN creation finished".into(),
            Prompt::EnterPin { profile, counter } => format!(
                "app asks {profile} for the PIN ({} attempt(s) left)",
                counter.remaining_attempts()
            ),
            Prompt::WrongPin(counter) => format!(
                "wrong PIN: {} of {} attempts left",
                counter.remaining_attempts(),
                counter.max_attempts()
            ),
            Prompt::FinishAuthentication => "authentication finished".into(),
            other => format!("{other:?}"),
        };
        println!("      [user] {text}");
    }
    *seen = prompts.len();
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server_clock = FakeClock::at_unix(1_767_225_600);
    let app = AppConfig::new(
        "ExampleApp",
        "oneginiexample://loginsuccess",
        AppVersion::new("1.0.0", "android", ApplicationSignature::new(SIGNATURE)),
    )?;
    let emu = Emulator::builder()
        .app(app)
        .clock(server_clock.clone())
        .user("alice", "correct horse battery staple")
        .start()
        .await?;
    let mut events = 0;
    println!("Token Server model listening on {}", emu.base_url());
    println!(
        "  app ExampleApp 1.0.0 android; PIN policy: 5 digits, no sequences, a digit at most twice; 3 PIN attempts\n"
    );

    println!(
        "1. A phone whose clock is 11 minutes fast tries to register the app (DCR with OCRA + timestamp)"
    );
    let skewed = FakeClock::at_unix(1_767_225_600 + 11 * 60);
    let phone = client(&emu, &skewed)?;
    let err = phone
        .pin_policy()
        .await
        .err()
        .ok_or("DCR should have failed")?;
    println!("   -> {err}");
    server_says(&emu, &mut events);

    println!("\n2. The same phone with its clock 9 minutes fast: within the ten-minute tolerance");
    let device_clock = FakeClock::at_unix(1_767_225_600 + 9 * 60);
    let phone = client(&emu, &device_clock)?;
    phone.pin_policy().await?;
    println!(
        "   -> device registered, client id {}…",
        phone
            .client_id()?
            .map(|id| id.as_str().chars().take(12).collect::<String>())
            .unwrap_or_default()
    );
    server_says(&emu, &mut events);

    println!(
        "\n3. Alice registers: browser to the IdP, login, consent, back to the app, then a PIN"
    );
    let browser = emu.browser("alice", "correct horse battery staple", Consent::Allow)?;
    let alice = ScriptedUser::typing(["1234", "12345", "11150", "31415"]);
    let mut prompts = 0;
    let profile = phone
        .register_user(&["read", "write"], &browser, &alice)
        .await?;
    for page in browser.trail() {
        println!("      [browser] {page}");
    }
    user_saw(&alice, &mut prompts);
    server_says(&emu, &mut events);
    println!(
        "   -> registered profile {profile}; authenticated: {:?}",
        phone.authenticated_user_profile().map(|p| p.to_string())
    );
    let resource = phone.fetch_user_resource().await?;
    println!(
        "   -> resource call with the access token: user {} scopes {:?}",
        resource.user_id, resource.scopes
    );

    println!("\n4. Logout: the access token is revoked, the PIN-protected refresh token stays");
    phone.logout().await?;
    server_says(&emu, &mut events);
    println!(
        "   -> authenticated: {:?}",
        phone.authenticated_user_profile()
    );

    println!("\n5. Login again with the PIN (no browser), one typo first");
    alice.then_type(["27182", "31415"]);
    phone.authenticate_user(&profile, &alice, None).await?;
    user_saw(&alice, &mut prompts);
    server_says(&emu, &mut events);
    println!("   -> authenticated as {profile}; the PIN itself never left the phone");

    println!("\n6. Alice registers her fingerprint and makes it preferred; logs in with a finger");
    phone.register_fingerprint().await?;
    phone.set_preferred_authenticator(Authenticator::Fingerprint)?;
    phone.logout().await?;
    let sensor = ScriptedFingerprint::scanning([FingerprintScan::NoMatch, FingerprintScan::Match]);
    phone
        .authenticate_user(&profile, &alice, Some(&sensor))
        .await?;
    println!(
        "      [fingerprint] {} scans (a wrong finger, then a match)",
        sensor.scans_requested()
    );
    server_says(&emu, &mut events);

    println!("\n7. Fifteen minutes pass: the access token expires");
    device_clock.advance(Duration::from_secs(901));
    server_clock.advance(Duration::from_secs(901));
    let err = phone
        .fetch_user_resource()
        .await
        .err()
        .ok_or("should have expired")?;
    println!("   -> {err}");

    println!("\n8. Someone else tries three wrong PINs");
    alice.then_type(["11111", "22222", "33333"]);
    let err = phone
        .authenticate_user_with(&profile, Authenticator::Pin, &alice, None)
        .await
        .err()
        .ok_or("should have deregistered")?;
    user_saw(&alice, &mut prompts);
    server_says(&emu, &mut events);
    println!(
        "   -> {err}; profiles left on the phone: {}",
        phone.user_profiles()?.len()
    );

    println!("\n9. Alice registers again (the device registration is kept); an administrator then");
    println!("   revokes her tokens; at the next app start the SDK learns the profile is gone");
    let again = ScriptedUser::typing(["31415", "31415"]);
    phone.register_user(&[], &browser, &again).await?;
    emu.control(
        AdminCommand::RevokeUserTokens {
            user: "alice".into(),
        }
        .into(),
    )?;
    let removed = phone.start().await?;
    server_says(&emu, &mut events);
    println!(
        "   -> start(): removed profiles {:?}",
        removed.iter().map(|p| p.to_string()).collect::<Vec<_>>()
    );

    println!(
        "\n10. Alice registers a third time, then deregisters: her data leaves the phone and the server"
    );
    let profile = phone.register_user(&[], &browser, &again).await?;
    phone.deregister_user(&profile).await?;
    server_says(&emu, &mut events);
    println!(
        "   -> profiles: {}, client id kept: {}",
        phone.user_profiles()?.len(),
        phone.client_id()?.is_some()
    );
    Ok(())
}
