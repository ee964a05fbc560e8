//! Every call against the emulator over real loopback sockets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use auth_core::poll::PollConfig;
use auth_core::{Classify, FakeClock, StepUp, StepUpOutcome, StepUpRequest};
use common::emu::setup;
use launchkey::emulator::{Emulator, PhoneAnswer};
use launchkey::{
    AuthPolicy, AuthResponseReason, AuthResponseType, AuthorizationPoll, AuthorizationRequest,
    Client, DenialReason, Error, Geofence, JweAlgorithm, JwsAlgorithm, WebhookPackage,
};

async fn poll(client: &Client, id: &launchkey::AuthRequestId) -> launchkey::AuthorizationResponse {
    match client.get_authorization_response(id).await.unwrap() {
        AuthorizationPoll::Responded(r) => *r,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn create_poll_approve_with_every_field() {
    let s = setup().await;
    let req = AuthorizationRequest::new("alice")
        .context("Log in to ACME")
        .ttl(Duration::from_secs(120))
        .policy(
            AuthPolicy::new()
                .require_knowledge()
                .require_possession()
                .geofence(Geofence::new(36.1, -115.1, 200.0)),
        );
    let created = s.client.authorize(&req).await.unwrap();
    assert_eq!(created.device_ids.len(), 1);
    assert_eq!(created.push_package, None);
    assert_eq!(
        s.emulator.pending_request("alice"),
        Some(created.id.clone())
    );
    assert_eq!(
        s.client
            .get_authorization_response(&created.id)
            .await
            .unwrap(),
        AuthorizationPoll::Pending
    );

    s.emulator.approve(&created.id).unwrap();
    let r = poll(&s.client, &created.id).await;
    assert!(r.authorized && !r.fraud && !r.legacy_package);
    assert_eq!(r.authorization_request_id, created.id.as_str());
    assert_eq!(r.response_type, Some(AuthResponseType::Authorized));
    assert_eq!(r.reason, Some(AuthResponseReason::Approved));
    assert_eq!(r.device_id.as_deref(), Some(created.device_ids[0].as_str()));
    assert_eq!(r.service_pins, ["1234", "3456", "5678"]);
    assert!(r.service_user_hash.starts_with("suh"));
    assert!(
        r.organization_user_hash
            .as_deref()
            .unwrap()
            .starts_with("ouh")
    );
    assert!(r.user_push_id.starts_with("upi"));
    // The device reports the policy the request asked for.
    let policy = r.policy.as_ref().unwrap();
    assert_eq!(
        policy.requirement,
        Some(launchkey::PolicyRequirement::Types)
    );
    assert!(policy.knowledge_required() && policy.possession_required());
    assert!(!policy.inherence_required());
    assert_eq!(
        policy.geofences,
        [launchkey::Fence::Circle {
            name: None,
            latitude: 36.1,
            longitude: -115.1,
            radius: 200.0
        }]
    );
    assert_eq!(r.auth_methods.len(), 2);
    assert_eq!(r.auth_methods[0].passed, Some(true));
    assert_eq!(r.auth_methods[1].passed, None);
    // The 200 is not delivered only once.
    assert_eq!(poll(&s.client, &created.id).await, r);
    // No longer pending: a new request may be made.
    assert_eq!(s.emulator.pending_request("alice"), None);
    s.client
        .authorize(&AuthorizationRequest::new("alice"))
        .await
        .unwrap();
}

#[tokio::test]
async fn wire_shape_matches_the_platform() {
    let s = setup().await;
    let req = AuthorizationRequest::new("alice")
        .context("c")
        .title("t")
        .ttl(Duration::from_secs(60))
        .push_title("pt")
        .push_body("pb")
        .policy(AuthPolicy::factor_count(2))
        .denial_reasons(vec![
            DenialReason::fraud("1", "fraud"),
            DenialReason::not_fraud("2", "no"),
        ]);
    let created = s.client.authorize(&req).await.unwrap();
    assert!(created.push_package.is_some());
    s.client
        .get_authorization_response(&created.id)
        .await
        .unwrap();
    let calls = s.emulator.received();
    let create = &calls[0];
    assert_eq!(
        (create.method.as_str(), create.path.as_str()),
        ("POST", "/service/v3/auths")
    );
    assert_eq!(create.content_type.as_deref(), Some("application/jose"));
    assert_eq!(create.jws_alg, "RS512");
    let c = &create.claims;
    let entity = s.service_id.entity();
    assert_eq!(c["iss"], entity.as_str());
    assert_eq!(c["sub"], entity.as_str());
    assert_eq!(c["aud"], "lka");
    assert_eq!(c["iat"], c["nbf"]);
    assert_eq!(c["exp"].as_i64().unwrap(), c["iat"].as_i64().unwrap() + 5);
    assert_eq!(
        uuid::Uuid::parse_str(c["jti"].as_str().unwrap())
            .unwrap()
            .get_version_num(),
        4
    );
    assert_eq!(c["request"]["meth"], "POST");
    assert_eq!(c["request"]["path"], "/service/v3/auths");
    assert_eq!(c["request"]["func"], "S256");
    assert_eq!(c["request"]["hash"].as_str().unwrap().len(), 64);
    let h = create.jwe_header.as_ref().unwrap();
    assert_eq!(h["alg"], "RSA-OAEP-256");
    assert_eq!(h["enc"], "A256CBC-HS512");
    assert_eq!(h["kid"], s.emulator.api_kid().as_str());
    let body = create.body.as_ref().unwrap();
    let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "context",
            "denial_reasons",
            "policy",
            "push_body",
            "push_title",
            "title",
            "ttl",
            "username"
        ]
    );
    assert_eq!(body["policy"]["minimum_requirements"][0]["any"], 2);
    let poll = &calls[1];
    assert_eq!(poll.method, "GET");
    assert_eq!(poll.path, format!("/service/v3/auths/{}", created.id));
    assert_eq!(poll.content_type.as_deref(), Some("application/jwt"));
    assert!(poll.claims["request"].get("func").is_none() && poll.body.is_none());
}

#[tokio::test]
async fn python_style_algorithms_and_second_key() {
    let emulator = Emulator::start().await.unwrap();
    let id = common::new_service_id();
    emulator
        .register_service(id, common::SERVICE_A_PUB)
        .unwrap();
    emulator
        .register_service(id, common::SERVICE_B_PUB)
        .unwrap();
    emulator.add_user("alice");
    emulator.set_response_jwe_algorithm(JweAlgorithm::RsaOaep256);
    emulator.set_response_jws_algorithm(JwsAlgorithm::RS512);
    for (alg, jwe) in [
        (JwsAlgorithm::RS256, JweAlgorithm::RsaOaep),
        (JwsAlgorithm::RS384, JweAlgorithm::RsaOaep256),
    ] {
        // Signs with key B (PKCS#8); key A stays configured for rotation.
        let client = Client::builder(id, common::key_b())
            .additional_key(common::key_a())
            .base_url(emulator.base_url())
            .jws_algorithm(alg)
            .jwe_algorithm(jwe)
            .build()
            .unwrap();
        let created = client
            .authorize(&AuthorizationRequest::new("alice"))
            .await
            .unwrap();
        emulator.deny(&created.id, None).unwrap();
        let r = poll(&client, &created.id).await;
        assert!(!r.authorized && !r.fraud);
        let last = emulator
            .received()
            .into_iter()
            .rev()
            .find(|c| c.method == "POST")
            .unwrap();
        assert_eq!(last.jws_alg, alg.as_str());
    }
    let calls = emulator.received();
    assert_eq!(calls[0].jwe_header.as_ref().unwrap()["alg"], "RSA-OAEP");
    assert_eq!(calls[0].jws_alg, "RS256");
    assert_eq!(calls[2].jwe_header.as_ref().unwrap()["alg"], "RSA-OAEP-256");
    assert_eq!(calls[2].jws_alg, "RS384");
}

