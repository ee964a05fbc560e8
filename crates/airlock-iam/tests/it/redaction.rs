//! No secret in any `Debug` or `Display`: every public error variant and every public type that
//! can hold a password, OTP, cookie or session token is built with those secrets inside (over
//! real HTTP, from a server that echoes them back in every field it can) and formatted both
//! ways; none of the secrets may appear.

// Test code: panicking on a broken expectation is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use airlock_iam::{
    ApplicationId, Client, CookieJar, DeviceId, Error, MobileAuthUri, MobileOnlyChallenge,
    NextAuthStep, Otp, Password, QrCode, SessionToken,
};
use auth_core::Classify;
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PASSWORD: &str = "pw-S3CRET-hunter2";
const NEW_PASSWORD: &str = "pw-N3W-S3CRET-correct-horse";
const OTP: &str = "864209";
const COOKIE: &str = "ck-S3CRET-7f3a9";
const TOKEN: &str = "tok-S3CRET-kq9XbT2m";
const SECRETS: [&str; 5] = [PASSWORD, NEW_PASSWORD, OTP, COOKIE, TOKEN];

fn is_invalid_setting(err: &Error) -> bool {
    matches!(
        err,
        Error::Core(auth_core::Error::Config(
            auth_core::ConfigError::Invalid { .. }
        ))
    )
}

/// Asserts no secret appears in `shown`, and that it is not empty (so the check can fail).
fn assert_clean(label: &str, shown: &str) {
    assert!(!shown.trim().is_empty(), "{label}: nothing was formatted");
    for secret in SECRETS {
        assert!(
            !shown.contains(secret),
            "{label}: secret {secret} leaked in:\n{shown}"
        );
    }
}

fn both<T: std::fmt::Debug + std::fmt::Display>(v: &T) -> String {
    format!("{v} | {v:?}")
}

/// A server answering every request with `status`, `body` and a session cookie.
async fn server(status: u16, body: Vec<u8>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(status)
                .append_header(
                    "Set-Cookie",
                    format!("JSESSIONID={COOKIE}; Path=/; HttpOnly"),
                )
                .set_body_raw(body, "application/json"),
        )
        .mount(&server)
        .await;
    server
}

fn client(server: &MockServer) -> Client {
    Client::builder(format!("{}/auth", server.uri()))
        .build()
        .unwrap()
}

/// An error document that echoes `echo` in every member a server could fill.
fn echoing_error(status: u16, code: &str, echo: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "meta": {
            "type": "jsonapi.metadata.document",
            "timestamp": "2024-05-01T10:00:00.000+02:00",
            "temporaryLockExpiry": "2024-05-01T10:00:03.000+02:00",
            "nextAuthStep": format!("STEP_{echo}"),
            "echo": {"nested": [echo]},
        },
        "errors": [{
            "id": format!("1:{echo}"),
            "status": status,
            "code": code,
            "title": format!("you sent {echo}"),
            "detail": format!("value {echo} with cookie {COOKIE}"),
            "meta": {"input": echo},
        }]
    }))
    .unwrap()
}

