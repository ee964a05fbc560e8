//! LaunchKey conformance suite: the Service Client's flows against the emulator over real
//! loopback HTTP, and replays of recorded-style transcripts (fixtures/launchkey/transcripts/).
//! `cargo xtask conformance` prints one row per test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::time::Duration;

use auth_core::poll::PollConfig;
use auth_core::{StepUp, StepUpOutcome, StepUpRequest};
use common::emu::setup;
use launchkey::emulator::Fault;
use launchkey::{
    AuthResponseReason, AuthorizationPoll, AuthorizationRequest, Client, DenialReason, Error,
    ServiceId, VerificationError, WebhookPackage,
};

fn fast_poll() -> PollConfig {
    PollConfig::every(Duration::from_millis(20), Duration::from_secs(10))
}

fn reasons() -> Vec<DenialReason> {
    vec![
        DenialReason::fraud("FR", "I did not start this"),
        DenialReason::not_fraud("NO", "Not now"),
    ]
}

#[tokio::test]
async fn authorize_and_poll_until_approved() {
    let s = setup().await;
    let created = s
        .client
        .authorize(&AuthorizationRequest::new("alice").context("Log in"))
        .await
        .unwrap();
    assert_eq!(
        s.client
            .get_authorization_response(&created.id)
            .await
            .unwrap(),
        AuthorizationPoll::Pending
    );
    s.emulator.approve(&created.id).unwrap();
    let r = s
        .client
        .wait_for_response(&created.id, &fast_poll())
        .await
        .unwrap();
    assert!(r.authorized && !r.fraud);
}

#[tokio::test]
async fn user_denies() {
    let s = setup().await;
    let id = s
        .authorize(&AuthorizationRequest::new("alice").denial_reasons(reasons()))
        .await;
    s.emulator.deny(&id, Some("NO")).unwrap();
    let r = s.client.wait_for_response(&id, &fast_poll()).await.unwrap();
    assert!(!r.authorized && !r.fraud);
    assert_eq!(r.denial_reason.as_deref(), Some("NO"));
}

#[tokio::test]
async fn user_denies_as_fraud_with_denial_reason() {
    let s = setup().await;
    let id = s
        .authorize(&AuthorizationRequest::new("alice").denial_reasons(reasons()))
        .await;
    s.emulator.deny_fraud(&id, Some("FR")).unwrap();
    let r = s.client.wait_for_response(&id, &fast_poll()).await.unwrap();
    assert!(!r.authorized && r.fraud);
    assert_eq!(r.reason, Some(AuthResponseReason::Fraudulent));
    assert_eq!(r.denial_reason.as_deref(), Some("FR"));
}

#[tokio::test]
async fn authorization_fails_on_device() {
    let s = setup().await;
    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    s.emulator.fail(&id, AuthResponseReason::Sensor).unwrap();
    let r = s.client.wait_for_response(&id, &fast_poll()).await.unwrap();
    assert!(!r.authorized);
    assert_eq!(r.reason, Some(AuthResponseReason::Sensor));
}

#[tokio::test]
async fn legacy_auth_package_is_decoded() {
    let s = setup().await;
    s.emulator.set_legacy_packages(true);
    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    s.emulator.approve(&id).unwrap();
    let r = s.client.wait_for_response(&id, &fast_poll()).await.unwrap();
    assert!(r.authorized && r.legacy_package);
}

