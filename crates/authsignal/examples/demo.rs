//! The Authsignal flow end to end against the emulator, step by step (`cargo xtask demo`).
//!
//! `cargo run -p authsignal --example authsignal-demo`

use auth_core::emulator::Control;
use authsignal::emulator::{Condition, Emulator, Rule, RuleOutcome};
use authsignal::{
    ActionCode, ChallengeRequest, ChallengeToken, ClaimRequest, ClientId, CreateSessionRequest,
    DeviceId, EnrollVerifiedAuthenticatorRequest, TrackRequest, UserId, ValidateChallengeRequest,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emu = Emulator::builder()
        .rule(
            Rule::new("large-withdrawal", RuleOutcome::Challenge)
                .named("Withdrawals over 1000 need a second factor")
                .for_action("withdraw")
                .when(Condition::CustomGreaterThan("amount".into(), 1000.0)),
        )
        .rule(
            Rule::new("known-bad-ip", RuleOutcome::Block)
                .when(Condition::IpAddress("198.51.100.66".into())),
        )
        .start()
        .await?;
    println!("== Authsignal demo (emulator at {})", emu.base_url());
    println!("   tenant rules: challenge withdrawals > 1000; block 198.51.100.66; default allow");

    let client = emu.client()?;
    let ada = UserId::new("usr_ada")?;
    let withdraw = ActionCode::new("withdraw")?;

    println!("\n1. The bank tracks a 50 EUR withdrawal for {ada}");
    let d = client
        .track(&ada, &withdraw, TrackRequest::new().custom("amount", 50))
        .await?;
    println!(
        "   Authsignal decides: {} (rules matched: {:?})",
        d.state, d.rule_ids
    );

    println!("\n2. A 5000 EUR withdrawal, but Ada has no authenticator yet");
    let d = client
        .track(&ada, &withdraw, TrackRequest::new().custom("amount", 5000))
        .await?;
    println!(
        "   Authsignal decides: {} (enrolled: {}) — unenrolled users are allowed",
        d.state, d.is_enrolled
    );

    println!("\n3. The bank enrols Ada's verified phone number for SMS");
    let e = client
        .enroll_verified_authenticator(
            &ada,
            &EnrollVerifiedAuthenticatorRequest::sms("+64270000001"),
        )
        .await?;
    println!(
        "   authenticator {} ({}), {} recovery codes issued (not shown: secrets)",
        e.authenticator.user_authenticator_id,
        e.authenticator.verification_method,
        e.recovery_codes.len()
    );

    println!("\n4. The 5000 EUR withdrawal again, from a browser on device d-1");
    let d = client
        .track(
            &ada,
            &withdraw,
            TrackRequest::new()
                .custom("amount", 5000)
                .device_id(DeviceId::new("d-1")?)
                .redirect_url("https://bank.example/withdraw/done"),
        )
        .await?;
    println!("   Authsignal decides: {}", d.state);
    println!(
        "   the bank redirects the browser to the pre-built UI: {}",
        d.challenge_url()
            .unwrap_or("-")
            .split('?')
            .next()
            .unwrap_or("-")
    );

    for p in emu.pending() {
        println!(
            "   the challenge page shows Ada: \"{}\" — {}",
            p.title, p.message
        );
    }

    println!("\n5. Ada receives the SMS and types the code in the UI (played by the emulator)");
    let answer = emu.control(Control::Approve {
        id: d.idempotency_key.to_string(),
    })?;
    let token = ChallengeToken::new(answer["token"].as_str().ok_or("no token")?);
    println!("   the browser comes back to the redirect URL with ?token=…");

    println!("\n6. The bank validates the token server-side, for Ada and `withdraw` only");
    let v = client
        .validate_challenge(&ValidateChallengeRequest::new(
            token.clone(),
            ada.clone(),
            withdraw.clone(),
        ))
        .await?;
    println!(
        "   isValid: {}, state: {:?}, method: {:?} → the withdrawal {}",
        v.is_valid,
        v.state.as_ref().map(|s| s.as_str()),
        v.verification_method.as_ref().map(|m| m.as_str()),
        if v.is_valid {
            "goes ahead"
        } else {
            "is refused"
        }
    );

    println!("\n7. Someone replays Ada's token for another user");
    let m = client
        .validate_challenge(&ValidateChallengeRequest::new(
            token,
            UserId::new("usr_mallory")?,
            withdraw.clone(),
        ))
        .await?;
    println!(
        "   isValid: {} ({})",
        m.is_valid,
        m.error.unwrap_or_default()
    );

    println!("\n8. A request from a blocked IP");
    let d = client
        .track(
            &ada,
            &withdraw,
            TrackRequest::new().ip_address("198.51.100.66"),
        )
        .await?;
    println!("   Authsignal decides: {}", d.state);

    println!("\n9. Server-initiated OTP for a sign-up: challenge → verify → claim → session");
    let sign_up = ActionCode::new("signUp")?;
    let c = client
        .challenge(&ChallengeRequest::email_otp(sign_up, "grace@example.com"))
        .await?;
    println!("   e-mail OTP sent, challenge {}", c.challenge_id);
    let code = emu.otp_code(&c.challenge_id).ok_or("no code")?;
    let ok = client.verify(&c.challenge_id, &code).await?;
    println!("   Grace types the code: verified = {}", ok.is_verified);
    let grace = UserId::new("usr_grace")?;
    let claim = client
        .claim_challenge(&ClaimRequest::new(c.challenge_id.clone(), grace.clone()))
        .await?;
    let s = client
        .create_session(&CreateSessionRequest::new(
            ClientId::new("web")?,
            claim.token,
        ))
        .await?;
    let session = client.validate_session(&s.access_token, &[]).await?;
    println!(
        "   session for {} ({}), access and refresh tokens issued (not shown)",
        session.user.user_id,
        session.user.attributes.email.unwrap_or_default()
    );
    client.revoke_user_sessions(&grace).await?;
    println!(
        "   signed out everywhere: validate now → {}",
        match client.validate_session(&s.access_token, &[]).await {
            Ok(_) => "still valid".to_owned(),
            Err(e) => format!(
                "refused ({})",
                e.api_error().map(|a| a.code.as_str()).unwrap_or("?")
            ),
        }
    );

    println!("\n== done: {} actions recorded", emu.action_count());
    Ok(())
}