#[tokio::test]
async fn every_error_document_variant_is_scrubbed() {
    let codes = [
        ("USERNAME_PASSWORD_WRONG", 400),
        ("USER_LOCKED", 403),
        ("USER_TEMPORARILY_LOCKED", 403),
        ("OTP_WRONG", 400),
        ("UNEXPECTED_CALL", 400),
        ("NOT_AUTHORIZED", 401),
        ("AIRLOCK_2FA_AUTHENTICATION_REJECTED", 400),
        ("AIRLOCK_2FA_AUTHENTICATION_TIMEOUT", 400),
        ("CSRF_HEADER_MISSING", 403),
    ];
    let mut variants = std::collections::BTreeSet::new();
    // `{echo}` in a code is replaced by the secret the call sent: an unknown code is kept
    // verbatim except for a secret in it.
    for (code, status) in codes.into_iter().chain([("CUSTOM_{echo}", 400)]) {
        let code_with = |echo: &str| code.replace("{echo}", echo);
        // The password step: the password and the cookie are echoed.
        let s = server(
            status,
            echoing_error(status, &code_with(PASSWORD), PASSWORD),
        )
        .await;
        let flow = client(&s).flow();
        let err = flow
            .check_password("jdoe", &Password::new(PASSWORD))
            .await
            .unwrap_err();
        let label = format!("password check / {}", &code[..code.len().min(12)]);
        assert_clean(&label, &both(&err));
        let doc = err.document().expect("an error document");
        assert_clean(&label, &both(doc));
        assert_clean(&label, &format!("{:?}", flow.state()));
        assert_eq!(doc.errors[0].status, Some(status));
        if code.starts_with("CUSTOM_") {
            assert_eq!(doc.code().as_str(), "CUSTOM_[redacted]");
        }
        variants.insert(
            format!("{err:?}")
                .split([' ', '{'])
                .next()
                .unwrap()
                .to_owned(),
        );

        // The OTP, passcode and password-change steps: their secrets are echoed.
        let s = server(status, echoing_error(status, &code_with(OTP), OTP)).await;
        let flow = client(&s).flow();
        let e1 = flow.check_otp(&Otp::new(OTP)).await.unwrap_err();
        let e2 = flow.check_passcode(&Otp::new(OTP)).await.unwrap_err();
        assert_clean("otp", &format!("{} {}", both(&e1), both(&e2)));
        let s = server(
            status,
            echoing_error(status, &code_with(NEW_PASSWORD), NEW_PASSWORD),
        )
        .await;
        let flow = client(&s).flow();
        let e = flow
            .change_password(Some(&Password::new(PASSWORD)), &Password::new(NEW_PASSWORD))
            .await
            .unwrap_err();
        assert_clean("password change", &both(&e));
    }
    // Every typed variant was reached (the codes really were classified).
    assert_eq!(
        variants.into_iter().collect::<Vec<_>>(),
        [
            "Api",
            "CsrfHeaderMissing",
            "NotAuthorized",
            "Rejected",
            "TemporarilyLocked",
            "TimedOut",
            "UnexpectedCall",
            "UserLocked",
            "WrongOtp",
            "WrongPassword"
        ]
    );
}

#[tokio::test]
async fn responses_that_are_not_documents_are_scrubbed() {
    // A gateway page echoing the password and the cookie.
    let html = format!("<html>login {PASSWORD} failed; session {COOKIE}</html>");
    let s = server(502, html.into_bytes()).await;
    let err = client(&s)
        .flow()
        .check_password("jdoe", &Password::new(PASSWORD))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Core(auth_core::Error::Status { status: 502, .. })
        ),
        "{err:?}"
    );
    assert_clean("unexpected response", &both(&err));

    // A challenge whose attributes are the secret URI itself: a decode error.
    let uri = format!("airlock2fa://auth?session_token={TOKEN}&user_id=u-1");
    let body = json!({"data": {"type": "authentication.airlock-2fa.mobile-only.challenge",
        "id": "1", "attributes": uri}});
    let s = server(200, serde_json::to_vec(&body).unwrap()).await;
    let err = client(&s)
        .flow()
        .retrieve_mobile_only_challenge()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Core(auth_core::Error::Decode { path, .. }) if path == "data.attributes"),
        "{err:?}"
    );
    assert_clean("decode", &both(&err));

    // A mobileAuthUri without its user id.
    let body = json!({"data": {"type": "authentication.airlock-2fa.mobile-only.challenge",
        "id": "1", "attributes": {"mobileAuthUri": format!("airlock2fa://auth?session_token={TOKEN}")}}});
    let s = server(200, serde_json::to_vec(&body).unwrap()).await;
    let err = client(&s)
        .flow()
        .retrieve_mobile_only_challenge()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Core(auth_core::Error::Decode { path, .. })
            if path == "data.attributes.mobileAuthUri"),
        "{err:?}"
    );
    assert_clean("mobileAuthUri", &both(&err));
}

