//! LaunchKey conformance suite: the Service Client's flows against the emulator, each over real
//! loopback HTTP and in process (no socket), and replays of recorded-style transcripts
//! (fixtures/launchkey/transcripts/). `cargo xtask conformance` prints one row per test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::time::Duration;

use auth_core::poll::PollConfig;
use auth_core::{StepUp, StepUpOutcome, StepUpRequest};
use common::scenario::{Setup, binary as setup_binary, in_process as setup_in_process, local};
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

/// Every scenario runs three times: over a real loopback socket (`name`), through the same
/// model with no socket at all (`in_process::name`, the client's HTTP client being
/// `Emulator::in_process()`), and against the `oob-auth-emulator` server binary
/// (`binary::name`: ignored unless asked for, see its docs).
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                scenarios::$name(local().await).await
            }
        )*

        /// The same scenarios, with no socket: the client calls the model in process.
        mod in_process {
            $(
                #[tokio::test]
                async fn $name() {
                    super::scenarios::$name(super::setup_in_process().await).await
                }
            )*
        }

        /// The same scenarios against the `oob-auth-emulator` server binary: its service and
        /// key from `GET /providers`, users made per scenario, the user played through the
        /// control API. Run with `cargo xtask conformance --binary` (which starts the server
        /// and sets `OOB_EMULATOR_URL`); without the variable each fails, saying so. One at a
        /// time: the server is shared.
        ///
        /// Left out: none.
        mod binary {
            $(
                auth_core::needs_emulator_server! {
                    async fn $name() {
                        super::scenarios::$name(super::setup_binary().await).await
                    }
                }
            )*
        }
    };
}

scenarios!(
    authorize_and_poll_until_approved,
    user_denies,
    user_denies_as_fraud_with_denial_reason,
    authorization_fails_on_device,
    legacy_auth_package_is_decoded,
    second_request_while_pending_is_authorization_in_progress,
    request_expires_after_ttl,
    cancel_pending_request,
    session_start_and_end,
    totp_verify,
    webhook_authorization_response,
    webhook_session_end,
    webhook_with_wrong_path_is_rejected,
    api_key_rotation_refetches_by_kid,
    tampered_response_body_is_rejected,
    mismatched_jti_is_rejected,
    status_claim_must_match_http_status,
    bad_authentication_tag_is_rejected,
    invalid_ttl_is_rejected_before_sending,
    step_up_interface_approves,
);

/// The scenarios, each given a client and a platform.
mod scenarios {
    use super::*;

    pub(super) async fn authorize_and_poll_until_approved(s: Setup) {
        let created = s
            .client
            .authorize(&AuthorizationRequest::new(&s.alice).context("Log in"))
            .await
            .unwrap();
        assert_eq!(
            s.client
                .get_authorization_response(&created.id)
                .await
                .unwrap(),
            AuthorizationPoll::Pending
        );
        s.emu.approve(&created.id).await.unwrap();
        let r = s
            .client
            .wait_for_response(&created.id, &fast_poll())
            .await
            .unwrap();
        assert!(r.authorized && !r.fraud);
    }

    pub(super) async fn user_denies(s: Setup) {
        let id = s
            .authorize(&AuthorizationRequest::new(&s.alice).denial_reasons(reasons()))
            .await;
        s.emu.deny(&id, Some("NO")).await.unwrap();
        let r = s.client.wait_for_response(&id, &fast_poll()).await.unwrap();
        assert!(!r.authorized && !r.fraud);
        assert_eq!(r.denial_reason.as_deref(), Some("NO"));
    }

    pub(super) async fn user_denies_as_fraud_with_denial_reason(s: Setup) {
        let id = s
            .authorize(&AuthorizationRequest::new(&s.alice).denial_reasons(reasons()))
            .await;
        s.emu.deny_fraud(&id, Some("FR")).await.unwrap();
        let r = s.client.wait_for_response(&id, &fast_poll()).await.unwrap();
        assert!(!r.authorized && r.fraud);
        assert_eq!(r.reason, Some(AuthResponseReason::Fraudulent));
        assert_eq!(r.denial_reason.as_deref(), Some("FR"));
    }