#[tokio::test]
async fn second_request_while_pending_is_authorization_in_progress() {
    let s = setup().await;
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
        Err(Error::AuthorizationInProgress(p)) => {
            assert_eq!(p.auth_request, first.id.as_str());
            assert!(p.from_same_service && p.expires.is_some());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn request_expires_after_ttl() {
    let s = setup().await;
    let id = s
        .authorize(&AuthorizationRequest::new("alice").ttl(Duration::from_secs(30)))
        .await;
    s.emulator.expire(&id).unwrap();
    assert_eq!(
        s.client.get_authorization_response(&id).await.unwrap(),
        AuthorizationPoll::TimedOut
    );
    assert!(matches!(
        s.client.wait_for_response(&id, &fast_poll()).await,
        Err(Error::AuthorizationExpired)
    ));
    s.client
        .authorize(&AuthorizationRequest::new("alice"))
        .await
        .unwrap();
}

#[tokio::test]
async fn cancel_pending_request() {
    let s = setup().await;
    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    s.client.cancel_authorization_request(&id).await.unwrap();
    assert!(matches!(
        s.client.get_authorization_response(&id).await,
        Err(Error::AuthorizationCanceled)
    ));
}

#[tokio::test]
async fn session_start_and_end() {
    let s = setup().await;
    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    s.emulator.approve(&id).unwrap();
    s.client.session_start("alice", Some(&id)).await.unwrap();
    assert!(s.emulator.has_session(s.service_id, "alice"));
    s.client.session_end("alice").await.unwrap();
    assert!(!s.emulator.has_session(s.service_id, "alice"));
}

#[tokio::test]
async fn totp_verify() {
    let s = setup().await;
    s.emulator.set_totp("alice", "246810");
    assert!(s.client.verify_totp("alice", "246810").await.unwrap());
    assert!(!s.client.verify_totp("alice", "000000").await.unwrap());
}

#[tokio::test]
async fn webhook_authorization_response() {
    let s = setup().await;
    let id = s.authorize(&AuthorizationRequest::new("alice")).await;
    s.emulator.approve(&id).unwrap();
    let wh = s
        .emulator
        .authorization_webhook(&id, "/callbacks/launchkey")
        .unwrap();
    match s.client.handle_webhook(&wh).await.unwrap() {
        WebhookPackage::AuthorizationResponse(r) => {
            assert!(r.authorized && r.authorization_request_id == id.as_str())
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn webhook_session_end() {
    let s = setup().await;
    let wh = s
        .emulator
        .session_end_webhook(s.service_id, "alice", "/callbacks/launchkey")
        .unwrap();
    assert!(matches!(
        s.client.handle_webhook(&wh).await.unwrap(),
        WebhookPackage::ServiceUserSessionEnd(_)
    ));
}

#[tokio::test]
async fn webhook_with_wrong_path_is_rejected() {
    let s = setup().await;
    let wh = s
        .emulator
        .session_end_webhook(s.service_id, "alice", "/callbacks/launchkey")
        .unwrap();
    assert!(matches!(
        s.client
            .handle_webhook(&common::at(&wh, "POST", "/elsewhere"))
            .await,
        Err(Error::ResponseVerification(VerificationError::Path { .. }))
    ));
}

#[tokio::test]
async fn api_key_rotation_refetches_by_kid() {
    let s = setup().await;
    s.client
        .authorize(&AuthorizationRequest::new("alice"))
        .await
        .unwrap();
    s.emulator.rotate_api_key().unwrap();
    s.client
        .authorize(&AuthorizationRequest::new("bob"))
        .await
        .unwrap();
}

#[tokio::test]
async fn tampered_response_body_is_rejected() {
    let s = setup().await;
    s.emulator.inject(Fault::TamperBody).unwrap();
    assert!(matches!(
        s.client
            .authorize(&AuthorizationRequest::new("alice"))
            .await,
        Err(Error::ResponseVerification(VerificationError::BodyHash(_)))
    ));
}

#[tokio::test]
async fn mismatched_jti_is_rejected() {
    let s = setup().await;
    s.emulator.inject(Fault::WrongJti).unwrap();
    assert!(matches!(
        s.client
            .authorize(&AuthorizationRequest::new("alice"))
            .await,
        Err(Error::ResponseVerification(VerificationError::Jti))
    ));
}

#[tokio::test]
async fn status_claim_must_match_http_status() {
    let s = setup().await;
    s.emulator.inject(Fault::WrongStatusClaim).unwrap();
    assert!(matches!(
        s.client
            .authorize(&AuthorizationRequest::new("alice"))
            .await,
        Err(Error::ResponseVerification(
            VerificationError::Status { .. }
        ))
    ));
}

#[tokio::test]
async fn bad_authentication_tag_is_rejected() {
    let s = setup().await;
    s.emulator.inject(Fault::BadTag).unwrap();
    assert!(matches!(
        s.client
            .authorize(&AuthorizationRequest::new("alice"))
            .await,
        Err(Error::Decryption)
    ));
}

#[tokio::test]
async fn invalid_ttl_is_rejected_before_sending() {
    let s = setup().await;
    assert!(matches!(
        s.client
            .authorize(&AuthorizationRequest::new("alice").ttl(Duration::from_secs(10)))
            .await,
        Err(Error::InvalidRequest { field: "ttl", .. })
    ));
    assert!(s.emulator.received().is_empty());
}

#[tokio::test]
async fn step_up_interface_approves() {
    let s = setup().await;
    let h = s
        .client
        .start(StepUpRequest::new("alice", "Confirm", "Pay 120 EUR?"))
        .await
        .unwrap()
        .into_handle();
    s.emulator
        .approve(&launchkey::AuthRequestId::parse(&h.id).unwrap())
        .unwrap();
    let out = s.client.wait(&h, &fast_poll()).await.unwrap();
    assert!(matches!(out, StepUpOutcome::Approved { .. }));
}

fn replay_client(replay: &common::replay::Replay) -> Client {
    let id = ServiceId::parse(replay.transcript["service_id"].as_str().unwrap()).unwrap();
    Client::builder(id, common::key_a())
        .base_url(replay.server.uri())
        .build()
        .unwrap()
}

#[tokio::test]
async fn replay_recorded_poll_exchange() {
    let replay = common::replay::start("poll_approved.json").await;
    let client = replay_client(&replay);
    let id = launchkey::AuthRequestId::parse("a5f1d5b6-3af0-11e7-9b43-0469f8dc10a5").unwrap();
    assert_eq!(
        client.get_authorization_response(&id).await.unwrap(),
        AuthorizationPoll::Pending
    );
    let AuthorizationPoll::Responded(r) = client.get_authorization_response(&id).await.unwrap()
    else {
        panic!()
    };
    assert!(r.authorized);
    assert_eq!(
        r.device_id.as_deref(),
        Some("c07c7f2e-0b1d-11e7-9a5b-0469f8dc10a5")
    );
    assert_eq!(r.service_pins, ["1234", "3456", "5678"]);
    assert_eq!(
        (r.service_user_hash.as_str(), r.user_push_id.as_str()),
        ("suh-1", "upi-1")
    );
    let policy = r.policy.as_ref().unwrap();
    assert_eq!(
        policy.requirement,
        Some(launchkey::PolicyRequirement::CondGeo)
    );
    assert!(
        matches!(&policy.geofences[1], launchkey::Fence::Territory { country, .. } if country == "US")
    );
    assert_eq!(r.auth_methods.len(), 3);
    assert_eq!(r.auth_methods[2].method, launchkey::AuthMethodType::Face);
    assert_eq!(replay.remaining(), 0);
}

#[tokio::test]
async fn replay_recorded_create_in_progress() {
    let replay = common::replay::start("create_in_progress.json").await;
    let client = replay_client(&replay);
    match client.authorize(&AuthorizationRequest::new("alice")).await {
        Err(Error::AuthorizationInProgress(p)) => {
            assert_eq!(p.auth_request, "adc0d351-d8a8-11e8-9fe8-acde48001122");
            assert!(
                p.from_same_service,
                "my_auth is read when from_same_service is absent"
            );
            assert!(p.expires.is_some());
        }
        other => panic!("{other:?}"),
    }
    let created = client
        .authorize(&AuthorizationRequest::new("alice").ttl(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(created.id.as_str(), "b1c0d351-d8a8-11e8-9fe8-acde48001122");
    assert_eq!(replay.remaining(), 0);
}