#[tokio::test]
async fn local_errors_and_every_secret_holding_type() {
    // Refused before sending: the reason never repeats the value.
    let s = server(500, Vec::new()).await;
    let c = client(&s);
    let flow = c.flow();
    for bad in [
        format!("{PASSWORD}\n"),
        format!("{PASSWORD}{}", "x".repeat(2000)),
    ] {
        let err = flow
            .check_password("jdoe", &Password::new(bad))
            .await
            .unwrap_err();
        assert!(is_invalid_setting(&err), "{err:?}");
        assert_clean("invalid input", &both(&err));
    }
    let err = flow
        .check_otp(&Otp::new(format!("{OTP}\t")))
        .await
        .unwrap_err();
    assert_clean("invalid otp", &both(&err));
    let other = [
        Error::NoSession {
            user: "jdoe".into(),
        },
        Error::UnsupportedStep {
            step: NextAuthStep::Other("X".into()),
        },
        Error::Core(auth_core::Error::Cancelled),
    ];
    for e in &other {
        assert_clean("other variants", &both(e));
    }

    // The secret types themselves.
    let uri = MobileAuthUri::parse(&format!(
        "airlock2fa://auth?session_token={TOKEN}&user_id=u-1"
    ))
    .unwrap();
    let shown = format!(
        "{:?} {:?} {:?} {:?} {:?}",
        Password::new(PASSWORD),
        Password::new(NEW_PASSWORD),
        Otp::new(OTP),
        SessionToken::new(TOKEN),
        uri
    );
    assert_clean("secret types", &shown);
    assert!(shown.contains("u-1"), "the user id is not secret: {shown}");

    // A challenge and a QR code parsed from real documents.
    let challenge = MobileOnlyChallenge::from_json(
        &serde_json::to_vec(&json!({"data": {"type": "c", "id": "9", "attributes": {
            "mobileAuthUri": format!("airlock2fa://auth?session_token={TOKEN}&user_id=u-1"),
            "other": 1}}}))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(challenge.uri.session_token().expose_secret(), TOKEN);
    let qr = QrCode::from_json(
        &serde_json::to_vec(&json!({"data": {"type": "q", "id": "8", "attributes": {
            "qrCode": format!("data:image/png;base64,{TOKEN}")}}}))
        .unwrap(),
    )
    .unwrap();
    assert_clean(
        "challenge and QR",
        &format!("{challenge:?} {:?} {qr:?}", challenge.attributes),
    );

    // Cookies: a flow that received the session cookie, its saved form, the client, the jar,
    // and a step-up holding the session.
    let s = server(
        200,
        br#"{"data":{"type":"authentication.session","id":"1","attributes":{"nextAuthStep":"OTP_REQUIRED"}}}"#
            .to_vec(),
    )
    .await;
    let c = client(&s);
    let flow = c.flow();
    flow.check_password("jdoe", &Password::new(PASSWORD))
        .await
        .unwrap();
    let saved = flow.save();
    assert_eq!(saved.cookies.cookies()[0].expose_value(), COOKIE);
    let jar: &CookieJar = &saved.cookies;
    let stepping = Client::builder(format!("{}/auth", s.uri()))
        .step_up_application(ApplicationId::new("ebanking").unwrap())
        .build()
        .unwrap();
    stepping.attach_session("jdoe", saved.clone());
    let shown = format!(
        "{flow:?} {saved:?} {jar:?} {:?} {c:?} {stepping:?}",
        jar.cookies()[0]
    );
    assert_clean("cookies", &shown);
    assert!(
        shown.contains("JSESSIONID"),
        "names are fine to show: {shown}"
    );
    // A resume refusal names the cookie, never its value.
    let foreign = Client::builder("https://iam.other.example/auth")
        .build()
        .unwrap();
    let err = foreign.resume(saved).map(|_| ()).unwrap_err();
    assert!(is_invalid_setting(&err), "{err:?}");
    assert_clean("resume refusal", &both(&err));
    let _ = DeviceId::new("d1").unwrap();
    let _: Value = Value::Null;
    let _ = Duration::ZERO;
}

// ---- secrets with quotes, backslashes and umlauts, echoed back in every encoding ------------

const ODD_PASSWORD: &str = "S3cr\"et\\Grüezi";
const ODD_NEW_PASSWORD: &str = "N3w\\\"Pässwort";
const ODD_OTP: &str = "98\"7\\6ü5";

fn base64_std(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Every byte but ASCII letters and digits as `%XX`.
fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Every spelling of `secret` that must not show: raw, JSON-escaped (as `Debug` and JSON
/// write it, and with `\u00fc` escapes), percent-encoded, form-encoded and base64.
fn spellings(secret: &str) -> Vec<String> {
    let json = serde_json::to_string(secret).unwrap();
    let json = json[1..json.len() - 1].to_owned();
    let ascii: String = json
        .chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                format!("\\u{:04x}", c as u32)
            }
        })
        .collect();
    let debug = format!("{secret:?}");
    vec![
        secret.to_owned(),
        json,
        ascii,
        debug[1..debug.len() - 1].to_owned(),
        percent(secret),
        url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
        base64_std(secret.as_bytes())
            .trim_end_matches('=')
            .to_owned(),
    ]
}

