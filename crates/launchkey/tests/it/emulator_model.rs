//! The emulator as a protocol model: the one control vocabulary (as JSON, the way a test in
//! any language sends it), what the user's phone shows, an injected clock, the bounded log, and
//! the model used with no socket and no runtime of its own.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use auth_core::emulator::{Control, ControlError, InProcess};
use auth_core::{Classify, FakeClock, HttpClient};
use launchkey::emulator::{Emulator, Model};
use launchkey::{AuthorizationPoll, AuthorizationRequest, Client, Error, RsaPublicKey};
use serde_json::{Value, json};

use crate::common;

/// A control command as a non-Rust test sends it.
fn command(json: Value) -> Control {
    serde_json::from_value(json).unwrap()
}

/// The model is built without any runtime or socket, is `Send + Sync + 'static`, and works as
/// an `Arc<dyn auth_core::emulator::Model>`.
#[test]
fn the_model_stands_alone() {
    fn send_sync_static<T: Send + Sync + 'static>(_: &T) {}
    let model = Model::new().unwrap();
    send_sync_static(&model);
    let model: Arc<dyn auth_core::emulator::Model> = Arc::new(model);
    assert_eq!(model.provider(), "launchkey");
    assert!(model.pending().is_empty());
    let added = model
        .control(command(json!({"command": "add_user", "user": "alice"})))
        .unwrap();
    assert_eq!(added["user"], "alice");
    assert!(
        added["service_user_hash"]
            .as_str()
            .unwrap()
            .starts_with("suh")
    );
}

/// Every command of the vocabulary, sent as JSON: the phone's answers, key rotation, faults,
/// the log, the pending list, LaunchKey's own commands; `set_rules` is not LaunchKey's.
#[tokio::test]
async fn the_control_vocabulary() {
    let s = common::emu::setup().await;
    let e = &s.emulator;
    let control = |json: Value| e.control(command(json));

    // add_user with a TOTP code.
    control(json!({"command": "add_user", "user": "dave", "details": {"totp": "135790"}})).unwrap();
    assert!(s.client.verify_totp("dave", "135790").await.unwrap());

    // approve / deny (fraud, with the denial reason id) / fail / expire.
    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    let answer = control(json!({"command": "approve", "id": id.as_str()})).unwrap();
    assert_eq!(answer["state"], "approved");
    assert!(matches!(
        s.client.get_authorization_response(&id).await.unwrap(),
        AuthorizationPoll::Responded(r) if r.authorized
    ));
    // A settled request cannot be answered again; an unknown one is not found.
    assert!(matches!(
        control(json!({"command": "approve", "id": id.as_str()})),
        Err(ControlError::Conflict(_))
    ));
    assert!(matches!(
        control(json!({"command": "approve", "id": "no-such-request"})),
        Err(ControlError::NotFound { .. })
    ));

    let id = s
        .authorize(&AuthorizationRequest::new("bob").denial_reasons(vec![
            launchkey::DenialReason::fraud("FR", "Not me"),
            launchkey::DenialReason::not_fraud("NO", "Not now"),
        ]))
        .await;
    control(json!({"command": "deny", "id": id.as_str(), "fraud": true, "reason": "FR"})).unwrap();
    let AuthorizationPoll::Responded(r) = s.client.get_authorization_response(&id).await.unwrap()
    else {
        panic!("no answer")
    };
    assert!(r.fraud && !r.authorized);
    assert_eq!(r.denial_reason.as_deref(), Some("FR"));

    let id = s.authorize(&AuthorizationRequest::new("carol")).await;
    control(json!({"command": "fail", "id": id.as_str(), "reason": "policy"})).unwrap();
    let AuthorizationPoll::Responded(r) = s.client.get_authorization_response(&id).await.unwrap()
    else {
        panic!("no answer")
    };
    assert_eq!(r.reason, Some(launchkey::AuthResponseReason::Policy));

    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    control(json!({"command": "expire", "id": id.as_str()})).unwrap();
    assert_eq!(
        s.client.get_authorization_response(&id).await.unwrap(),
        AuthorizationPoll::TimedOut
    );

    // rotate_keys: the client finds the new key by kid.
    let rotated = control(json!({"command": "rotate_keys"})).unwrap();
    assert_eq!(rotated["kid"].as_str(), Some(e.api_kid().as_str()));
    s.authorize(&AuthorizationRequest::new("alice")).await;

    // inject_fault: a bare 429 (as a proxy sends it) for the next create; POSTs are never
    // retried, so the client sees it, with its Retry-After.
    control(json!({"command": "inject_fault",
                   "fault": {"status": 429, "retry_after": 7, "path_contains": "/service/v3/auths"}}))
    .unwrap();
    let err = s
        .client
        .authorize(&AuthorizationRequest::new("dave"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(7)),
        "{err:?}"
    );
    assert_eq!(e.pending_request("dave"), None);

    // read_log: method, path, status; never a body or a query value.
    let log = control(json!({"command": "read_log", "limit": 2})).unwrap();
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1]["method"], "POST");
    assert_eq!(log[1]["path"], "/service/v3/auths");
    assert_eq!(log[1]["status"], 429);

    // list_pending = pending().
    let listed = control(json!({"command": "list_pending"})).unwrap();
    assert_eq!(listed, serde_json::to_value(e.pending()).unwrap());

    // Provider commands: a webhook as JSON, a response fault, the endpoint counts.
    let id = s.authorize(&AuthorizationRequest::new("bob")).await;
    e.approve(&id).unwrap();
    let wh = control(json!({"command": "provider",
                            "body": {"webhook": "authorization", "id": id.as_str(), "path": "/wh"}}))
    .unwrap();
    let mut request = http::Request::post(wh["path"].as_str().unwrap())
        .body(wh["body"].as_str().unwrap().as_bytes().to_vec())
        .unwrap();
    for (name, value) in wh["headers"].as_object().unwrap() {
        request.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.as_str().unwrap().parse().unwrap(),
        );
    }
    assert!(matches!(
        s.client.handle_webhook(&request).await.unwrap(),
        launchkey::WebhookPackage::AuthorizationResponse(r) if r.authorized
    ));
    control(json!({"command": "provider", "body": {"response_fault": "wrong_jti"}})).unwrap();
    assert!(matches!(
        s.client
            .authorize(&AuthorizationRequest::new("carol"))
            .await,
        Err(Error::ResponseVerification(
            launchkey::VerificationError::Jti
        ))
    ));
    let counts = control(json!({"command": "provider", "body": {"counts": {}}})).unwrap();
    assert_eq!(counts["ping"], 1);

    // Not LaunchKey's.
    assert!(matches!(
        control(json!({"command": "set_rules", "rules": {}})),
        Err(ControlError::Unsupported {
            command: "set_rules",
            ..
        })
    ));
    assert!(matches!(
        control(json!({"command": "provider", "body": {"explode": true}})),
        Err(ControlError::Invalid(_))
    ));
}

