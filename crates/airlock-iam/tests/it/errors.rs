//! Errors and redaction over real HTTP: bodies that are not JSON:API documents, malformed
//! documents, input validation, and no secret in any `Debug`/`Display`.

// Test code: panicking on a broken expectation is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use airlock_iam::{Client, Error, FlowState, MobileAuthUri, NextAuthStep, Otp, Password};
use auth_core::{Classify, ErrorKind, PollConfig};
use wiremock::matchers::{any, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PASSWORD: &str = "correct-horse-battery-staple";

fn is_invalid_setting(err: &Error) -> bool {
    matches!(
        err,
        Error::Core(auth_core::Error::Config(
            auth_core::ConfigError::Invalid { .. }
        ))
    )
}

async fn server_answering(status: u16, body: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(status)
                .insert_header("Set-Cookie", "GWSESSION=gw-cookie-secret-42; Path=/")
                .set_body_string(body),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn gateway_html_page_is_an_unexpected_response_with_scrubbed_body() {
    let body = format!("<html>Bad gateway for password={PASSWORD} gw-cookie-secret-42</html>");
    let server = server_answering(502, &body).await;
    let flow = Client::builder(server.uri()).build().unwrap().flow();
    let err = flow
        .check_password("jdoe", &Password::new(PASSWORD))
        .await
        .unwrap_err();
    match &err {
        Error::Core(auth_core::Error::Status { status, body, .. }) => {
            assert_eq!(*status, 502);
            assert!(body.as_str().contains("Bad gateway"));
        }
        other => panic!("{other:?}"),
    }
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(!shown.contains("gw-cookie-secret-42"), "{shown}");
    assert!(shown.contains("[redacted]"));
    assert_eq!(err.http_status(), Some(502));
}

#[tokio::test]
async fn malformed_success_documents_are_decode_errors_with_a_path() {
    for (body, want_path) in [
        ("not json", "."),
        (r#"{"data":{"type":"authentication.session"}}"#, "data"),
        (
            r#"{"data":{"type":"authentication.session","id":true}}"#,
            "data.id",
        ),
        (
            r#"{"data":{"type":"authentication.session","id":"1","attributes":{"nextAuthStep":["x"]}}}"#,
            "data.attributes.nextAuthStep",
        ),
        (
            r#"{"meta":{"temporaryLockExpiry":"soon"},"data":null}"#,
            "meta",
        ),
    ] {
        let server = server_answering(200, body).await;
        let flow = Client::builder(server.uri()).build().unwrap().flow();
        let err = flow
            .check_password("jdoe", &Password::new(PASSWORD))
            .await
            .unwrap_err();
        match &err {
            Error::Core(auth_core::Error::Decode { path, .. }) => {
                assert!(
                    path.starts_with(want_path) || want_path == ".",
                    "{body}: {path}"
                )
            }
            other => panic!("{body}: {other:?}"),
        }
        assert!(!format!("{err:?}").contains(PASSWORD));
    }
}

#[tokio::test]
async fn error_documents_on_a_success_status_never_panic() {
    // 200 with a mobile-only challenge lacking its URI, and with a bad URI.
    for attrs in [
        r#"{}"#,
        r#"{"mobileAuthUri":"airlock2fa://auth?session_token=only"}"#,
    ] {
        let body = format!(
            r#"{{"data":{{"type":"authentication.airlock-2fa.mobile-only.challenge","id":"1","attributes":{attrs}}}}}"#
        );
        let server = server_answering(200, &body).await;
        let flow = Client::builder(server.uri()).build().unwrap().flow();
        let err = flow.retrieve_mobile_only_challenge().await.unwrap_err();
        assert!(
            matches!(err, Error::Core(auth_core::Error::Decode { .. })),
            "{err:?}"
        );
        assert_eq!(flow.state(), FlowState::Start, "state unchanged on failure");
    }
}

#[tokio::test]
async fn an_error_document_with_next_step_moves_the_flow() {
    let server = MockServer::start().await;
    Mock::given(path("/rest/public/authentication/airlock-2fa/status/poll/"))
        .respond_with(ResponseTemplate::new(401).set_body_string(
            r#"{"meta":{"nextAuthStep":"SELECTION_REQUIRED"},"errors":[{"status":401,"code":"SESSION_GONE","title":"t","detail":"d"}]}"#,
        ))
        .mount(&server)
        .await;
    let flow = Client::builder(server.uri()).build().unwrap().flow();
    let err = flow
        .wait_with(&PollConfig::every(
            Duration::from_millis(5),
            Duration::from_secs(1),
        ))
        .await
        .unwrap_err();
    let doc = err.document().unwrap();
    assert_eq!(doc.errors[0].title.as_deref(), Some("t"));
    assert_eq!(doc.errors[0].detail.as_deref(), Some("d"));
    assert!(matches!(err, Error::Api { .. }));
    assert_eq!(
        flow.state(),
        FlowState::Next(NextAuthStep::Other("SELECTION_REQUIRED".into()))
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "errors end polling"
    );
}

#[tokio::test]
async fn invalid_input_is_refused_before_sending() {
    let server = server_answering(500, "should not be called").await;
    let c = Client::builder(server.uri()).build().unwrap();
    let flow = c.flow();
    for (user, password) in [("", "x"), ("jdoe", ""), ("jd\noe", "x")] {
        let err = flow
            .check_password(user, &Password::new(password))
            .await
            .unwrap_err();
        assert!(is_invalid_setting(&err), "{err:?}");
    }
    let long = "1".repeat(5000);
    assert!(matches!(
        flow.check_otp(&Otp::new(long)).await,
        Err(Error::Core(auth_core::Error::Config(_)))
    ));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[test]
fn configuration_is_validated() {
    assert!(
        Client::builder("http://iam.example.com/auth")
            .build()
            .is_err()
    );
    assert!(Client::builder("not a url").build().is_err());
    assert!(
        Client::builder("https://iam.example.com/auth")
            .csrf_value("")
            .build()
            .is_err()
    );
    assert!(
        Client::builder("https://iam.example.com/auth")
            .csrf_value("a\nb")
            .build()
            .is_err()
    );
    assert!(
        Client::builder("https://iam.example.com/auth")
            .rest_path("/rest?x")
            .build()
            .is_err()
    );
    let c = Client::builder("https://iam.example.com/auth-login/rest/")
        .rest_path("")
        .build()
        .unwrap();
    assert_eq!(
        c.url("public/authentication/otp/check/").as_str(),
        "https://iam.example.com/auth-login/rest/public/authentication/otp/check/"
    );
}

#[test]
fn no_secret_in_debug() {
    let p = Password::new(PASSWORD);
    let o = Otp::new("246810");
    let uri =
        MobileAuthUri::parse("airlock2fa://auth?session_token=tok-SECRET-9&user_id=u-1").unwrap();
    let shown = format!("{p:?} {o:?} {uri:?}");
    for secret in [PASSWORD, "246810", "tok-SECRET-9"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(shown.contains("u-1"));
}

/// A Loginapp whose application access starts a One-Touch step and whose status poll answers
/// 429 (with this `Retry-After`, if any), every time.
async fn rate_limited_loginapp(hint: Option<&str>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path(
        "/rest/public/authentication/applications/ebanking/access/",
    ))
    .respond_with(ResponseTemplate::new(401).set_body_string(
        r#"{"meta":{"nextAuthStep":"AIRLOCK_2FA_POLLING_OR_OFFLINE_REQUIRED"},
                "errors":[{"status":401,"code":"NOT_AUTHORIZED"}]}"#,
    ))
    .mount(&server)
    .await;
    let mut limited = ResponseTemplate::new(429).set_body_string("slow down");
    if let Some(hint) = hint {
        limited = limited.insert_header("Retry-After", hint);
    }
    Mock::given(path("/rest/public/authentication/airlock-2fa/status/poll/"))
        .respond_with(limited)
        .mount(&server)
        .await;
    server
}

fn polls(requests: &[wiremock::Request]) -> usize {
    requests
        .iter()
        .filter(|r| r.url.path().ends_with("/status/poll/"))
        .count()
}

#[tokio::test]
async fn rate_limited_poll_stays_pending_with_the_hint() {
    // The rule of every provider crate: the server's hint as it is (at most an hour), none for
    // `Retry-After: 0` (the poll interval applies), 5 s without a header.
    for (hint, want) in [
        (Some("7"), Some(7)),
        (None, Some(5)),
        (Some("0"), None),
        (Some("99999999999"), Some(3600)),
    ] {
        let server = rate_limited_loginapp(hint).await;
        let clock = auth_core::FakeClock::at_unix(1_800_000_000);
        let client = Client::builder(server.uri())
            .clock(std::sync::Arc::new(clock.clone()))
            .build()
            .unwrap();
        let flow = client.flow();
        match flow.poll().await.unwrap() {
            auth_core::PollStatus::Pending { retry_after } => {
                assert_eq!(retry_after, want.map(Duration::from_secs), "{hint:?}");
            }
            other => panic!("{other:?}"),
        }
        // The transport's retries were spent first (the poll is safe to repeat); a pause past
        // the request's own timeout is not waited for.
        let sent = polls(&server.received_requests().await.unwrap());
        let attempts = auth_core::RetryPolicy::default().max_attempts as usize;
        if want.is_some_and(|s| s > 60) {
            assert_eq!(sent, 1, "{hint:?}");
        } else {
            assert_eq!(sent, attempts, "{hint:?}");
        }
        // Past its deadline, waiting ends as the client's own timeout, not as a failure.
        let err = flow
            .wait_with(
                &PollConfig::every(Duration::from_secs(1), Duration::from_secs(30))
                    .with_jitter(0.0),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
    }
}

#[tokio::test]
async fn rate_limited_step_up_stays_pending_until_the_deadline() {
    use auth_core::{PollStatus, StepUp, StepUpOutcome, StepUpRequest};
    let server = rate_limited_loginapp(Some("7")).await;
    let clock = auth_core::FakeClock::at_unix(1_800_000_000);
    let stepup = Client::builder(server.uri())
        .clock(std::sync::Arc::new(clock.clone()))
        .step_up_application(airlock_iam::ApplicationId::new("ebanking").unwrap())
        .build()
        .unwrap();
    stepup.attach_session("alice", stepup.flow().save());
    let handle = stepup
        .start(StepUpRequest::new("alice", "Pay", "Pay 10 CHF?"))
        .await
        .unwrap()
        .into_handle();
    // The error itself, as `check_handle` sees it: rate limited, with the server's hint.
    let err = stepup.check_handle(&handle).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(err.http_status(), Some(429));
    // Retries spent, the poll still answers 429: pending, with the server's hint.
    let status = stepup.check(&handle).await.unwrap();
    assert_eq!(
        status,
        PollStatus::Pending {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    // Waiting honours the hint and ends at the deadline as a timeout, not as a failed step-up.
    let before = clock.sleeps().len();
    let err = stepup
        .wait(
            &handle,
            &PollConfig::every(Duration::from_secs(1), Duration::from_secs(20)).with_jitter(0.0),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
    assert!(
        clock.sleeps()[before..].contains(&Duration::from_secs(7)),
        "{:?}",
        clock.sleeps()
    );
    // The step-up is still there: once the server answers again, it settles.
    server.reset().await;
    Mock::given(path("/rest/public/authentication/airlock-2fa/status/poll/"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"data":{"type":"authentication.session","id":"9","attributes":{}}}"#,
        ))
        .mount(&server)
        .await;
    match stepup.check(&handle).await.unwrap() {
        PollStatus::Ready(StepUpOutcome::Approved { .. }) => {}
        other => panic!("{other:?}"),
    }
}

/// One shared `auth_core::Config` configures the client (`config(&shared)`), the transport
/// setters are auth-core's (a caller's own `reqwest::Client` included), and `base_url(..)`
/// replaces the URL given to `builder`.
#[tokio::test]
async fn shared_config_base_url_and_own_reqwest_client() {
    let server = server_answering(
        200,
        r#"{"data":{"type":"authentication.session","id":"1","attributes":{}}}"#,
    )
    .await;
    let mut probe = http::HeaderMap::new();
    probe.insert("x-probe", http::HeaderValue::from_static("own-reqwest"));
    let own = auth_core::reqwest::Client::builder()
        .default_headers(probe)
        .redirect(auth_core::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let shared = auth_core::Config::new()
        .application("my-bank/2.1")
        .timeout(Duration::from_secs(5));
    let client = Client::builder("https://iam.example.com/auth")
        .config(&shared)
        .reqwest_client(own)
        .base_url(format!("{}/auth-login", server.uri()))
        .build()
        .unwrap();
    assert!(
        client
            .url("x")
            .as_str()
            .starts_with(&format!("{}/auth-login/rest/", server.uri()))
    );
    let step = client
        .flow()
        .check_password("jdoe", &Password::new(PASSWORD))
        .await
        .unwrap();
    assert!(step.is_done());
    let sent = server.received_requests().await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].url.path(),
        "/auth-login/rest/public/authentication/password/check/"
    );
    assert_eq!(
        sent[0].headers["x-probe"], "own-reqwest",
        "the caller's reqwest client"
    );
    let agent = sent[0].headers["user-agent"].to_str().unwrap();
    assert!(agent.starts_with("my-bank/2.1 airlock-iam/"), "{agent}");
    // A bad URL given to `base_url` is reported by `build`.
    let err = Client::builder("https://iam.example.com/auth")
        .base_url("http://not-loopback.example/auth")
        .build()
        .unwrap_err();
    assert!(
        matches!(err, Error::Core(auth_core::Error::Config(_))),
        "{err:?}"
    );
}
