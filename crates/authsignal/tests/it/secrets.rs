//! Secrets stay out of errors and `Debug`, whatever the server echoes and however it spells
//! it: the secret key (raw, or base64 inside the `Authorization` header), OTP codes and tokens
//! (raw, JSON-escaped inside an echoed body, percent-encoded as in a query).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::Classify;
use authsignal::emulator::Emulator;
use authsignal::*;
use base64::Engine as _;
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Answers 400 with everything the request carried in its texts: the `Authorization` header,
/// the raw JSON body, and the code and token percent-encoded (form style and `%20` style).
struct Echo;

impl Respond for Echo {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let auth = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = String::from_utf8_lossy(&req.body).into_owned();
        let sent: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let value = ["verificationCode", "accessToken", "refreshToken", "token"]
            .iter()
            .find_map(|k| sent[*k].as_str())
            .unwrap_or_default()
            .to_owned();
        let form: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        let pct = form.replace('+', "%20");
        ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_request",
            "errorCode": format!("bad_{auth}"),
            "errorDescription": format!("got {auth} with {body}; query v={form}&w={pct}"),
            "message": format!("{auth} {body}"),
        }))
    }
}

#[tokio::test]
async fn echoed_authorization_header_and_otp_code_never_show_in_errors() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(Echo)
        .mount(&server)
        .await;
    let key = "sk_live_echo_key_42";
    let client = Client::builder(SecretKey::new(key))
        .base_url(format!("{}/v1", server.uri()))
        .build()
        .unwrap();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
    // A code whose JSON and percent spellings differ from the raw one.
    let otp = r#"otp-"918/273 ü"#;
    let err = client
        .verify(
            &ChallengeId::new("ch-1").unwrap(),
            &VerificationCode::new(otp),
        )
        .await
        .unwrap_err();
    let token = "ast_tok+en/with=odd\"chars";
    let session_err = client
        .validate_session(&AccessToken::new(token), &[])
        .await
        .unwrap_err();
    // The server really did echo every form.
    let Error::InvalidRequest(api) = &err else {
        panic!("{err:?}")
    };
    let d = api.description.as_deref().unwrap();
    assert_eq!(
        d,
        r#"got Basic [redacted] with {"challengeId":"ch-1","verificationCode":"[redacted]"}; query v=[redacted]&w=[redacted]"#
    );
    for (i, e) in [err, session_err].iter().enumerate() {
        let shown = format!("{e} | {e:?}");
        for form in [
            key.to_owned(),
            basic.clone(),
            basic[..20].to_owned(),
            otp.to_owned(),
            r#"otp-\"918/273 ü"#.to_owned(), // JSON-escaped, as in the echoed body
            r#"otp-\"918\/273 \u00fc"#.to_owned(),
            "otp-%22918%2F273+%C3%BC".to_owned(), // form-encoded
            "otp-%22918%2F273%20%C3%BC".to_owned(), // percent-encoded
            "918/273".to_owned(),
            token.to_owned(),
            r#"ast_tok+en/with=odd\"chars"#.to_owned(),
            "ast_tok%2Ben%2Fwith%3Dodd%22chars".to_owned(),
        ] {
            assert!(!shown.contains(&form), "error #{i} shows {form}: {shown}");
        }
        assert!(shown.contains("[redacted]"), "{shown}");
    }
}

/// A revoked or expired session token is a session error, not "check the secret key and the
/// region base URL"; a refused key on the same endpoint still is.
#[tokio::test]
async fn a_refused_session_token_is_not_a_secret_key_problem() {
    let emu = Emulator::start().await.unwrap();
    let client = emu.client().unwrap();
    let c = client
        .challenge(&ChallengeRequest::sms(
            ActionCode::new("signIn").unwrap(),
            "+64270000300",
        ))
        .await
        .unwrap();
    client
        .verify(&c.challenge_id, &emu.otp_code(&c.challenge_id).unwrap())
        .await
        .unwrap();
    let claim = client
        .claim_challenge(&ClaimRequest::new(
            c.challenge_id.clone(),
            UserId::new("sess-401").unwrap(),
        ))
        .await
        .unwrap();
    let s = client
        .create_session(&CreateSessionRequest::new(
            ClientId::new("web").unwrap(),
            claim.token,
        ))
        .await
        .unwrap();
    client.revoke_session(&s.access_token).await.unwrap();
    let revoked = client
        .validate_session(&s.access_token, &[])
        .await
        .unwrap_err();
    let reused = client.refresh_session(&s.refresh_token).await.unwrap_err();
    for e in [&revoked, &reused] {
        assert!(
            matches!(e, Error::InvalidSession(a) if a.status == 401),
            "{e:?}"
        );
        assert!(e.is_invalid_session() && !e.is_retryable());
        assert_eq!(e.kind(), auth_core::ErrorKind::Unauthorized);
        assert_eq!(e.http_status(), Some(401));
        assert_eq!(e.provider_code(), Some("unauthorized"));
        let shown = e.to_string();
        assert!(
            !shown.contains("secret key") && !shown.contains("region"),
            "{shown}"
        );
        assert!(shown.contains("session"), "{shown}");
    }
    // A wrong key on a session endpoint is still the key's fault.
    let wrong = Client::builder(SecretKey::new("sk_not_this_one"))
        .base_url(emu.base_url())
        .build()
        .unwrap();
    let err = wrong
        .validate_session(&s.access_token, &[])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)), "{err:?}");
    assert!(!err.is_invalid_session() && err.to_string().contains("secret key"));
    assert_eq!(err.kind(), auth_core::ErrorKind::Unauthorized);
}