/// `pending()` is what the user's phone shows: who, the title and the context, when it runs
/// out; settled requests leave the list.
#[tokio::test]
async fn pending_shows_what_the_phone_shows() {
    let s = common::emu::setup().await;
    let id = s
        .authorize(
            &AuthorizationRequest::new("alice")
                .context("Pay 120 EUR to ACME?")
                .ttl(Duration::from_secs(120)),
        )
        .await;
    s.authorize(
        &AuthorizationRequest::new("bob")
            .title("ACME bank")
            .context("Log in?"),
    )
    .await;
    let pending = s.emulator.pending();
    assert_eq!(pending.len(), 2);
    let alice = pending.iter().find(|p| p.user == "alice").unwrap();
    assert_eq!(alice.provider, "launchkey");
    assert_eq!(alice.id, id.as_str());
    assert_eq!(alice.message, "Pay 120 EUR to ACME?");
    assert_eq!(alice.title, "Authorization request");
    assert_eq!(
        alice
            .expires_at
            .unwrap()
            .duration_since(alice.created_at)
            .unwrap(),
        Duration::from_secs(120)
    );
    let bob = pending.iter().find(|p| p.user == "bob").unwrap();
    assert_eq!(
        (bob.title.as_str(), bob.message.as_str()),
        ("ACME bank", "Log in?")
    );
    s.emulator.approve(&id).unwrap();
    assert_eq!(s.emulator.pending().len(), 1);
}