#[tokio::test]
async fn deny_deny_fraud_and_fail() {
    let s = setup().await;
    let reasons = vec![
        DenialReason::fraud("F1", "Not me"),
        DenialReason::not_fraud("N1", "Changed my mind"),
    ];
    let id = s
        .authorize(&AuthorizationRequest::new("alice").denial_reasons(reasons.clone()))
        .await;
    s.emulator.deny(&id, Some("N1")).unwrap();
    let r = poll(&s.client, &id).await;
    assert!(!r.authorized && !r.fraud);
    assert_eq!(r.reason, Some(AuthResponseReason::Disapproved));
    assert_eq!(r.denial_reason.as_deref(), Some("N1"));

    let id = s
        .authorize(&AuthorizationRequest::new("bob").denial_reasons(reasons))
        .await;
    s.emulator.deny_fraud(&id, Some("F1")).unwrap();
    let r = poll(&s.client, &id).await;
    assert!(!r.authorized && r.fraud);
    assert_eq!(r.response_type, Some(AuthResponseType::Denied));
    assert_eq!(r.denial_reason.as_deref(), Some("F1"));

    let id = s.authorize(&AuthorizationRequest::new("carol")).await;
    s.emulator.fail(&id, AuthResponseReason::Sensor).unwrap();
    let r = poll(&s.client, &id).await;
    assert!(!r.authorized);
    assert_eq!(r.response_type, Some(AuthResponseType::Failed));
    assert_eq!(r.reason, Some(AuthResponseReason::Sensor));
}

#[tokio::test]
async fn authorized_but_not_approved_fails_closed_and_unknown_values_survive() {
    let s = setup().await;
    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    let mut answer = PhoneAnswer::new(
        AuthResponseType::Authorized,
        AuthResponseReason::Other("NEW_REASON".into()),
    );
    answer.auth_methods = serde_json::json!([{"method": "IRIS"}]);
    s.emulator.respond(&id, answer).unwrap();
    let r = poll(&s.client, &id).await;
    assert!(
        !r.authorized,
        "AUTHORIZED without APPROVED must not count as approved"
    );
    assert_eq!(
        r.reason,
        Some(AuthResponseReason::Other("NEW_REASON".into()))
    );
    assert_eq!(
        r.auth_methods[0].method,
        launchkey::AuthMethodType::Other("IRIS".into())
    );
}

#[tokio::test]
async fn legacy_auth_package_decodes() {
    let s = setup().await;
    s.emulator.set_legacy_packages(true);
    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    s.emulator.approve(&id).unwrap();
    let r = poll(&s.client, &id).await;
    assert!(r.authorized && r.legacy_package);
    assert_eq!(r.response_type, None);
    assert_eq!(r.service_pins.len(), 3);
    let id = s.authorize(&AuthorizationRequest::new("bob")).await;
    s.emulator.deny(&id, None).unwrap();
    assert!(!poll(&s.client, &id).await.authorized);
}

#[tokio::test]
async fn one_pending_request_per_user() {
    let s = setup().await;
    let first = s
        .client
        .authorize(&AuthorizationRequest::new("alice").ttl(Duration::from_secs(60)))
        .await
        .unwrap();
    match s
        .client
        .authorize(&AuthorizationRequest::new("alice"))
        .await
        .unwrap_err()
    {
        Error::AuthorizationInProgress(p) => {
            assert_eq!(p.auth_request, first.id.as_str());
            assert!(p.from_same_service);
            let expires = p.expires.unwrap();
            let in_secs = expires
                .duration_since(std::time::SystemTime::now())
                .unwrap()
                .as_secs();
            assert!((50..=61).contains(&in_secs), "{in_secs}");
        }
        other => panic!("{other:?}"),
    }
    // Another service sees from_same_service = false.
    let other_id = common::new_service_id();
    s.emulator
        .register_service(other_id, common::SERVICE_B_PUB)
        .unwrap();
    let other = Client::builder(other_id, common::key_b())
        .base_url(s.emulator.base_url())
        .build()
        .unwrap();
    match other
        .authorize(&AuthorizationRequest::new("alice"))
        .await
        .unwrap_err()
    {
        Error::AuthorizationInProgress(p) => assert!(!p.from_same_service),
        e => panic!("{e:?}"),
    }
    // After expiry (poll 408) the user is unblocked.
    s.emulator.expire(&first.id).unwrap();
    assert_eq!(
        s.client
            .get_authorization_response(&first.id)
            .await
            .unwrap(),
        AuthorizationPoll::TimedOut
    );
    s.client
        .authorize(&AuthorizationRequest::new("alice"))
        .await
        .unwrap();
}

#[tokio::test]
async fn ttl_expiry_on_a_shared_fake_clock() {
    let clock = FakeClock::at_unix(1_800_000_000);
    let emulator = Emulator::builder()
        .clock(Arc::new(clock.clone()))
        .start()
        .await
        .unwrap();
    let id = common::new_service_id();
    emulator
        .register_service(id, common::SERVICE_A_PUB)
        .unwrap();
    emulator.add_user("alice");
    let client = Client::builder(id, common::key_a())
        .base_url(emulator.base_url())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let created = client
        .authorize(&AuthorizationRequest::new("alice").ttl(Duration::from_secs(30)))
        .await
        .unwrap();
    clock.advance(Duration::from_secs(29));
    assert_eq!(
        client
            .get_authorization_response(&created.id)
            .await
            .unwrap(),
        AuthorizationPoll::Pending
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        client
            .get_authorization_response(&created.id)
            .await
            .unwrap(),
        AuthorizationPoll::TimedOut
    );
    assert!(matches!(
        client.cancel_authorization_request(&created.id).await,
        Err(Error::AuthorizationExpired)
    ));
    // wait_for_response ends with AuthorizationExpired.
    let second = client
        .authorize(&AuthorizationRequest::new("alice").ttl(Duration::from_secs(30)))
        .await
        .unwrap();
    let cfg = PollConfig::every(Duration::from_secs(5), Duration::from_secs(120));
    assert!(matches!(
        client.wait_for_response(&second.id, &cfg).await,
        Err(Error::AuthorizationExpired)
    ));
}

