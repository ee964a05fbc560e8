//! Negative cases: each gives a typed error, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::{Classify, ErrorKind, FakeClock};
use common::emu::setup;
use launchkey::JoseError;
use launchkey::emulator::{Emulator, Fault};
use launchkey::{
    AuthPolicy, AuthorizationRequest, Client, DenialReason, Error, Geofence, VerificationError as V,
};

fn verification(e: &Error) -> Option<&V> {
    match e {
        Error::ResponseVerification(v) => Some(v),
        _ => None,
    }
}

#[tokio::test]
async fn every_response_fault_is_a_typed_error() {
    let s = setup().await;
    // Warm the caches so that faults hit the call itself.
    s.client
        .authorize(&AuthorizationRequest::new("carol"))
        .await
        .unwrap();
    type Check = fn(&Error) -> bool;
    let cases: Vec<(Fault, Check)> = vec![
        (Fault::TamperBody, |e| {
            matches!(verification(e), Some(V::BodyHash(_)))
        }),
        (Fault::WrongBodyHash, |e| {
            matches!(verification(e), Some(V::BodyHash(_)))
        }),
        (Fault::OmitBodyHash, |e| {
            matches!(verification(e), Some(V::BodyHash(_)))
        }),
        (
            Fault::UnknownKid,
            |e| matches!(e, Error::ApiKeyNotFound { kid } if kid == "00:unknown:kid"),
        ),
        (Fault::ForeignSignature, |e| {
            matches!(verification(e), Some(V::Signature))
        }),
        (Fault::WrongAudience, |e| {
            matches!(verification(e), Some(V::Audience { .. }))
        }),
        (
            Fault::WrongIssuer,
            |e| matches!(verification(e), Some(V::Issuer { actual, .. }) if actual == "not-lka"),
        ),
        (Fault::WrongSubject, |e| {
            matches!(verification(e), Some(V::Subject { .. }))
        }),
        (Fault::WrongJti, |e| matches!(verification(e), Some(V::Jti))),
        (Fault::WrongStatusClaim, |e| {
            matches!(
                verification(e),
                Some(V::Status {
                    claim: 200,
                    http: 201
                })
            )
        }),
        (Fault::ExpiredToken, |e| {
            matches!(verification(e), Some(V::Expired))
        }),
        (Fault::FutureToken, |e| {
            matches!(verification(e), Some(V::NotYetValid))
        }),
        (Fault::MissingJwt, |e| {
            matches!(verification(e), Some(V::MissingToken))
        }),
        (
            Fault::AlgNone,
            |e| matches!(verification(e), Some(V::Algorithm(a)) if a == "none"),
        ),
        (Fault::TruncateJwe, |e| {
            matches!(e, Error::Decryption | Error::Jose(JoseError::Malformed(_)))
        }),
        (Fault::GarbleJwe, |e| matches!(e, Error::Decryption)),
        (Fault::BadTag, |e| matches!(e, Error::Decryption)),
        (Fault::PlainBody, |e| {
            matches!(e, Error::Jose(JoseError::Malformed(_)))
        }),
    ];
    for (fault, check) in cases {
        let name = format!("{fault:?}");
        s.emulator.inject(fault).unwrap();
        let err = s
            .client
            .authorize(&AuthorizationRequest::new("alice"))
            .await
            .unwrap_err();
        assert!(check(&err), "{name}: {err:?}");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("eyJ"), "{name} leaks a token: {shown}");
        // The request was created server-side though: cancel it so the next case can create.
        if let Some(id) = s.emulator.pending_request("alice") {
            s.client.cancel_authorization_request(&id).await.unwrap();
        }
    }
}