/// Answers every request with `status` and a body that echoes the request: as an error document
/// whose members hold the request's values raw, percent-encoded and base64 (and the whole body
/// as text), or as an HTML page with the same echoes.
struct Echo {
    status: u16,
    document: bool,
}

impl wiremock::Respond for Echo {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let raw_body = String::from_utf8_lossy(&request.body).into_owned();
        let sent: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let values: Vec<String> = sent
            .as_object()
            .map(|o| {
                o.values()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let echoes: Vec<String> = values
            .iter()
            .flat_map(|v| [v.clone(), percent(v), base64_std(v.as_bytes())])
            .collect();
        let text = format!("you sent {raw_body}; values {}", echoes.join(" "));
        if !self.document {
            return ResponseTemplate::new(self.status)
                .set_body_raw(format!("<html><p>{text}</p></html>"), "text/html");
        }
        let mut meta = serde_json::Map::new();
        meta.insert("echo".into(), sent.clone());
        for (i, v) in echoes.iter().enumerate() {
            meta.insert(v.clone(), Value::from(i));
        }
        let body = json!({
            "meta": meta,
            "errors": [{
                "status": self.status,
                "code": "OTP_WRONG",
                "title": raw_body,
                "detail": text,
                "meta": {"input": echoes},
            }],
        });
        ResponseTemplate::new(self.status)
            .set_body_raw(serde_json::to_vec(&body).unwrap(), "application/json")
    }
}

#[tokio::test]
async fn echoed_secrets_with_quotes_backslashes_and_umlauts_never_show() {
    let secrets = [ODD_PASSWORD, ODD_NEW_PASSWORD, ODD_OTP];
    let forbidden: Vec<(String, &str)> = secrets
        .iter()
        .flat_map(|s| spellings(s).into_iter().map(move |f| (f, *s)))
        .collect();
    for (status, document) in [
        (400, true),
        (403, true),
        (500, false),
        (502, false),
        (500, true),
    ] {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(Echo { status, document })
            .mount(&server)
            .await;
        let flow = client(&server).flow();
        let errors = [
            flow.check_password("jdoe", &Password::new(ODD_PASSWORD))
                .await
                .unwrap_err(),
            flow.check_otp(&Otp::new(ODD_OTP)).await.unwrap_err(),
            flow.check_passcode(&Otp::new(ODD_OTP)).await.unwrap_err(),
            flow.change_password(
                Some(&Password::new(ODD_PASSWORD)),
                &Password::new(ODD_NEW_PASSWORD),
            )
            .await
            .unwrap_err(),
        ];
        // The server did echo them (so the check below can fail).
        let echoed = server.received_requests().await.unwrap().len();
        assert_eq!(echoed, 4);
        for err in &errors {
            assert_eq!(err.http_status(), Some(status), "{err:?}");
            assert_eq!(err.document().is_some(), document, "{err:?}");
            let mut shown = both(err);
            if let Some(doc) = err.document() {
                shown.push_str(&format!(" {doc} {doc:?} {:?}", doc.errors));
            }
            assert!(
                shown.contains("[redacted]"),
                "nothing was scrubbed: {shown}"
            );
            for (form, secret) in &forbidden {
                assert!(
                    !shown.contains(form.as_str()),
                    "{status}: {secret:?} leaked as {form:?} in:\n{shown}"
                );
            }
        }
    }
}