#[tokio::test]
async fn wait_for_response_returns_the_answer() {
    let s = setup().await;
    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    let (emulator, id2) = (&s.emulator, id.clone());
    let answer = async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        emulator.approve(&id2).unwrap();
    };
    let cfg = PollConfig::every(Duration::from_millis(50), Duration::from_secs(10));
    let (r, ()) = tokio::join!(s.client.wait_for_response(&id, &cfg), answer);
    assert!(r.unwrap().authorized);
}

#[tokio::test]
async fn unknown_request_polls_as_pending() {
    let s = setup().await;
    let unknown = launchkey::AuthRequestId::parse(&uuid::Uuid::new_v4().to_string()).unwrap();
    assert_eq!(
        s.client.get_authorization_response(&unknown).await.unwrap(),
        AuthorizationPoll::Pending
    );
    assert!(matches!(
        s.client.cancel_authorization_request(&unknown).await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn cancel_then_poll_and_cancel_again() {
    let s = setup().await;
    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    s.client.cancel_authorization_request(&id).await.unwrap();
    assert!(matches!(
        s.client.get_authorization_response(&id).await,
        Err(Error::AuthorizationCanceled)
    ));
    assert!(matches!(
        s.client.cancel_authorization_request(&id).await,
        Err(Error::AuthorizationCanceled)
    ));
    assert_eq!(s.emulator.pending_request("alice"), None);
    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    s.emulator.approve(&id).unwrap();
    assert!(matches!(
        s.client.cancel_authorization_request(&id).await,
        Err(Error::AuthorizationResponseExists)
    ));
}

#[tokio::test]
async fn sessions_start_and_end() {
    let s = setup().await;
    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    s.emulator.approve(&id).unwrap();
    s.client.session_start("alice", Some(&id)).await.unwrap();
    assert!(s.emulator.has_session(s.service_id, "alice"));
    s.client.session_start("bob", None).await.unwrap();
    s.client.session_end("alice").await.unwrap();
    assert!(!s.emulator.has_session(s.service_id, "alice"));
    // Ending again (no open session) is fine; the DELETE carried a JWE body.
    s.client.session_end("alice").await.unwrap();
    let del = s
        .emulator
        .received()
        .into_iter()
        .find(|c| c.method == "DELETE")
        .unwrap();
    assert_eq!(del.body.unwrap(), serde_json::json!({"username": "alice"}));
    assert!(matches!(
        s.client.session_start("nobody", None).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        s.client.session_end("nobody").await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn totp_verify() {
    let s = setup().await;
    s.emulator.set_totp("alice", "123456");
    assert!(s.client.verify_totp("alice", "123456").await.unwrap());
    assert!(!s.client.verify_totp("alice", "654321").await.unwrap());
    assert!(matches!(
        s.client.verify_totp("nobody", "123456").await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        s.client.verify_totp("alice", "12345a").await,
        Err(Error::InvalidRequest { field: "otp", .. })
    ));
}

#[tokio::test]
async fn unknown_user_is_not_found() {
    let s = setup().await;
    assert!(matches!(
        s.client
            .authorize(&AuthorizationRequest::new("mallory"))
            .await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn every_api_error_code_is_typed() {
    use launchkey::emulator::Fault;
    let s = setup().await;
    type Check = fn(&Error) -> bool;
    let cases: Vec<(u16, &str, Check)> = vec![
        (
            400,
            "ARG-001",
            |e| matches!(e, Error::InvalidParameters { detail } if detail == "emulated"),
        ),
        (400, "ARG-002", |e| matches!(e, Error::InvalidRoute { .. })),
        (400, "SVC-002", |e| matches!(e, Error::InvalidPolicy { .. })),
        (400, "SVC-003", |e| matches!(e, Error::PolicyFailure { .. })),
        (400, "SVC-004", |e| matches!(e, Error::ServiceNotFound)),
        (400, "SVC-006", |e| {
            matches!(e, Error::AuthorizationResponseExists)
        }),
        (400, "SVC-007", |e| {
            matches!(e, Error::AuthorizationCanceled)
        }),
        (400, "DIR-001", |e| {
            matches!(e, Error::InvalidDirectoryIdentifier)
        }),
        (
            400,
            "KEY-003",
            |e| matches!(e, Error::Api { status: 400, code, .. } if code == "KEY-003"),
        ),
        (409, "SVC-001", |e| {
            matches!(e, Error::Api { status: 409, .. })
        }),
    ];
    for (status, code, check) in cases {
        s.emulator
            .inject(Fault::ApiError(status, code.into()))
            .unwrap();
        let err = s
            .client
            .authorize(&AuthorizationRequest::new("alice"))
            .await
            .unwrap_err();
        assert!(check(&err), "{code}: {err:?}");
        assert_eq!(err.provider_code(), Some(code));
    }
    let statuses: Vec<(u16, Check)> = vec![
        (403, |e| matches!(e, Error::Forbidden)),
        (404, |e| matches!(e, Error::NotFound)),
        (408, |e| matches!(e, Error::AuthorizationExpired)),
        (409, |e| matches!(e, Error::Conflict)),
        (429, |e| matches!(e, Error::RateLimited { .. })),
        (500, |e| {
            matches!(e, Error::Core(auth_core::Error::Status { status: 500, .. }))
        }),
        (418, |e| {
            matches!(e, Error::Core(auth_core::Error::Status { status: 418, .. }))
        }),
    ];
    for (status, check) in statuses {
        s.emulator.inject(Fault::Status(status)).unwrap();
        let err = s
            .client
            .authorize(&AuthorizationRequest::new("alice"))
            .await
            .unwrap_err();
        assert!(check(&err), "{status}: {err:?}");
    }
    // Nothing was created by any of them.
    assert_eq!(s.emulator.pending_request("alice"), None);
}

#[tokio::test]
async fn api_key_rotation_refetches_by_kid() {
    let s = setup().await;
    s.client
        .authorize(&AuthorizationRequest::new("alice"))
        .await
        .unwrap();
    let new_kid = s.emulator.rotate_api_key().unwrap();
    // Responses are now signed under a kid the client has not seen: it fetches it by kid.
    let id = s.authorize(&AuthorizationRequest::new("bob")).await;
    assert_eq!(
        s.client
            .api_key(&new_kid)
            .await
            .unwrap()
            .fingerprint()
            .as_str(),
        new_kid
    );
    s.emulator.approve(&id).unwrap();
    assert!(poll(&s.client, &id).await.authorized);
}

#[tokio::test]
async fn webhooks_authorization_response_and_session_end() {
    let s = setup().await;
    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    s.emulator.deny_fraud(&id, None).unwrap();
    let wh = s
        .emulator
        .authorization_webhook(&id, "/launchkey/webhook")
        .unwrap();
    assert!(wh.headers().contains_key("x-iov-jwt") && wh.headers().contains_key("authorization"));
    match s.client.handle_webhook(&wh).await.unwrap() {
        WebhookPackage::AuthorizationResponse(r) => {
            assert!(r.fraud && !r.authorized);
            assert_eq!(r.authorization_request_id, id.as_str());
        }
        other => panic!("{other:?}"),
    }
    // Only the Authorization: IOV-JWT header (the public docs' form) is accepted too.
    let mut headers = wh.headers().clone();
    headers.remove("x-iov-jwt");
    assert!(
        s.client
            .handle_webhook(&common::webhook(
                &headers,
                wh.body(),
                "POST",
                wh.uri().path()
            ))
            .await
            .is_ok()
    );

    let end = s
        .emulator
        .session_end_webhook(s.service_id, "alice", "/launchkey/webhook")
        .unwrap();
    match s.client.handle_webhook(&end).await.unwrap() {
        WebhookPackage::ServiceUserSessionEnd(e) => {
            assert!(e.service_user_hash.starts_with("suh"));
            let age = std::time::SystemTime::now()
                .duration_since(e.logout_requested)
                .unwrap();
            assert!(age < Duration::from_secs(30));
        }
        other => panic!("{other:?}"),
    }
    // Without a Content-Type the plain body is recognised as JSON.
    let mut headers = end.headers().clone();
    headers.remove("content-type");
    assert!(matches!(
        s.client
            .handle_webhook(&common::webhook(
                &headers,
                end.body(),
                "POST",
                end.uri().path()
            ))
            .await
            .unwrap(),
        WebhookPackage::ServiceUserSessionEnd(_)
    ));
}

/// An [`auth_core::HttpClient`] that talks to the network until it is switched off, then
/// fails every call and counts the attempts.
struct Switchable {
    inner: auth_core::ReqwestClient,
    offline: AtomicBool,
    calls_while_offline: AtomicUsize,
}

#[auth_core::async_trait]
impl auth_core::HttpClient for Switchable {
    async fn execute(
        &self,
        request: auth_core::HttpRequest,
    ) -> Result<auth_core::HttpResponse, auth_core::TransportError> {
        if self.offline.load(Ordering::SeqCst) {
            self.calls_while_offline.fetch_add(1, Ordering::SeqCst);
            return Err(auth_core::TransportError::new(
                auth_core::TransportErrorKind::Connect,
                "switched off",
            ));
        }
        self.inner.execute(request).await
    }
}

#[tokio::test]
async fn webhook_does_no_network_io_once_the_key_is_cached() {
    let s = setup().await;
    let http = Arc::new(Switchable {
        inner: auth_core::ReqwestClient::new(&auth_core::HttpConfig::default()).unwrap(),
        offline: AtomicBool::new(false),
        calls_while_offline: AtomicUsize::new(0),
    });
    let client = Client::builder(s.service_id, common::key_a())
        .base_url(s.emulator.base_url())
        .http_client(http.clone())
        .retry(auth_core::RetryPolicy {
            max_attempts: 1,
            ..auth_core::RetryPolicy::default()
        })
        .build()
        .unwrap();
    // Warm-up: a create pings and fetches the current API key (the one webhooks are signed by).
    let id = client
        .authorize(&AuthorizationRequest::new("alice"))
        .await
        .unwrap()
        .id;
    s.emulator.approve(&id).unwrap();
    let approved = s.emulator.authorization_webhook(&id, "/wh").unwrap();
    let logout = s
        .emulator
        .session_end_webhook(s.service_id, "alice", "/wh")
        .unwrap();

    http.offline.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        let w = client
            .handle_webhook(&common::at(&approved, "POST", "/wh"))
            .await
            .unwrap();
        assert!(
            matches!(&w, WebhookPackage::AuthorizationResponse(r) if r.authorized),
            "{w:?}"
        );
        let w = client
            .handle_webhook(&common::at(&logout, "POST", "/wh"))
            .await
            .unwrap();
        assert!(
            matches!(w, WebhookPackage::ServiceUserSessionEnd(_)),
            "{w:?}"
        );
        // A rejected webhook does no I/O either.
        assert!(
            client
                .handle_webhook(&common::at(&approved, "POST", "/other"))
                .await
                .is_err()
        );
    }
    assert_eq!(http.calls_while_offline.load(Ordering::SeqCst), 0);

    // The switch works: a webhook signed by a key the client has not seen needs the network,
    // and fails with the transport error.
    s.emulator.rotate_api_key().unwrap();
    let rotated = s.emulator.authorization_webhook(&id, "/wh").unwrap();
    let err = client
        .handle_webhook(&common::at(&rotated, "POST", "/wh"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Core(auth_core::Error::Transport(_))),
        "{err:?}"
    );
    assert_eq!(http.calls_while_offline.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn step_up_interface() {
    let s = setup().await;
    let handle = s
        .client
        .start(
            StepUpRequest::new("alice", "Confirm", "Pay 120 EUR?")
                .with_ttl(Duration::from_secs(60)),
        )
        .await
        .unwrap()
        .into_handle();
    assert_eq!(handle.provider, "launchkey");
    assert!(handle.expires_at.is_some());
    assert!(s.client.check(&handle).await.unwrap() == auth_core::PollStatus::pending());
    let id = launchkey::AuthRequestId::parse(&handle.id).unwrap();
    s.emulator.approve(&id).unwrap();
    let out = s
        .client
        .wait(&handle, &PollConfig::default())
        .await
        .unwrap();
    assert!(out.is_approved());

    let handle = s
        .client
        .start(StepUpRequest::new("bob", "Confirm", "?"))
        .await
        .unwrap()
        .into_handle();
    s.emulator
        .deny_fraud(
            &launchkey::AuthRequestId::parse(&handle.id).unwrap(),
            Some("F"),
        )
        .unwrap();
    assert!(matches!(
        s.client.wait(&handle, &PollConfig::default()).await.unwrap(),
        StepUpOutcome::Denied { fraud: true, reason: Some(r) } if r == "F"
    ));

    let handle = s
        .client
        .start(StepUpRequest::new("carol", "Confirm", "?"))
        .await
        .unwrap()
        .into_handle();
    let id = launchkey::AuthRequestId::parse(&handle.id).unwrap();
    s.emulator.fail(&id, AuthResponseReason::Policy).unwrap();
    assert!(matches!(
        s.client
            .wait(&handle, &PollConfig::default())
            .await
            .unwrap(),
        StepUpOutcome::Failed { .. }
    ));

    let handle = s
        .client
        .start(StepUpRequest::new("alice", "Confirm", "?"))
        .await
        .unwrap()
        .into_handle();
    s.emulator
        .expire(&launchkey::AuthRequestId::parse(&handle.id).unwrap())
        .unwrap();
    assert_eq!(
        s.client
            .wait(&handle, &PollConfig::default())
            .await
            .unwrap(),
        StepUpOutcome::Expired
    );
}

#[tokio::test]
async fn signed_cache_and_location_headers() {
    use launchkey::VerificationError as V;
    use launchkey::emulator::Fault;
    let s = setup().await;
    s.client
        .authorize(&AuthorizationRequest::new("carol"))
        .await
        .unwrap();
    for (fault, ok) in [
        (Fault::SignedCacheControl, true),
        (Fault::SignedLocation, true),
        (Fault::UnsignedCacheControl, false),
        (Fault::WrongLocation, false),
    ] {
        let name = format!("{fault:?}");
        s.emulator.inject(fault).unwrap();
        let r = s
            .client
            .authorize(&AuthorizationRequest::new("alice"))
            .await;
        if ok {
            assert!(r.is_ok(), "{name}: {r:?}");
        } else {
            assert!(
                matches!(r, Err(Error::ResponseVerification(V::Cache | V::Location))),
                "{name}: {r:?}"
            );
        }
        if let Some(id) = s.emulator.pending_request("alice") {
            s.client.cancel_authorization_request(&id).await.unwrap();
        }
    }
}

#[tokio::test]
async fn plain_json_error_body_is_accepted_for_4xx() {
    use launchkey::emulator::Fault;
    let s = setup().await;
    s.emulator
        .inject(Fault::ApiError(400, "SVC-003".into()))
        .unwrap();
    s.emulator.inject(Fault::PlainBody).unwrap();
    assert!(matches!(
        s.client
            .authorize(&AuthorizationRequest::new("alice"))
            .await,
        Err(Error::PolicyFailure { .. })
    ));
}

#[tokio::test]
async fn webhook_replay_protection_is_opt_in() {
    let s = setup().await;
    let guarded = Client::builder(s.service_id, common::key_a())
        .base_url(s.emulator.base_url())
        .reject_replayed_webhooks()
        .build()
        .unwrap();
    let wh = s
        .emulator
        .session_end_webhook(s.service_id, "alice", "/wh")
        .unwrap();
    assert!(
        guarded
            .handle_webhook(&common::at(&wh, "POST", "/wh"))
            .await
            .is_ok()
    );
    assert!(matches!(
        guarded
            .handle_webhook(&common::at(&wh, "POST", "/wh"))
            .await,
        Err(Error::ResponseVerification(
            launchkey::VerificationError::Replayed
        ))
    ));
    // A fresh webhook (new jti) is fine; the default client accepts repeats.
    let wh2 = s
        .emulator
        .session_end_webhook(s.service_id, "alice", "/wh")
        .unwrap();
    assert!(
        guarded
            .handle_webhook(&common::at(&wh2, "POST", "/wh"))
            .await
            .is_ok()
    );
    assert!(
        s.client
            .handle_webhook(&common::at(&wh, "POST", "/wh"))
            .await
            .is_ok()
    );
    assert!(
        s.client
            .handle_webhook(&common::at(&wh, "POST", "/wh"))
            .await
            .is_ok()
    );
}

#[test]
fn client_is_clone_send_sync_and_poll_config_follows_ttl() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<Client>();
    assert_traits::<launchkey::AuthorizationResponse>();
    let cfg = Client::poll_config_for(&AuthorizationRequest::new("a").ttl(Duration::from_secs(60)));
    assert_eq!(cfg.deadline, Duration::from_secs(70));
    assert_eq!(
        Client::poll_config_for(&AuthorizationRequest::new("a")).deadline,
        Duration::from_secs(310)
    );
}

#[tokio::test]
async fn base_url_with_path_prefix_is_signed_with_the_full_path() {
    // The request claim's path is the path as sent, prefix included.
    let s = setup().await;
    let prefixed = Client::builder(s.service_id, common::key_a())
        .base_url(format!("{}/prefix/", s.emulator.base_url()))
        .build()
        .unwrap();
    assert_eq!(prefixed.base_url().path(), "/prefix");
    let id = prefixed
        .authorize(&AuthorizationRequest::new("alice"))
        .await
        .unwrap()
        .id;
    s.emulator.approve(&id).unwrap();
    assert!(poll(&prefixed, &id).await.authorized);
    let calls = s.emulator.received();
    assert_eq!(calls[0].path, "/prefix/service/v3/auths");
    assert_eq!(
        calls[0].claims["request"]["path"],
        "/prefix/service/v3/auths"
    );
    assert_eq!(
        calls[1].claims["request"]["path"],
        format!("/prefix/service/v3/auths/{id}")
    );
}

#[tokio::test]
async fn polling_survives_rate_limiting_and_server_errors() {
    use launchkey::emulator::Fault;
    let s = setup().await;
    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    s.emulator.approve(&id).unwrap();
    // A GET is retried by the transport on 429/503, each attempt signed afresh.
    s.emulator.inject(Fault::Status(429)).unwrap();
    s.emulator.inject(Fault::Status(503)).unwrap();
    let before = s.emulator.received().len();
    assert!(matches!(
        s.client.get_authorization_response(&id).await.unwrap(),
        AuthorizationPoll::Responded(r) if r.authorized
    ));
    // One call, three attempts (429, 503, 200): each attempt carried its own token.
    let attempts: Vec<_> = s.emulator.received()[before..].to_vec();
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    let jtis: std::collections::HashSet<&str> = attempts
        .iter()
        .map(|c| c.claims["jti"].as_str().unwrap())
        .collect();
    assert_eq!(jtis.len(), 3, "a retried GET replayed its token");
    // And polling until settled works through the same faults.
    s.emulator.inject(Fault::Status(429)).unwrap();
    let cfg = PollConfig::every(Duration::from_millis(20), Duration::from_secs(10));
    assert!(
        s.client
            .wait_for_response(&id, &cfg)
            .await
            .unwrap()
            .authorized
    );
    // A POST is never retried: one 503 surfaces as a typed error.
    s.emulator.inject(Fault::Status(503)).unwrap();
    assert!(matches!(
        s.client.authorize(&AuthorizationRequest::new("bob")).await,
        Err(Error::Core(auth_core::Error::Status { status: 503, .. }))
    ));
    assert_eq!(s.emulator.pending_request("bob"), None);
}

#[tokio::test]
async fn any_2xx_create_and_svc005_under_400_or_409() {
    let s = setup().await;
    s.emulator.set_create_status(200);
    s.emulator.set_in_progress_status(400);
    let first = s
        .client
        .authorize(&AuthorizationRequest::new("alice"))
        .await
        .unwrap();
    match s
        .client
        .authorize(&AuthorizationRequest::new("alice"))
        .await
    {
        Err(Error::AuthorizationInProgress(p)) => assert_eq!(p.auth_request, first.id.as_str()),
        other => panic!("{other:?}"),
    }
    s.emulator.set_create_status(202);
    s.emulator.set_in_progress_status(409);
    s.client
        .authorize(&AuthorizationRequest::new("bob"))
        .await
        .unwrap();
}

/// The device package the platform was seen to send: `auth_policy` with `null` requirement,
/// amount and types. Polling, `wait_for_response`, `StepUp::check` and a webhook all read it
/// as "no policy details" (null = absent), not as a decode error at `auth_policy.types`.
#[tokio::test]
async fn null_auth_policy_fields_through_polling_webhook_and_step_up() {
    let s = setup().await;
    let nulls =
        serde_json::json!({"requirement": null, "amount": null, "types": null, "geofences": []});
    let answer = || {
        PhoneAnswer::new(AuthResponseType::Authorized, AuthResponseReason::Approved)
            .with_auth_policy(nulls.clone())
            .with_auth_methods(serde_json::json!(null))
    };
    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    s.emulator.respond(&id, answer()).unwrap();

    let polled = poll(&s.client, &id).await;
    assert!(polled.authorized);
    assert_eq!(polled.policy, Some(launchkey::ResponsePolicy::default()));
    assert!(polled.auth_methods.is_empty());
    let waited = s
        .client
        .wait_for_response(
            &id,
            &PollConfig::every(Duration::from_millis(20), Duration::from_secs(5)),
        )
        .await
        .unwrap();
    assert_eq!(waited, polled);

    let wh = s.emulator.authorization_webhook(&id, "/wh").unwrap();
    match s.client.handle_webhook(&wh).await.unwrap() {
        WebhookPackage::AuthorizationResponse(r) => assert_eq!(*r, polled),
        other => panic!("{other:?}"),
    }

    let handle = s
        .client
        .start(StepUpRequest::new("bob", "Confirm", "?"))
        .await
        .unwrap()
        .into_handle();
    let bob = launchkey::AuthRequestId::parse(&handle.id).unwrap();
    s.emulator.respond(&bob, answer()).unwrap();
    match s.client.check(&handle).await.unwrap() {
        auth_core::PollStatus::Ready(out) => assert!(out.is_approved(), "{out:?}"),
        other => panic!("{other:?}"),
    }
}

/// Lower-case platform data: the official SDK upper-cases method types and lower-cases factor
/// types before comparing, so "pin_code" passed and "knowledge" required are recognised.
#[tokio::test]
async fn lower_case_methods_and_factor_types_are_recognised() {
    let s = setup().await;
    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    s.emulator
        .respond(
            &id,
            PhoneAnswer::new(AuthResponseType::Authorized, AuthResponseReason::Approved)
                .with_auth_policy(serde_json::json!({"requirement": "types", "amount": 0,
                    "types": ["knowledge", "inherence"], "geofences": null}))
                .with_auth_methods(serde_json::json!([
                    {"method": "pin_code", "set": true, "active": true, "allowed": true,
                     "supported": true, "user_required": true, "passed": true, "error": false},
                    {"method": "wearables", "set": false, "active": null, "allowed": true,
                     "supported": true, "user_required": null, "passed": null, "error": null}
                ])),
        )
        .unwrap();
    let r = poll(&s.client, &id).await;
    let policy = r.policy.as_ref().unwrap();
    assert_eq!(
        policy.requirement,
        Some(launchkey::PolicyRequirement::Types)
    );
    assert!(policy.knowledge_required() && policy.inherence_required());
    assert!(!policy.possession_required());
    let pin = r
        .auth_methods
        .iter()
        .find(|m| m.method == launchkey::AuthMethodType::PinCode)
        .expect("pin_code is PIN_CODE");
    assert_eq!(pin.passed, Some(true));
    assert_eq!(
        r.auth_methods[1].method,
        launchkey::AuthMethodType::Wearables
    );
}

/// A webhook whose JWT names `kid` and is signed by nobody (anyone can send one): the body
/// and headers of `genuine`, only the token replaced.
fn junk_webhook(genuine: &http::Request<Vec<u8>>, kid: &str) -> http::Request<Vec<u8>> {
    use launchkey::hazmat::b64e;
    let header = serde_json::json!({"alg": "RS256", "kid": kid}).to_string();
    let claims = serde_json::json!({"iss": "lka", "sub": "x", "aud": "x"}).to_string();
    let token = format!(
        "{}.{}.{}",
        b64e(header.as_bytes()),
        b64e(claims.as_bytes()),
        b64e(b"not a signature")
    );
    let mut junk = genuine.clone();
    junk.headers_mut()
        .insert("x-iov-jwt", token.parse().unwrap());
    junk.headers_mut().remove("authorization");
    junk
}

fn cold_client(s: &common::emu::Setup) -> Client {
    Client::builder(s.service_id, common::key_a())
        .base_url(s.emulator.base_url())
        .build()
        .unwrap()
}

/// A cold client hit by 1,000 concurrent genuine webhooks: all accepted, and the API key is
/// fetched exactly once (everyone waits for the one fetch instead of spending the unknown-kid
/// budget). Requests are counted at the emulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_webhooks_at_a_cold_client_fetch_the_key_once() {
    let s = setup().await;
    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    s.emulator.approve(&id).unwrap();
    let wh = s.emulator.authorization_webhook(&id, "/wh").unwrap();
    let client = cold_client(&s);
    let before = s.emulator.counts();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let (client, wh) = (client.clone(), wh.clone());
        set.spawn(async move { client.handle_webhook(&wh).await });
    }
    let mut accepted = 0;
    while let Some(r) = set.join_next().await {
        match r.unwrap() {
            Ok(WebhookPackage::AuthorizationResponse(r)) if r.authorized => accepted += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(accepted, 1000);
    let after = s.emulator.counts();
    assert_eq!(after.key_fetches() - before.key_fetches(), 1, "{after:?}");
    assert_eq!(after.ping, before.ping, "webhooks never ping");
}

/// Junk webhooks naming random kids spend the unknown-kid budget, not the genuine webhook's
/// chance: it is signed with the platform's current key, which the client learns without the
/// budget. After a key rotation, the new current key is learnt again (at most every
/// `CURRENT_KEY_RECHECK`), even while junk keeps the budget exhausted.
#[tokio::test]
async fn junk_kids_do_not_starve_genuine_webhooks() {
    let clock = Arc::new(FakeClock::new(std::time::SystemTime::now()));
    let emulator = Emulator::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let service_id = common::new_service_id();
    emulator
        .register_service(service_id, common::SERVICE_A_PUB)
        .unwrap();
    emulator.add_user("alice");
    let client = Client::builder(service_id, common::key_a())
        .base_url(emulator.base_url())
        .clock(clock.clone())
        .build()
        .unwrap();
    let id = client
        .authorize(&AuthorizationRequest::new("alice"))
        .await
        .unwrap()
        .id;
    emulator.approve(&id).unwrap();
    let genuine = emulator.authorization_webhook(&id, "/wh").unwrap();
    // A webhook-only service: its own client has never called the API.
    let hooks = Client::builder(service_id, common::key_a())
        .base_url(emulator.base_url())
        .clock(clock.clone())
        .build()
        .unwrap();
    let before = emulator.counts();
    let flood = launchkey::limits::MAX_KID_FETCHES_PER_WINDOW + 5;
    let mut throttled = 0;
    for i in 0..flood {
        let junk = junk_webhook(&genuine, &format!("00:junk:{i}"));
        match hooks
            .handle_webhook(&common::at(&junk, "POST", "/wh"))
            .await
        {
            Err(Error::ApiKeyNotFound { .. }) => {}
            Err(Error::ApiKeyFetchThrottled { .. }) => throttled += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(throttled, 5);
    let w = hooks
        .handle_webhook(&common::at(&genuine, "POST", "/wh"))
        .await
        .unwrap();
    assert!(matches!(w, WebhookPackage::AuthorizationResponse(r) if r.authorized));
    let after = emulator.counts();
    assert_eq!(
        after.key_by_kid - before.key_by_kid,
        launchkey::limits::MAX_KID_FETCHES_PER_WINDOW as u64
    );
    assert_eq!(after.current_key - before.current_key, 1);

    // The platform rotates its key; junk keeps coming; the next genuine webhook is signed
    // with the new key.
    emulator.rotate_api_key().unwrap();
    clock.advance(launchkey::limits::CURRENT_KEY_RECHECK);
    for i in 0..3 {
        let junk = junk_webhook(&genuine, &format!("00:more-junk:{i}"));
        assert!(
            hooks
                .handle_webhook(&common::at(&junk, "POST", "/wh"))
                .await
                .is_err()
        );
    }
    let rotated = emulator.authorization_webhook(&id, "/wh").unwrap();
    let w = hooks
        .handle_webhook(&common::at(&rotated, "POST", "/wh"))
        .await
        .unwrap();
    assert!(matches!(w, WebhookPackage::AuthorizationResponse(r) if r.authorized));
}

/// After an API key rotation, the response to the client's own `authorize` is signed with a
/// kid it has never seen. A flood of junk webhooks has used up the unknown-kid budget, but the
/// kid of a response to our own signed call is always fetched: `authorize` returns the
/// request id (before, the POST reached the API — the user got a push — and the app got
/// `ApiKeyFetchThrottled`).
#[tokio::test]
async fn key_rotation_after_a_junk_flood_still_returns_the_request_id() {
    let s = setup().await;
    let id = s.authorize(&AuthorizationRequest::new("bob")).await;
    s.emulator.approve(&id).unwrap();
    let genuine = s.emulator.authorization_webhook(&id, "/wh").unwrap();
    for i in 0..launchkey::limits::MAX_KID_FETCHES_PER_WINDOW + 1 {
        let junk = junk_webhook(&genuine, &format!("00:junk:{i}"));
        assert!(
            s.client
                .handle_webhook(&common::at(&junk, "POST", "/wh"))
                .await
                .is_err()
        );
    }
    let probe = junk_webhook(&genuine, "00:junk:probe");
    assert!(matches!(
        s.client
            .handle_webhook(&common::at(&probe, "POST", "/wh"))
            .await,
        Err(Error::ApiKeyFetchThrottled { .. })
    ));

    let new_kid = s.emulator.rotate_api_key().unwrap();
    let created = s
        .client
        .authorize(&AuthorizationRequest::new("alice"))
        .await
        .unwrap();
    assert_eq!(
        s.emulator.pending_request("alice"),
        Some(created.id.clone())
    );
    // The new key is cached now: a webhook signed with it needs no budget.
    s.emulator.approve(&created.id).unwrap();
    let wh = s
        .emulator
        .authorization_webhook(&created.id, "/wh")
        .unwrap();
    assert!(
        s.client
            .handle_webhook(&common::at(&wh, "POST", "/wh"))
            .await
            .is_ok()
    );
    assert_eq!(
        s.client
            .api_key(&new_kid)
            .await
            .unwrap()
            .fingerprint()
            .as_str(),
        new_kid
    );
}

/// Cold starts under load: 1,000 concurrent `server_time` and `current_api_key` calls, then 50
/// concurrent `authorize`s on another cold client, each send one ping and one key fetch in
/// total.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_starts_share_one_ping_and_one_key_fetch() {
    let s = setup().await;
    let client = cold_client(&s);
    let before = s.emulator.counts();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let client = client.clone();
        set.spawn(async move {
            if i % 2 == 0 {
                client.server_time().await.map(drop)
            } else {
                client.current_api_key().await.map(drop)
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().unwrap();
    }
    let after = s.emulator.counts();
    assert_eq!(after.ping - before.ping, 1, "{after:?}");
    assert_eq!(after.current_key - before.current_key, 1, "{after:?}");
    assert_eq!(after.key_by_kid, before.key_by_kid);

    let users: Vec<String> = (0..50).map(|i| format!("user-{i}")).collect();
    for u in &users {
        s.emulator.add_user(u);
    }
    let client = cold_client(&s);
    let before = s.emulator.counts();
    let mut set = tokio::task::JoinSet::new();
    for u in users {
        let client = client.clone();
        set.spawn(async move { client.authorize(&AuthorizationRequest::new(u)).await });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().unwrap();
    }
    let after = s.emulator.counts();
    assert_eq!(after.ping - before.ping, 1, "{after:?}");
    assert_eq!(after.key_fetches() - before.key_fetches(), 1, "{after:?}");
    assert_eq!(after.signed - before.signed, 50);
}

/// A 429 never makes polling spin: `Retry-After: 0` polls at the interval, a real hint is
/// passed through as it is, no hint backs off; `StepUp::check` stays pending with the same
/// hints. Measured on a fake clock (the sleeps the poller asked for), not in wall time.
#[tokio::test]
async fn rate_limited_polling_honours_retry_after_and_never_spins() {
    use launchkey::emulator::Fault;
    let clock = Arc::new(FakeClock::new(std::time::SystemTime::now()));
    let emulator = Emulator::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let service_id = common::new_service_id();
    emulator
        .register_service(service_id, common::SERVICE_A_PUB)
        .unwrap();
    emulator.add_user("alice");
    emulator.add_user("bob");
    let client = Client::builder(service_id, common::key_a())
        .base_url(emulator.base_url())
        .clock(clock.clone())
        .retry(auth_core::RetryPolicy::none())
        .build()
        .unwrap();
    let id = client
        .authorize(&AuthorizationRequest::new("alice"))
        .await
        .unwrap()
        .id;
    emulator.approve(&id).unwrap();
    for fault in [
        Fault::RateLimited(Some(0)),
        Fault::RateLimited(Some(0)),
        Fault::RateLimited(Some(0)),
        Fault::RateLimited(Some(7)),
        Fault::RateLimited(None),
    ] {
        emulator.inject(fault).unwrap();
    }
    let slept_before = clock.sleeps().len();
    let cfg = PollConfig::every(Duration::from_secs(1), Duration::from_secs(120)).with_jitter(0.0);
    assert!(
        client
            .wait_for_response(&id, &cfg)
            .await
            .unwrap()
            .authorized
    );
    let s = |n| Duration::from_secs(n);
    assert_eq!(
        clock.sleeps()[slept_before..],
        [
            s(1),
            s(1),
            s(1),
            s(7),
            launchkey::limits::RATE_LIMIT_BACKOFF
        ]
    );

    // StepUp: a 429 is still pending, with auth-core's one hint rule (`Retry-After: 0` is
    // no hint, none at all is the 5 s back-off).
    let handle = client
        .start(StepUpRequest::new("bob", "Confirm", "?"))
        .await
        .unwrap()
        .into_handle();
    for (fault, hint) in [
        (Fault::RateLimited(Some(0)), None),
        (
            Fault::RateLimited(None),
            Some(launchkey::limits::RATE_LIMIT_BACKOFF),
        ),
        (Fault::RateLimited(Some(90)), Some(s(90))),
        (
            Fault::RateLimited(Some(999_999)),
            Some(launchkey::limits::MAX_RETRY_AFTER),
        ),
    ] {
        emulator.inject(fault).unwrap();
        assert_eq!(
            client.check(&handle).await.unwrap(),
            auth_core::PollStatus::Pending { retry_after: hint }
        );
    }
    assert_eq!(
        client.check(&handle).await.unwrap(),
        auth_core::PollStatus::pending()
    );
}

/// The emulator keeps a bounded log and forgets the oldest settled requests beyond its
/// capacity; pending requests are never forgotten, and the newest settled ones still answer.
#[tokio::test]
async fn emulator_memory_is_bounded() {
    let s = common::emu::setup_with(Emulator::builder().log_capacity(5).settled_capacity(3)).await;
    let pending = s.authorize(&AuthorizationRequest::new("bob")).await;
    let mut settled = Vec::new();
    for _ in 0..10 {
        let id = s.authorize(&AuthorizationRequest::new("alice")).await;
        s.emulator.approve(&id).unwrap();
        settled.push(id);
    }
    // Answers the service has not fetched yet are kept (until their time to live, which bounds
    // them like pending requests): a client polling late still gets its answer.
    assert_eq!(s.emulator.stored_requests(), 10 + 1);
    assert_eq!(s.emulator.received().len(), 5);
    assert_eq!(s.emulator.pending_request("bob"), Some(pending.clone()));
    assert_eq!(
        s.client.get_authorization_response(&pending).await.unwrap(),
        AuthorizationPoll::Pending
    );
    for id in &settled {
        assert!(poll(&s.client, id).await.authorized);
    }
    // Once fetched, answers beyond the capacity are forgotten, oldest first.
    let _newest = s.authorize(&AuthorizationRequest::new("alice")).await;
    assert_eq!(s.emulator.stored_requests(), 3 + 1 + 1);
    // The oldest answered request is forgotten: like any unknown id, it polls as pending.
    assert_eq!(
        s.client
            .get_authorization_response(&settled[0])
            .await
            .unwrap(),
        AuthorizationPoll::Pending
    );
    // The log holds the most recent calls.
    let last = s.emulator.received().last().cloned().unwrap();
    assert_eq!(
        last.path,
        format!("/service/v3/auths/{}", settled[0].as_str())
    );
}

/// One shared `auth_core::Config` configures the client (HTTP client, application token,
/// limits); the builder's own setters still apply on top, and without a base URL the client
/// talks to the production API.
#[tokio::test]
async fn the_client_takes_a_shared_config() {
    let s = setup().await;
    let agents = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = agents.clone();
    let inner = Arc::new(auth_core::ReqwestClient::new(&auth_core::HttpConfig::default()).unwrap());
    let recording = move |request: auth_core::HttpRequest| {
        let (seen, inner) = (seen.clone(), inner.clone());
        async move {
            let agent = request.headers()["user-agent"].to_str().unwrap().to_owned();
            seen.lock().unwrap().push(agent);
            auth_core::HttpClient::execute(&*inner, request).await
        }
    };
    let shared = auth_core::Config::new()
        .http_client(Arc::new(recording))
        .application("my-bank/2.1")
        .max_in_flight(3);
    let client = Client::builder(s.service_id, common::key_a())
        .config(&shared)
        .base_url(s.emulator.base_url())
        .build()
        .unwrap();
    client
        .authorize(&AuthorizationRequest::new("alice"))
        .await
        .unwrap();
    let agents = agents.lock().unwrap().clone();
    assert!(agents.len() >= 3, "{agents:?}"); // ping, current key, create
    for agent in &agents {
        assert!(
            agent.starts_with("my-bank/2.1 launchkey/"),
            "user agent {agent:?}"
        );
    }

    let production = Client::builder(s.service_id, common::key_a())
        .config(&shared)
        .build()
        .unwrap();
    assert_eq!(production.base_url().as_str(), "https://api.launchkey.com");
    assert!(
        Client::builder(s.service_id, common::key_a())
            .base_url("http://api.launchkey.com")
            .build()
            .is_err()
    );
}

/// The step-up contract: truthful capabilities, a portable handle (serialized, another client
/// checks it), `wait` sleeping on the client's own clock, and a handle of another provider
/// refused before anything is sent.
#[tokio::test]
async fn step_up_contract() {
    use auth_core::stepup::Started;
    let clock = Arc::new(FakeClock::new(std::time::SystemTime::now()));
    let emulator = Emulator::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let service_id = common::new_service_id();
    emulator
        .register_service(service_id, common::SERVICE_A_PUB)
        .unwrap();
    emulator.add_user("alice");
    let client_for = || {
        Client::builder(service_id, common::key_a())
            .base_url(emulator.base_url())
            .clock(clock.clone())
            .build()
            .unwrap()
    };
    let client = client_for();
    assert_eq!(client.provider(), "launchkey");
    let caps = client.capabilities();
    assert!(caps.pollable && caps.webhook && caps.portable_handle);
    assert!(!caps.start_blocks && !caps.needs_browser);

    let Started::Pending(handle) = client
        .start(StepUpRequest::new("alice", "Confirm", "Pay 120 EUR?"))
        .await
        .unwrap()
    else {
        panic!("LaunchKey's start does not block")
    };
    // Portable: another client (fresh caches, same service key) checks the stored handle.
    let stored = serde_json::to_string(&handle).unwrap();
    let other = client_for();
    let restored: auth_core::StepUpHandle = serde_json::from_str(&stored).unwrap();
    assert_eq!(
        other.check(&restored).await.unwrap(),
        auth_core::PollStatus::pending()
    );

    // `wait` sleeps on the client's (fake) clock: a 30-second interval takes no real time.
    let slept = clock.sleeps().len();
    let err = client
        .wait(
            &restored,
            &PollConfig::every(Duration::from_secs(30), Duration::from_secs(90)).with_jitter(0.0),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Core(auth_core::Error::DeadlineExceeded { .. })),
        "{err:?}"
    );
    assert!(clock.sleeps().len() > slept);

    // Another provider's handle: refused, and nothing reaches the API.
    let mut foreign = restored.clone();
    foreign.provider = "authsignal".into();
    let before = emulator.counts();
    let err = client.check(&foreign).await.unwrap_err();
    assert!(
        matches!(err, Error::Core(auth_core::Error::ForeignHandle { .. })),
        "{err:?}"
    );
    assert_eq!(err.kind(), auth_core::ErrorKind::Configuration);
    assert_eq!(emulator.counts(), before);

    // The user answers; the restored handle settles.
    emulator
        .approve(&launchkey::AuthRequestId::parse(&restored.id).unwrap())
        .unwrap();
    assert!(
        other
            .wait(&restored, &PollConfig::default())
            .await
            .unwrap()
            .is_approved()
    );
}