    pub(super) async fn authorization_fails_on_device(s: Setup) {
        let id = s.authorize(&AuthorizationRequest::new(&s.alice)).await;
        s.emu.fail(&id, AuthResponseReason::Sensor).await.unwrap();
        let r = s.client.wait_for_response(&id, &fast_poll()).await.unwrap();
        assert!(!r.authorized);
        assert_eq!(r.reason, Some(AuthResponseReason::Sensor));
    }

    pub(super) async fn legacy_auth_package_is_decoded(s: Setup) {
        s.emu.set_legacy_packages(true).await.unwrap();
        let id = s.authorize(&AuthorizationRequest::new(&s.alice)).await;
        s.emu.approve(&id).await.unwrap();
        let r = s.client.wait_for_response(&id, &fast_poll()).await;
        // Back to both packages before asserting: the server is shared.
        s.emu.set_legacy_packages(false).await.unwrap();
        let r = r.unwrap();
        assert!(r.authorized && r.legacy_package);
        // And both again: the device package is read.
        let id = s.authorize(&AuthorizationRequest::new(&s.alice)).await;
        s.emu.approve(&id).await.unwrap();
        let r = s.client.wait_for_response(&id, &fast_poll()).await.unwrap();
        assert!(r.authorized && !r.legacy_package);
    }

    pub(super) async fn second_request_while_pending_is_authorization_in_progress(s: Setup) {
        let first = s
            .client
            .authorize(&AuthorizationRequest::new(&s.alice))
            .await
            .unwrap();
        match s
            .client
            .authorize(&AuthorizationRequest::new(&s.alice))
            .await
        {
            Err(Error::AuthorizationInProgress(p)) => {
                assert_eq!(p.auth_request, first.id.as_str());
                assert!(p.from_same_service && p.expires.is_some());
            }
            other => panic!("{other:?}"),
        }
    }

    pub(super) async fn request_expires_after_ttl(s: Setup) {
        let id = s
            .authorize(&AuthorizationRequest::new(&s.alice).ttl(Duration::from_secs(30)))
            .await;
        s.emu.expire(&id).await.unwrap();
        assert_eq!(
            s.client.get_authorization_response(&id).await.unwrap(),
            AuthorizationPoll::TimedOut
        );
        assert!(matches!(
            s.client.wait_for_response(&id, &fast_poll()).await,
            Err(Error::AuthorizationExpired)
        ));
        s.client
            .authorize(&AuthorizationRequest::new(&s.alice))
            .await
            .unwrap();
    }

    pub(super) async fn cancel_pending_request(s: Setup) {
        let id = s.authorize(&AuthorizationRequest::new(&s.alice)).await;
        s.client.cancel_authorization_request(&id).await.unwrap();
        assert!(matches!(
            s.client.get_authorization_response(&id).await,
            Err(Error::AuthorizationCanceled)
        ));
    }

    pub(super) async fn session_start_and_end(s: Setup) {
        let id = s.authorize(&AuthorizationRequest::new(&s.alice)).await;
        s.emu.approve(&id).await.unwrap();
        assert!(!s.emu.has_session(s.service_id, &s.alice).await);
        s.client.session_start(&s.alice, Some(&id)).await.unwrap();
        assert!(s.emu.has_session(s.service_id, &s.alice).await);
        s.client.session_end(&s.alice).await.unwrap();
        assert!(!s.emu.has_session(s.service_id, &s.alice).await);
    }

    pub(super) async fn totp_verify(s: Setup) {
        s.emu.set_totp(&s.alice, "246810").await.unwrap();
        assert!(s.client.verify_totp(&s.alice, "246810").await.unwrap());
        assert!(!s.client.verify_totp(&s.alice, "000000").await.unwrap());
    }