#[tokio::test]
async fn poll_answer_for_another_request_is_rejected() {
    let s = setup().await;
    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    s.emulator.approve(&id).unwrap();
    s.emulator.inject(Fault::WrongRequestId).unwrap();
    match s.client.get_authorization_response(&id).await.unwrap_err() {
        Error::AuthRequestMismatch { expected, actual } => {
            assert_eq!(expected, id);
            assert_ne!(actual, id.as_str());
        }
        other => panic!("{other:?}"),
    }
    s.emulator.inject(Fault::TamperBody).unwrap();
    let err = s.client.get_authorization_response(&id).await.unwrap_err();
    assert!(
        matches!(verification(&err), Some(V::BodyHash(_))),
        "{err:?}"
    );
    // Faults on body-less (204) responses too: a hash claim without a body.
    let other = s.authorize(&AuthorizationRequest::new("bob")).await;
    s.emulator.inject(Fault::WrongBodyHash).unwrap();
    let err = s
        .client
        .get_authorization_response(&other)
        .await
        .unwrap_err();
    assert!(
        matches!(verification(&err), Some(V::BodyHash(_))),
        "{err:?}"
    );
    s.emulator.inject(Fault::WrongStatusClaim).unwrap();
    let err = s
        .client
        .get_authorization_response(&other)
        .await
        .unwrap_err();
    assert!(
        matches!(
            verification(&err),
            Some(V::Status {
                claim: 200,
                http: 204
            })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn unregistered_service_is_unauthorized() {
    let s = setup().await;
    let stranger = Client::builder(common::new_service_id(), common::key_b())
        .base_url(s.emulator.base_url())
        .build()
        .unwrap();
    assert!(matches!(
        stranger
            .authorize(&AuthorizationRequest::new("alice"))
            .await,
        Err(Error::Unauthorized)
    ));
    assert!(s.emulator.received().is_empty());
}

#[tokio::test]
async fn local_clock_skew_is_corrected_by_ping() {
    let s = setup().await;
    let skewed = FakeClock::new(SystemTime::now() - Duration::from_secs(3600));
    let client = Client::builder(s.service_id, common::key_a())
        .base_url(s.emulator.base_url())
        .clock(Arc::new(skewed))
        .build()
        .unwrap();
    client
        .authorize(&AuthorizationRequest::new("alice"))
        .await
        .unwrap();
    let t = client.server_time().await.unwrap();
    let real = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((t - real).abs() <= 2, "{t} vs {real}");
}

#[tokio::test]
async fn invalid_request_options_send_nothing() {
    let s = setup().await;
    let dr = |id: &str, text: &str, fraud: bool| {
        if fraud {
            DenialReason::fraud(id, text)
        } else {
            DenialReason::not_fraud(id, text)
        }
    };
    let bad: Vec<(AuthorizationRequest, &str)> = vec![
        (AuthorizationRequest::new(""), "username"),
        (
            AuthorizationRequest::new("alice").ttl(Duration::from_secs(29)),
            "ttl",
        ),
        (
            AuthorizationRequest::new("alice").ttl(Duration::from_secs(601)),
            "ttl",
        ),
        (
            AuthorizationRequest::new("alice").context("x".repeat(401)),
            "context",
        ),
        (
            AuthorizationRequest::new("alice").title("x".repeat(201)),
            "title",
        ),
        (
            AuthorizationRequest::new("alice").push_title("x".repeat(401)),
            "push_title",
        ),
        (
            AuthorizationRequest::new("alice").push_body("x".repeat(401)),
            "push_body",
        ),
        (
            AuthorizationRequest::new("alice").denial_reasons(vec![dr("1", "a", true)]),
            "denial_reasons",
        ),
        (
            AuthorizationRequest::new("alice")
                .denial_reasons(vec![dr("123456", "a", true), dr("2", "b", false)]),
            "denial_reasons",
        ),
        (
            AuthorizationRequest::new("alice")
                .denial_reasons(vec![dr("1", "a", true), dr("1", "b", false)]),
            "denial_reasons",
        ),
        (
            AuthorizationRequest::new("alice")
                .denial_reasons(vec![dr("1", "a", true), dr("2", "a", false)]),
            "denial_reasons",
        ),
        (
            AuthorizationRequest::new("alice")
                .denial_reasons(vec![dr("1", "a", false), dr("2", "b", false)]),
            "denial_reasons",
        ),
        (
            AuthorizationRequest::new("alice")
                .denial_reasons(vec![dr("1", "a", true), dr("2", "b", true)]),
            "denial_reasons",
        ),
        (
            AuthorizationRequest::new("alice").policy(AuthPolicy::factor_count(0)),
            "policy.any",
        ),
        (
            AuthorizationRequest::new("alice").policy({
                let mut none = AuthPolicy::new();
                none.factors = launchkey::FactorRequirement::Types {
                    knowledge: false,
                    inherence: false,
                    possession: false,
                };
                none
            }),
            "policy.types",
        ),
        (
            AuthorizationRequest::new("alice")
                .policy(AuthPolicy::new().geofence(Geofence::new(0.0, 0.0, -1.0))),
            "policy.geofence",
        ),
    ];
    for (req, want) in bad {
        match s.client.authorize(&req).await {
            Err(Error::InvalidRequest { field, .. }) => assert_eq!(field, want),
            other => panic!("{want}: {other:?}"),
        }
    }
    assert!(matches!(
        s.client.session_start(" ", None).await,
        Err(Error::InvalidRequest { .. })
    ));
    assert!(matches!(
        s.client.session_end("").await,
        Err(Error::InvalidRequest { .. })
    ));
    assert!(matches!(
        s.client.verify_totp("", "1").await,
        Err(Error::InvalidRequest { .. })
    ));
    assert!(s.emulator.received().is_empty(), "nothing may be sent");
}

#[tokio::test]
async fn webhook_rejections() {
    let s = setup().await;
    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    s.emulator.approve(&id).unwrap();
    let wh = s
        .emulator
        .authorization_webhook(&id, "/launchkey/webhook")
        .unwrap();
    let c = &s.client;
    let (h, b, p) = (wh.headers(), wh.body(), wh.uri().path());
    assert!(
        c.handle_webhook(&common::webhook(h, b, "POST", p))
            .await
            .is_ok()
    );

    let err = c
        .handle_webhook(&common::webhook(h, b, "PUT", p))
        .await
        .unwrap_err();
    assert!(
        matches!(verification(&err), Some(V::Method { .. })),
        "{err:?}"
    );
    let err = c
        .handle_webhook(&common::webhook(h, b, "POST", "/launchkey/webhook2"))
        .await
        .unwrap_err();
    assert!(
        matches!(verification(&err), Some(V::Path { .. })),
        "{err:?}"
    );
    let mut tampered = b.clone();
    let n = tampered.len() - 3;
    tampered[n] = if tampered[n] == b'A' { b'B' } else { b'A' };
    let err = c
        .handle_webhook(&common::webhook(h, &tampered, "POST", p))
        .await
        .unwrap_err();
    assert!(
        matches!(verification(&err), Some(V::BodyHash(_))),
        "{err:?}"
    );
    let err = c
        .handle_webhook(&common::webhook(h, b"", "POST", p))
        .await
        .unwrap_err();
    assert!(
        matches!(verification(&err), Some(V::BodyHash(_))),
        "{err:?}"
    );
    let err = c
        .handle_webhook(&common::webhook(&http::HeaderMap::new(), b, "POST", p))
        .await
        .unwrap_err();
    assert!(
        matches!(verification(&err), Some(V::MissingToken)),
        "{err:?}"
    );
    let mut garbled_token = h.clone();
    garbled_token.insert("x-iov-jwt", "not.a.jwt".parse().unwrap());
    assert!(matches!(
        verification(
            &c.handle_webhook(&common::webhook(&garbled_token, b, "POST", p))
                .await
                .unwrap_err()
        ),
        Some(V::Malformed(_))
    ));

    // A webhook for another service: wrong audience.
    let other_id = common::new_service_id();
    s.emulator
        .register_service(other_id, common::SERVICE_B_PUB)
        .unwrap();
    let other = Client::builder(other_id, common::key_b())
        .base_url(s.emulator.base_url())
        .build()
        .unwrap();
    let err = other
        .handle_webhook(&common::webhook(h, b, "POST", p))
        .await
        .unwrap_err();
    assert!(
        matches!(verification(&err), Some(V::Audience { .. })),
        "{err:?}"
    );

    // Expired / future tokens: clients whose clocks are far off (and never pinged).
    for (offset, want_expired) in [(600i64, true), (-600, false)] {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + offset;
        let late = Client::builder(s.service_id, common::key_a())
            .base_url(s.emulator.base_url())
            .clock(Arc::new(FakeClock::at_unix(now as u64)))
            .build()
            .unwrap();
        let err = late
            .handle_webhook(&common::webhook(h, b, "POST", p))
            .await
            .unwrap_err();
        let v = verification(&err).cloned();
        assert_eq!(
            v,
            Some(if want_expired {
                V::Expired
            } else {
                V::NotYetValid
            }),
            "{err:?}"
        );
    }
}

/// Bodies whose JWE is truncated, garbled or has a bad tag, each re-signed with a matching
/// hash by the "API", so that only decryption can notice.
#[tokio::test]
async fn webhook_bad_jwe_bodies() {
    let s = setup().await;
    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    s.emulator.approve(&id).unwrap();
    let good = s.emulator.authorization_webhook(&id, "/wh").unwrap();
    let text = String::from_utf8(good.body().clone()).unwrap();
    let parts: Vec<&str> = text.split('.').collect();
    let flip = |i: usize| {
        let mut p: Vec<String> = parts.iter().map(|x| x.to_string()).collect();
        let mut bytes = launchkey::hazmat::b64d(&p[i]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        p[i] = launchkey::hazmat::b64e(&bytes);
        p.join(".")
    };
    type Check = fn(&Error) -> bool;
    let cases: Vec<(String, Check)> = vec![
        (parts[..4].join("."), |e| {
            matches!(e, Error::Jose(JoseError::Malformed(_)))
        }),
        (text[..text.len() / 2].to_owned(), |e| {
            matches!(e, Error::Jose(_) | Error::Decryption)
        }),
        (flip(3), |e| matches!(e, Error::Decryption)),
        (flip(4), |e| matches!(e, Error::Decryption)),
        (flip(1), |e| matches!(e, Error::Decryption)),
        (
            format!(
                "{}.{}",
                launchkey::hazmat::b64e(br#"{"alg":"RSA1_5","enc":"A256CBC-HS512"}"#),
                parts[1..].join(".")
            ),
            |e| matches!(e, Error::Jose(JoseError::UnsupportedAlgorithm(_))),
        ),
    ];
    for (body, check) in cases {
        let wh = s.emulator.resign_webhook(&good, body.into_bytes()).unwrap();
        let err = s
            .client
            .handle_webhook(&common::at(&wh, "POST", "/wh"))
            .await
            .unwrap_err();
        assert!(check(&err), "{err:?}");
    }
    // An unknown webhook type is typed, not a panic.
    let wh = s
        .emulator
        .encrypted_webhook(
            s.service_id,
            common::SERVICE_A_PUB,
            "/wh",
            &serde_json::json!({"type": "DEVICE_LINK_COMPLETION", "device_id": "x"}),
        )
        .unwrap();
    assert!(matches!(
        s.client.handle_webhook(&common::at(&wh, "POST", "/wh")).await,
        Err(Error::UnsupportedWebhook { kind }) if kind == "DEVICE_LINK_COMPLETION"
    ));
}

#[tokio::test]
async fn no_secret_in_debug_or_display() {
    let s = setup().await;
    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    let mut answer = launchkey::emulator::PhoneAnswer::new(
        launchkey::AuthResponseType::Authorized,
        launchkey::AuthResponseReason::Approved,
    );
    answer.service_pins = vec!["914273".into(), "605118".into()];
    s.emulator.respond(&id, answer).unwrap();
    let wh = s.emulator.authorization_webhook(&id, "/wh").unwrap();
    let package = s
        .client
        .handle_webhook(&common::at(&wh, "POST", "/wh"))
        .await
        .unwrap();
    let polled = s.client.get_authorization_response(&id).await.unwrap();
    match &package {
        launchkey::WebhookPackage::AuthorizationResponse(r) => {
            assert_eq!(r.service_pins, ["914273", "605118"]);
        }
        other => panic!("{other:?}"),
    }
    let token = wh
        .headers()
        .get("x-iov-jwt")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let key = common::key_a();
    let pem_lines: Vec<&str> = common::SERVICE_A_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let builder = Client::builder(s.service_id, common::key_a());
    let shown = [
        format!("{key:?}"),
        format!("{:?}", s.client),
        format!("{builder:?}"),
        format!("{wh:?}"),
        format!("{:?}", s.emulator),
        format!("{:?}", Error::InvalidKey { reason: "x".into() }),
        format!("{package:?}"),
        format!("{polled:?}"),
        format!(
            "{:?}",
            launchkey::ServicePrivateKey::from_pem(
                "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----\n"
            )
            .unwrap_err()
        ),
    ]
    .join("\n");
    for line in pem_lines {
        assert!(
            !shown.contains(line),
            "private key material in Debug output"
        );
    }
    assert!(!shown.contains(&token[..40]), "token in Debug output");
    assert!(!shown.contains("MII"), "{shown}");
    assert!(
        !shown.contains("914273") && !shown.contains("605118"),
        "service PINs in Debug output: {shown}"
    );
    assert!(shown.contains("[2 redacted]"), "{shown}");
    assert!(shown.contains(key.kid().as_str()));
}

#[tokio::test]
async fn emulator_rejects_tampered_requests() {
    // Requests signed for another path or with a wrong body hash get 401 from the emulator: a
    // raw request built by hand, sent over real HTTP.
    let emulator = Emulator::start().await.unwrap();
    let id = common::new_service_id();
    emulator
        .register_service(id, common::SERVICE_A_PUB)
        .unwrap();
    let key = common::key_a();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "iss": id.entity(), "sub": id.entity(), "aud": "lka", "iat": now, "nbf": now, "exp": now + 5,
        "jti": uuid::Uuid::new_v4().to_string(), "request": {"meth": "GET", "path": "/service/v3/auths/other"},
    });
    let token = key
        .sign_jws(
            launchkey::JwsAlgorithm::RS256,
            claims.to_string().as_bytes(),
        )
        .unwrap();
    let id_path = format!(
        "{}/service/v3/auths/{}",
        emulator.base_url(),
        uuid::Uuid::new_v4()
    );
    let resp = reqwest::Client::new()
        .get(id_path)
        .header("Authorization", format!("IOV-JWT {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert!(emulator.received().is_empty());
}

#[tokio::test]
async fn unknown_api_kids_are_fetched_once_and_never_with_path_tricks() {
    use wiremock::matchers::{method, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex("^/public/v3/public-key/.+$"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder(common::new_service_id(), common::key_a())
        .base_url(server.uri())
        .build()
        .unwrap();
    for _ in 0..3 {
        assert!(matches!(
            client.api_key("00:11:22").await,
            Err(Error::ApiKeyNotFound { .. })
        ));
    }
    for tricky in ["../../x", "a?b", "a#b", "a%2Fb", "a b", ""] {
        assert!(
            matches!(
                client.api_key(tricky).await,
                Err(Error::ApiKeyNotFound { .. })
            ),
            "{tricky}"
        );
    }
    // `.expect(1)` is checked when the server drops: one request for the unknown kid, none for
    // the tricky ones, none for the repeats (negative cache).
}

#[test]
fn weak_and_non_rsa_keys_are_rejected() {
    for (name, pem) in [
        (
            "rsa-1024",
            include_str!("../../../../fixtures/launchkey/keys/weak-rsa-1024.pem"),
        ),
        (
            "ec-p256",
            include_str!("../../../../fixtures/launchkey/keys/ec-p256-pkcs8.pem"),
        ),
    ] {
        let err = launchkey::ServicePrivateKey::from_pem(pem).unwrap_err();
        assert!(matches!(err, Error::InvalidKey { .. }), "{name}: {err:?}");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("MII"), "{name}: {shown}");
    }
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_with_a_typed_error() {
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let client = Client::builder(common::new_service_id(), common::key_a())
        .base_url(server.uri())
        .http_config(auth_core::HttpConfig {
            timeout: Duration::from_millis(300),
            ..auth_core::HttpConfig::default()
        })
        .retry(auth_core::RetryPolicy {
            max_attempts: 1,
            ..auth_core::RetryPolicy::default()
        })
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client
        .authorize(&AuthorizationRequest::new("alice"))
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Core(e) if e.is_timeout()), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn unknown_kid_fetches_are_rate_limited() {
    use wiremock::matchers::{method, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let limit = launchkey::limits::MAX_KID_FETCHES_PER_WINDOW;
    Mock::given(method("GET"))
        .and(path_regex("^/public/v3/public-key/.+$"))
        .respond_with(ResponseTemplate::new(404))
        .expect(limit as u64 + 1)
        .mount(&server)
        .await;
    let clock = Arc::new(FakeClock::at_unix(1_700_000_000));
    let client = Client::builder(common::new_service_id(), common::key_a())
        .base_url(server.uri())
        .clock(clock.clone())
        .build()
        .unwrap();
    // A flood of random kids (forged webhooks): only `limit` reach the API.
    for i in 0..limit {
        let err = client.api_key(&format!("kid-{i}")).await.unwrap_err();
        assert!(matches!(err, Error::ApiKeyNotFound { .. }), "{err:?}");
    }
    for i in limit..limit + 5 {
        let err = client.api_key(&format!("kid-{i}")).await.unwrap_err();
        assert!(
            matches!(&err, Error::ApiKeyFetchThrottled { kid } if kid == &format!("kid-{i}")),
            "{err:?}"
        );
        assert!(err.is_retryable() && err.kind() == ErrorKind::RateLimited);
    }
    // A kid already known to be missing is answered from the negative cache, not throttled.
    assert!(matches!(
        client.api_key("kid-0").await,
        Err(Error::ApiKeyNotFound { .. })
    ));
    // Once the window has passed, a new kid is fetched again (the `limit + 1`-th request).
    clock.advance(launchkey::limits::KID_FETCH_WINDOW);
    assert!(matches!(
        client.api_key("kid-late").await,
        Err(Error::ApiKeyNotFound { .. })
    ));
    // `.expect(limit + 1)` is checked when the server drops.
}

#[tokio::test]
async fn status_classification_helpers() {
    let s = setup().await;
    s.client
        .authorize(&AuthorizationRequest::new("carol"))
        .await
        .unwrap();
    for (status, kind) in [
        (401u16, ErrorKind::Unauthorized),
        (429, ErrorKind::RateLimited),
        (500, ErrorKind::Protocol),
        (503, ErrorKind::Transport),
    ] {
        let mut n = 1;
        s.emulator.inject(Fault::Status(status)).unwrap();
        // 401 is re-signed once; 429/503 on a POST are never retried.
        if status == 401 {
            s.emulator.inject(Fault::Status(status)).unwrap();
            n = 2;
        }
        let before = s.emulator.received().len();
        let err = s
            .client
            .authorize(&AuthorizationRequest::new("alice"))
            .await
            .unwrap_err();
        assert_eq!(err.http_status(), Some(status), "{err:?}");
        assert_eq!(err.kind(), kind, "{status}: {err:?}");
        assert_eq!(err.is_retryable(), matches!(status, 429 | 503), "{err:?}");
        assert_eq!(s.emulator.received().len() - before, n, "{status}");
        assert_eq!(s.emulator.pending_request("alice"), None);
    }
}

/// One way to say each failure: an auth-core status this crate gives a meaning to becomes the
/// crate's own variant, whoever built it; the classification is the same either way.
#[test]
fn one_way_to_say_each_status() {
    for (status, expected) in [
        (401u16, "unauthorized (HTTP 401)"),
        (403, "forbidden (HTTP 403)"),
        (404, "not found (HTTP 404)"),
        (408, "authorization request expired (HTTP 408)"),
        (409, "conflict (HTTP 409)"),
        (429, "rate limited (HTTP 429)"),
    ] {
        let core = auth_core::Error::status(status, b"", &[]);
        let core_kind = core.kind();
        let err = Error::from(core);
        assert_eq!(err.to_string(), expected);
        assert!(!matches!(err, Error::Core(_)), "{err:?}");
        assert_eq!(err.http_status(), Some(status));
        if status != 408 {
            assert_eq!(err.kind(), core_kind, "{status}");
        }
    }
    let err = Error::from(auth_core::Error::status(503, b"busy", &[]));
    assert!(matches!(
        err,
        Error::Core(auth_core::Error::Status { status: 503, .. })
    ));
    assert!(err.is_retryable() && err.kind() == ErrorKind::Transport);
    // Rate limits carry the wait to use; an expired request is a timeout, not retryable.
    let limited = Error::RateLimited { retry_after: None };
    assert_eq!(
        limited.retry_after(),
        Some(launchkey::limits::RATE_LIMIT_BACKOFF)
    );
    assert!(limited.is_retryable());
    assert_eq!(Error::AuthorizationExpired.kind(), ErrorKind::Timeout);
    assert!(!Error::AuthorizationExpired.is_retryable());
    // Codes are the provider's own; configuration mistakes are configuration errors.
    assert_eq!(
        Error::AuthorizationCanceled.provider_code(),
        Some("SVC-007")
    );
    assert_eq!(Error::AuthorizationCanceled.kind(), ErrorKind::Cancelled);
    assert_eq!(
        Error::PolicyFailure {
            detail: String::new()
        }
        .kind(),
        ErrorKind::Rejected
    );
    let bad = Error::from(launchkey::ServiceId::parse("not a uuid").unwrap_err());
    assert_eq!(bad.kind(), ErrorKind::Configuration);
    assert!(
        matches!(bad, Error::Core(auth_core::Error::Config(_))),
        "{bad:?}"
    );
}