/// On its default clock, `advance_clock` moves the platform's time: a pending request runs
/// out. On an injected clock the command says to move that clock instead, and the platform
/// follows the injected one.
#[tokio::test]
async fn the_clock_is_injected_or_advanced() {
    let s = common::emu::setup().await;
    let id = s
        .authorize(&AuthorizationRequest::new("alice").ttl(Duration::from_secs(60)))
        .await;
    s.emulator
        .control(Control::AdvanceClock { seconds: 61 })
        .unwrap();
    assert!(s.emulator.pending().is_empty());
    // The client learns the server's time again (after a 401 on its stale-dated token, or
    // simply its own cache), and sees the request expired.
    let fresh = Client::builder(s.service_id, common::key_a())
        .base_url(s.emulator.base_url())
        .build()
        .unwrap();
    assert_eq!(
        fresh.get_authorization_response(&id).await.unwrap(),
        AuthorizationPoll::TimedOut
    );

    let clock = Arc::new(FakeClock::new(SystemTime::now()));
    let service_id = common::new_service_id();
    let emulator = Emulator::builder()
        .clock(clock.clone())
        .service(
            service_id,
            RsaPublicKey::from_pem(common::SERVICE_A_PUB).unwrap(),
        )
        .user("alice")
        .start()
        .await
        .unwrap();
    assert!(matches!(
        emulator.control(Control::AdvanceClock { seconds: 5 }),
        Err(ControlError::Conflict(_))
    ));
    let client = Client::builder(service_id, common::key_a())
        .base_url(emulator.base_url())
        .clock(clock.clone())
        .build()
        .unwrap();
    let id = client
        .authorize(&AuthorizationRequest::new("alice").ttl(Duration::from_secs(30)))
        .await
        .unwrap()
        .id;
    clock.advance(Duration::from_secs(31));
    assert_eq!(
        client.get_authorization_response(&id).await.unwrap(),
        AuthorizationPoll::TimedOut
    );
}

/// The model answers the client with no socket (`InProcess`), the same as over the port; the
/// log records those calls too.
#[tokio::test]
async fn the_same_model_in_process_and_on_a_port() {
    let s = common::emu::setup().await;
    let model = s.emulator.model();
    // The emulator's in-process client is `InProcess` over the same model.
    let in_process: Arc<dyn HttpClient> = Arc::new(InProcess::new(model.clone()));
    let client = Client::builder(s.service_id, common::key_a())
        .base_url(s.emulator.base_url())
        .http_client(in_process)
        .build()
        .unwrap();
    let id = client
        .authorize(&AuthorizationRequest::new("alice"))
        .await
        .unwrap()
        .id;
    // Created in process, seen over the port (one platform).
    s.emulator.approve(&id).unwrap();
    assert!(matches!(
        s.client.get_authorization_response(&id).await.unwrap(),
        AuthorizationPoll::Responded(r) if r.authorized
    ));
    assert!(matches!(
        client.get_authorization_response(&id).await.unwrap(),
        AuthorizationPoll::Responded(r) if r.authorized
    ));
    let log = model.control(Control::ReadLog { limit: None }).unwrap();
    let polls = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"] == format!("/service/v3/auths/{}", id.as_str()))
        .count();
    assert_eq!(polls, 2);
}

/// Nothing grows per request beyond the bounded log and the bounded settled requests: many
/// requests later, the log, the received calls and the stored requests are at their caps.
#[tokio::test]
async fn nothing_grows_per_request() {
    let s = common::emu::setup_with(Emulator::builder().log_capacity(8).settled_capacity(4)).await;
    for _ in 0..12 {
        let id = s.authorize(&AuthorizationRequest::new("alice")).await;
        s.emulator.approve(&id).unwrap();
        s.client.get_authorization_response(&id).await.unwrap();
        // Unknown kids, unknown users, bad tokens: answered, not remembered.
        let _ = s.client.api_key(&format!("kid-{}", id.as_str())).await;
        let _ = s
            .client
            .authorize(&AuthorizationRequest::new("nobody"))
            .await;
    }
    let log = s
        .emulator
        .control(Control::ReadLog { limit: None })
        .unwrap();
    assert_eq!(log.as_array().unwrap().len(), 8);
    assert_eq!(s.emulator.received().len(), 8);
    assert_eq!(s.emulator.stored_requests(), 4);
    let err = s
        .client
        .authorize(&AuthorizationRequest::new("nobody"))
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(404));
}