    pub(super) async fn webhook_authorization_response(s: Setup) {
        let id = s.authorize(&AuthorizationRequest::new(&s.alice)).await;
        s.emu.approve(&id).await.unwrap();
        let wh = s
            .emu
            .authorization_webhook(&id, "/callbacks/launchkey")
            .await
            .unwrap();
        match s.client.handle_webhook(&wh).await.unwrap() {
            WebhookPackage::AuthorizationResponse(r) => {
                assert!(r.authorized && r.authorization_request_id == id.as_str())
            }
            other => panic!("{other:?}"),
        }
    }

    pub(super) async fn webhook_session_end(s: Setup) {
        let wh = s
            .emu
            .session_end_webhook(s.service_id, &s.alice, "/callbacks/launchkey")
            .await
            .unwrap();
        assert!(matches!(
            s.client.handle_webhook(&wh).await.unwrap(),
            WebhookPackage::ServiceUserSessionEnd(_)
        ));
    }

    pub(super) async fn webhook_with_wrong_path_is_rejected(s: Setup) {
        let wh = s
            .emu
            .session_end_webhook(s.service_id, &s.alice, "/callbacks/launchkey")
            .await
            .unwrap();
        assert!(matches!(
            s.client
                .handle_webhook(&common::at(&wh, "POST", "/elsewhere"))
                .await,
            Err(Error::ResponseVerification(VerificationError::Path { .. }))
        ));
    }

    pub(super) async fn api_key_rotation_refetches_by_kid(s: Setup) {
        s.client
            .authorize(&AuthorizationRequest::new(&s.alice))
            .await
            .unwrap();
        s.emu.rotate_api_key().await.unwrap();
        s.client
            .authorize(&AuthorizationRequest::new(&s.bob))
            .await
            .unwrap();
    }

    pub(super) async fn tampered_response_body_is_rejected(s: Setup) {
        s.emu.inject(Fault::TamperBody).await.unwrap();
        assert!(matches!(
            s.client
                .authorize(&AuthorizationRequest::new(&s.alice))
                .await,
            Err(Error::ResponseVerification(VerificationError::BodyHash(_)))
        ));
    }

    pub(super) async fn mismatched_jti_is_rejected(s: Setup) {
        s.emu.inject(Fault::WrongJti).await.unwrap();
        assert!(matches!(
            s.client
                .authorize(&AuthorizationRequest::new(&s.alice))
                .await,
            Err(Error::ResponseVerification(VerificationError::Jti))
        ));
    }

    pub(super) async fn status_claim_must_match_http_status(s: Setup) {
        s.emu.inject(Fault::WrongStatusClaim).await.unwrap();
        assert!(matches!(
            s.client
                .authorize(&AuthorizationRequest::new(&s.alice))
                .await,
            Err(Error::ResponseVerification(
                VerificationError::Status { .. }
            ))
        ));
    }

    pub(super) async fn bad_authentication_tag_is_rejected(s: Setup) {
        s.emu.inject(Fault::BadTag).await.unwrap();
        assert!(matches!(
            s.client
                .authorize(&AuthorizationRequest::new(&s.alice))
                .await,
            Err(Error::Decryption)
        ));
    }

    pub(super) async fn invalid_ttl_is_rejected_before_sending(s: Setup) {
        let before = s.emu.signed_calls().await;
        assert!(matches!(
            s.client
                .authorize(&AuthorizationRequest::new(&s.alice).ttl(Duration::from_secs(10)))
                .await,
            Err(Error::InvalidRequest { field: "ttl", .. })
        ));
        assert_eq!(s.emu.signed_calls().await, before, "nothing was sent");
    }

    pub(super) async fn step_up_interface_approves(s: Setup) {
        let h = s
            .client
            .start(StepUpRequest::new(&s.alice, "Confirm", "Pay 120 EUR?"))
            .await
            .unwrap()
            .into_handle();
        s.emu
            .approve(&launchkey::AuthRequestId::parse(&h.id).unwrap())
            .await
            .unwrap();
        let out = s.client.wait(&h, &fast_poll()).await.unwrap();
        assert!(matches!(out, StepUpOutcome::Approved { .. }));
    }
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
