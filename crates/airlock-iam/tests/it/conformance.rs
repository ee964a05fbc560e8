//! Conformance suite: the canonical exchanges of spec §8.1 replayed from
//! `fixtures/airlock-iam/` (real HTTP, every request checked), and every flow variant and
//! error against the emulator: each scenario over real HTTP on loopback (`name`), in process
//! with no socket (`in_process::name`), and against the `oob-auth-emulator` server binary
//! (`binary::name`, ignored unless `cargo xtask conformance --binary` runs it).

// Test code: panicking on a broken expectation is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use airlock_iam::emulator::{EmulatedUser, Emulator, SecondFactor, codes};
use airlock_iam::{
    ApplicationId, Client, DeviceId, Endpoints, Error, ErrorCode, FlowState, NextAuthStep, Otp,
    Password, SavedFlow,
};
use auth_core::clock::FakeClock;
use auth_core::stepup::Started;
use auth_core::time::Timestamp;
use auth_core::{
    Classify, ErrorKind, SharedClock, StepUp, StepUpHandle, StepUpOutcome, StepUpRequest,
};
use auth_core::{PollConfig, PollStatus};
use common::Replay;
use common::emu::{Setup, Wire};

fn fast() -> PollConfig {
    PollConfig::every(Duration::from_millis(10), Duration::from_secs(10))
}

fn client(url: &str) -> Client {
    Client::builder(url).poll_config(fast()).build().unwrap()
}

fn pw(s: &str) -> Password {
    Password::new(s)
}

/// Every scenario runs three times: over a loopback socket (`name`), in process with no
/// socket (`in_process::name`), and against the emulator server binary (`binary::name`).
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                scenarios::$name(Wire::Socket).await
            }
        )*

        /// The same scenarios, with no socket: the client calls the model in process.
        mod in_process {
            $(
                #[tokio::test]
                async fn $name() {
                    super::scenarios::$name(super::Wire::InProcess).await
                }
            )*
        }

        /// The same scenarios against the `oob-auth-emulator` server binary at
        /// `OOB_EMULATOR_URL` (`cargo xtask conformance --binary` starts it and runs these);
        /// without it each fails, never passes.
        ///
        /// Left out (they need the crate's emulator itself):
        /// - `custom_users_and_no_default_users`: a builder without the default users (the
        ///   server always has them).
        /// - `the_model_is_served_elsewhere_with_the_same_state`: serves the Rust model on a
        ///   second port.
        /// - the `replay_*` tests: recorded transcripts from a local replay server, no emulator.
        mod binary {
            $(
                auth_core::needs_emulator_server! {
                    async fn $name() {
                        super::scenarios::$name(super::Wire::Binary).await
                    }
                }
            )*
        }
    };
}

scenarios!(
    mobile_only_flow_step_by_step,
    one_touch_approved_while_polling,
    one_touch_rejected_on_the_phone,
    one_touch_times_out_on_the_server,
    one_touch_time_out_hook,
    one_touch_switch_to_offline_passcode,
    offline_qr_code_after_switch,
    qr_code_retrieval_leaves_the_flow_where_the_server_is,
    device_choice_then_push,
    push_to_all_skips_device_choice,
    generic_otp_wrong_then_right,
    online_qr_code_then_polling,
    mandatory_password_change,
    unknown_step_code_surfaces_as_other,
    application_access_starts_and_confirms_the_flow,
    wrong_password_then_temporary_lock_then_success,
    locked_user_and_lock_after_repeated_failures,
    unexpected_call_without_a_flow,
    missing_csrf_header_is_refused,
    polling_deadline_and_cancellation,
    two_concurrent_flows_are_isolated,
    resume_a_saved_flow_in_another_client,
    resume_refuses_foreign_or_tampered_saved_state,
    abort_ends_the_server_session,
    base_paths_and_slashless_endpoints,
    step_up_through_the_auth_core_interface,
    step_up_handle_is_checked_by_a_fresh_client_after_a_restart,
    step_up_handles_of_another_loginapp_or_edited_are_refused,
    step_up_mobile_only_denied_expired_qr_and_unknown_user,
    step_up_offline_passcode_through_the_handle,
    step_up_refuses_sessions_it_cannot_drive,
    emulator_answers_every_transcript_in_the_same_shapes,
    secrets_never_in_debug_or_display,
    emulator_session_info_and_flow_delete,
    mobile_only_one_touch_and_step_up_played_with_control_commands,
    emulator_memory_is_bounded,
);

// ---- replays of the recorded transcripts ------------------------------------------------------

#[tokio::test]
async fn replay_mobile_only_transcript() {
    let r = Replay::start("mobile_only_happy_path").await;
    let flow = client(&r.loginapp_url()).flow();
    let step = flow.check_password("jdoe", &pw("password1")).await.unwrap();
    assert_eq!(
        step.next,
        Some(NextAuthStep::Airlock2faMobileOnlyChallengeRetrievalRequired)
    );
    assert_eq!(step.id, "551431015764101535");
    assert_eq!(
        step.meta.timestamp,
        Some(Timestamp::parse("2024-05-01T10:00:00.000+02:00").unwrap())
    );
    let challenge = flow.retrieve_mobile_only_challenge().await.unwrap();
    assert_eq!(challenge.id, "886213471502345678");
    assert_eq!(challenge.uri.scheme(), "airlock2fa");
    assert_eq!(
        challenge.uri.session_token().expose_secret(),
        "kq9XbT2mZr8sW1pN"
    );
    assert_eq!(
        challenge.uri.user_id(),
        "8c3d3ad0-6d3b-4f2e-9a3c-2d1f0e9b7a61"
    );
    assert!(matches!(
        flow.poll().await.unwrap(),
        PollStatus::Pending { .. }
    ));
    let done = flow.wait().await.unwrap();
    assert!(done.is_done());
    assert_eq!(flow.state(), FlowState::Done);
    r.assert_complete();
}

async fn replay_one_touch(name: &str) -> Result<airlock_iam::StepResponse, Error> {
    let r = Replay::start(name).await;
    let flow = client(&r.loginapp_url()).flow();
    let step = flow
        .check_password("alice", &pw("password1"))
        .await
        .unwrap();
    assert_eq!(
        step.next,
        Some(NextAuthStep::Airlock2faPollingOrOfflineRequired)
    );
    let out = flow.wait().await;
    r.assert_complete();
    out
}

#[tokio::test]
async fn replay_one_touch_approved() {
    assert!(
        replay_one_touch("one_touch_approved")
            .await
            .unwrap()
            .is_done()
    );
}

#[tokio::test]
async fn replay_one_touch_rejected() {
    let err = replay_one_touch("one_touch_rejected").await.unwrap_err();
    assert!(matches!(err, Error::Rejected { .. }), "{err:?}");
    assert_eq!(err.http_status(), Some(400));
}

#[tokio::test]
async fn replay_one_touch_timed_out() {
    let err = replay_one_touch("one_touch_timed_out").await.unwrap_err();
    assert!(matches!(err, Error::TimedOut { .. }), "{err:?}");
    // The 2FA request expired on the server: a timeout, but not the client's own deadline.
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(
        err.provider_code(),
        Some("AIRLOCK_2FA_AUTHENTICATION_TIMEOUT")
    );
    assert!(!matches!(err, Error::Core(_)));
}

#[tokio::test]
async fn replay_application_access_before_authentication() {
    let r = Replay::start("application_access_before_authentication").await;
    let c = Client::builder(r.loginapp_url())
        .target_application(ApplicationId::new("ebanking").unwrap())
        .build()
        .unwrap();
    let flow = c.flow();
    assert_eq!(
        flow.start().await.unwrap(),
        FlowState::Next(NextAuthStep::PasswordRequired)
    );
    let step = flow
        .check_password("carol", &pw("password1"))
        .await
        .unwrap();
    assert_eq!(step.next, Some(NextAuthStep::OtpRequired));
    r.assert_complete();
}

#[tokio::test]
async fn replay_wrong_password_then_temporarily_locked() {
    let r = Replay::start("wrong_password_then_temporarily_locked").await;
    let flow = client(&r.loginapp_url()).flow();
    let expiry = Timestamp::parse("2024-05-01T10:00:03.000+02:00").unwrap();
    match flow.check_password("jdoe", &pw("wrong-guess")).await {
        Err(Error::WrongPassword {
            temporary_lock_expiry,
            document,
        }) => {
            assert_eq!(temporary_lock_expiry, Some(expiry));
            assert_eq!(document.http_status, 400);
            assert_eq!(document.errors[0].id.as_deref(), Some("5112:9070"));
            assert_eq!(document.errors[0].status, Some(400));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        flow.state(),
        FlowState::Next(NextAuthStep::PasswordRequired)
    );
    match flow.check_password("jdoe", &pw("password1")).await {
        Err(Error::TemporarilyLocked { until, .. }) => assert_eq!(until, Some(expiry)),
        other => panic!("{other:?}"),
    }
    r.assert_complete();
}

#[tokio::test]
async fn replay_locked_account() {
    let r = Replay::start("locked_account").await;
    let flow = client(&r.loginapp_url()).flow();
    let err = flow
        .check_password("locked", &pw("password1"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UserLocked { .. }), "{err:?}");
    assert_eq!(err.http_status(), Some(403));
    assert_eq!(err.next_auth_step(), None);
    r.assert_complete();
}

#[tokio::test]
async fn replay_password_and_otp() {
    let r = Replay::start("password_and_otp").await;
    let flow = client(&r.loginapp_url()).flow();
    let step = flow
        .check_password("carol", &pw("password1"))
        .await
        .unwrap();
    assert_eq!(step.id, "c7a96a75-4b7e-4f7a-9c1e-3d5b2a1f0e9d");
    let err = flow.check_otp(&Otp::new("000000")).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::WrongOtp {
                temporary_lock_expiry: Some(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        flow.state(),
        FlowState::Next(NextAuthStep::OtpRequired),
        "same step"
    );
    assert!(flow.check_otp(&Otp::new("123456")).await.unwrap().is_done());
    r.assert_complete();
}

#[tokio::test]
async fn replay_device_choice() {
    let r = Replay::start("device_choice").await;
    let flow = client(&r.loginapp_url()).flow();
    let step = flow.check_password("bob", &pw("password1")).await.unwrap();
    assert_eq!(
        step.next,
        Some(NextAuthStep::Airlock2faDeviceChoiceRequired)
    );
    let devices = flow.retrieve_devices().await.unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0].display_name.as_deref(), Some("Bob's iPhone"));
    assert!(devices[0].has_capability("ONE_TOUCH"));
    assert_eq!(devices[0].kind.as_deref(), Some("IOS"));
    assert_eq!(devices[0].app_version_supported, Some(true));
    assert_eq!(devices[1].app_version, None);
    let step = flow.select_device(&devices[0].id).await.unwrap();
    assert_eq!(
        step.next,
        Some(NextAuthStep::Airlock2faPollingOrOfflineRequired)
    );
    assert!(flow.wait().await.unwrap().is_done());
    r.assert_complete();
}

#[tokio::test]
async fn replay_unknown_next_step_is_other() {
    let r = Replay::start("unknown_next_step").await;
    let flow = client(&r.loginapp_url()).flow();
    let step = flow
        .check_password("frank", &pw("password1"))
        .await
        .unwrap();
    let other = NextAuthStep::Other("TERMS_OF_SERVICES_ACCEPTANCE_REQUIRED".into());
    assert_eq!(step.next, Some(other.clone()));
    assert_eq!(step.attribute_str("termsVersion"), Some("2024-01"));
    assert_eq!(flow.state(), FlowState::Next(other));
    r.assert_complete();
}

#[tokio::test]
async fn replay_missing_csrf_header() {
    let r = Replay::start("missing_csrf_header").await;
    let flow = client(&r.loginapp_url()).flow();
    let err = flow
        .check_password("jdoe", &pw("password1"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CsrfHeaderMissing { .. }), "{err:?}");
    assert_eq!(err.http_status(), Some(403));
    r.assert_complete();
}

#[tokio::test]
async fn replay_internal_base_path_with_uuid_ids() {
    let r = Replay::start("internal_base_path_uuid_ids").await;
    assert!(r.loginapp_url().ends_with("/auth-login"));
    let flow = client(&r.loginapp_url()).flow();
    assert_eq!(
        flow.start().await.unwrap(),
        FlowState::Next(NextAuthStep::PasswordRequired)
    );
    flow.check_password("alice", &pw("password1"))
        .await
        .unwrap();
    assert!(flow.wait().await.unwrap().is_done());
    assert_eq!(
        flow.session_id().as_deref(),
        Some("c7a96a75-4b7e-4f7a-9c1e-3d5b2a1f0e9d")
    );
    assert_eq!(
        flow.access_default_application().await.unwrap(),
        FlowState::Done
    );
    r.assert_complete();
}

// ---- the scenarios, each on a wire -------------------------------------------------------------

/// The scenarios against the emulator, each given the wire to run on. Each scenario's users
/// are its own (`Setup::user`: a fresh user with the second factor of a default user).
mod scenarios {
    use super::*;

    /// A client of the Loginapp on `s`'s wire, polling fast.
    fn client_of(s: &Setup) -> Client {
        s.builder().poll_config(fast()).build().unwrap()
    }

    // ---- the seed's flow against the emulator, request by request ----------------------------

    pub(super) async fn mobile_only_flow_step_by_step(wire: Wire) {
        let s = Setup::start(wire).await;
        let jdoe = s.user("jdoe").await;
        let wire_log = common::Recording::new(s.http());
        let flow = s
            .builder()
            .http_client(wire_log.clone())
            .build()
            .unwrap()
            .flow();
        let mark = s.emu.log_mark().await;

        let step = flow.check_password(&jdoe, &pw("password1")).await.unwrap();
        assert_eq!(step.kind, "authentication.session");
        assert_eq!(
            step.next,
            Some(NextAuthStep::Airlock2faMobileOnlyChallengeRetrievalRequired)
        );
        let challenge = flow.retrieve_mobile_only_challenge().await.unwrap();
        assert!(challenge.id.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(
            flow.state(),
            FlowState::Next(NextAuthStep::Airlock2faPollingRequired)
        );
        for _ in 0..2 {
            assert!(matches!(
                flow.poll().await.unwrap(),
                PollStatus::Pending { .. }
            ));
        }
        // The app hands the token to Futurae; the user approves.
        assert!(
            s.emu
                .approve_session_token(challenge.uri.session_token().expose_secret())
                .await
        );
        let done = match flow.poll().await.unwrap() {
            PollStatus::Ready(s) => s,
            other => panic!("{other:?}"),
        };
        assert!(done.is_done() && done.attributes.is_empty());

        // The wire: the same requests, headers and bodies as the transcript.
        let reqs = wire_log.sent();
        let paths: Vec<&str> = reqs.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            s.emu
                .log_since(&mark)
                .await
                .iter()
                .map(|e| e.path.as_str())
                .collect::<Vec<_>>(),
            paths,
            "what the emulator received"
        );
        let a = "/auth/rest/public/authentication/";
        assert_eq!(
            paths,
            vec![
                format!("{a}password/check/"),
                format!("{a}airlock-2fa/mobile-only/challenge/retrieve/"),
                format!("{a}airlock-2fa/status/poll/"),
                format!("{a}airlock-2fa/status/poll/"),
                format!("{a}airlock-2fa/status/poll/"),
            ]
        );
        let cookie = |i: usize| {
            reqs[i]
                .headers
                .get("cookie")
                .map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(cookie(0), None);
        let session = cookie(1).unwrap();
        assert!(session.starts_with("JSESSIONID="));
        for (i, r) in reqs.iter().enumerate() {
            assert_eq!(r.method, "POST");
            assert_eq!(r.headers.get("x-same-domain").unwrap(), "1");
            assert_eq!(r.headers.get("content-type").unwrap(), "application/json");
            if i > 0 {
                assert_eq!(cookie(i).as_deref(), Some(session.as_str()));
                assert!(r.body.is_empty(), "bodiless POST");
            }
        }
        let body: serde_json::Value = serde_json::from_slice(&reqs[0].body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"username": jdoe, "password": "password1"})
        );
    }

    // ---- every variant -----------------------------------------------------------------------

    pub(super) async fn one_touch_approved_while_polling(wire: Wire) {
        let s = Setup::start(wire).await;
        let alice = s.user("alice").await;
        let flow = client_of(&s).flow();
        let mark = s.emu.log_mark().await;
        let step = flow.check_password(&alice, &pw("password1")).await.unwrap();
        assert_eq!(
            step.next,
            Some(NextAuthStep::Airlock2faPollingOrOfflineRequired)
        );
        assert_eq!(s.emu.pushes(&alice).await, vec![format!("{alice}-phone")]);
        let (done, approved) = tokio::join!(flow.wait(), async {
            tokio::time::sleep(Duration::from_millis(60)).await;
            s.emu.approve(&alice).await
        });
        assert!(approved);
        assert!(done.unwrap().is_done());
        let polls = s
            .emu
            .log_since(&mark)
            .await
            .iter()
            .filter(|r| r.path.ends_with("/status/poll/"))
            .count();
        assert!(polls >= 2, "polled {polls} times");
    }

    pub(super) async fn one_touch_rejected_on_the_phone(wire: Wire) {
        let s = Setup::start(wire).await;
        let alice = s.user("alice").await;
        let flow = client_of(&s).flow();
        flow.check_password(&alice, &pw("password1")).await.unwrap();
        assert!(s.emu.reject(&alice).await);
        let err = flow.wait().await.unwrap_err();
        assert!(matches!(err, Error::Rejected { .. }), "{err:?}");
        assert_eq!(
            err.code(),
            Some(&ErrorCode::Airlock2faAuthenticationRejected)
        );
        // The emulator restarts the flow: another poll is an unexpected call.
        let again = flow.poll().await.unwrap_err();
        assert!(matches!(again, Error::UnexpectedCall { .. }), "{again:?}");
        assert_eq!(
            flow.state(),
            FlowState::Next(NextAuthStep::PasswordRequired)
        );
    }

    /// The 2FA request runs out on the emulator's clock: the client's clock is the emulator's
    /// time, each of its sleeps moves the emulator's clock as far, and the 24th poll (5 s
    /// apart, the request lives 120 s) is answered with the timeout.
    pub(super) async fn one_touch_times_out_on_the_server(wire: Wire) {
        let s = Setup::start(wire).await;
        let alice = s.user("alice").await;
        let clock = s.synced_clock().await;
        let c = s
            .builder()
            .clock(clock.clone() as SharedClock)
            .poll_config(
                PollConfig::every(Duration::from_secs(5), Duration::from_secs(300))
                    .with_jitter(0.0),
            )
            .build()
            .unwrap();
        let flow = c.flow();
        flow.check_password(&alice, &pw("password1")).await.unwrap();
        let err = flow.wait().await.unwrap_err();
        assert!(matches!(err, Error::TimedOut { .. }), "{err:?}");
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(5); 24]);
    }

    pub(super) async fn one_touch_time_out_hook(wire: Wire) {
        let s = Setup::start(wire).await;
        let alice = s.user("alice").await;
        let flow = client_of(&s).flow();
        flow.check_password(&alice, &pw("password1")).await.unwrap();
        assert!(s.emu.time_out(&alice).await);
        assert!(!s.emu.time_out(&alice).await, "nothing pending any more");
        assert!(matches!(flow.wait().await, Err(Error::TimedOut { .. })));
    }

    pub(super) async fn one_touch_switch_to_offline_passcode(wire: Wire) {
        let s = Setup::start(wire).await;
        let alice = s.user("alice").await;
        let flow = client_of(&s).flow();
        flow.check_password(&alice, &pw("password1")).await.unwrap();
        let step = flow.switch_to_offline().await.unwrap();
        assert_eq!(
            step.next,
            Some(NextAuthStep::Other(codes::AIRLOCK_2FA_OTP_REQUIRED.into()))
        );
        assert!(step.attributes.get("qrCode").is_none());
        assert_eq!(
            s.emu.pending_count(&alice).await,
            0,
            "the push was withdrawn"
        );
        let passcode = s.emu.passcode(&alice).await.unwrap();
        assert!(
            flow.check_passcode(&Otp::new(passcode))
                .await
                .unwrap()
                .is_done()
        );
    }

    pub(super) async fn offline_qr_code_after_switch(wire: Wire) {
        let s = Setup::start(wire).await;
        let erin = s.user("erin").await;
        let flow = client_of(&s).flow();
        flow.check_password(&erin, &pw("password1")).await.unwrap();
        let step = flow.switch_to_offline().await.unwrap();
        let qr = step.attribute_str("qrCode").unwrap();
        assert!(qr.starts_with("data:"));
        let err = flow.check_passcode(&Otp::new("not-it")).await.unwrap_err();
        assert!(matches!(err, Error::WrongOtp { .. }), "{err:?}");
    }

    /// The QR answer names no next step: after retrieving the offline QR code the client stays
    /// at the OTP step the server is at, where a poll is an `UNEXPECTED_CALL` (the emulator says
    /// so); the passcode is what comes next.
    pub(super) async fn qr_code_retrieval_leaves_the_flow_where_the_server_is(wire: Wire) {
        let s = Setup::start(wire).await;
        let (erin, alice) = (s.user("erin").await, s.user("alice").await);
        let flow = client_of(&s).flow();
        flow.check_password(&erin, &pw("password1")).await.unwrap();
        let step = flow.switch_to_offline().await.unwrap();
        let otp_step = FlowState::Next(NextAuthStep::Other(codes::AIRLOCK_2FA_OTP_REQUIRED.into()));
        assert_eq!(flow.state(), otp_step);
        let qr = flow.retrieve_qr_code().await.unwrap();
        assert_eq!(
            qr.image.as_ref().unwrap().expose_secret(),
            step.attribute_str("qrCode").unwrap(),
            "the same code as the switch showed"
        );
        assert_eq!(flow.state(), otp_step, "the QR answer moves nothing");
        let err = flow.poll().await.unwrap_err();
        assert!(matches!(err, Error::UnexpectedCall { .. }), "{err:?}");
        assert_eq!(err.next_auth_step(), otp_step.next_step());
        assert_eq!(flow.state(), otp_step);
        let passcode = s.emu.passcode(&erin).await.unwrap();
        assert!(
            flow.check_passcode(&Otp::new(passcode))
                .await
                .unwrap()
                .is_done()
        );
        // Without a QR code at the current step (One-Touch with the passcode only), there is
        // none to fetch.
        let flow = client_of(&s).flow();
        flow.check_password(&alice, &pw("password1")).await.unwrap();
        flow.switch_to_offline().await.unwrap();
        let err = flow.retrieve_qr_code().await.unwrap_err();
        assert!(matches!(err, Error::UnexpectedCall { .. }), "{err:?}");
    }

    pub(super) async fn device_choice_then_push(wire: Wire) {
        let s = Setup::start(wire).await;
        let bob = s.user("bob").await;
        let flow = client_of(&s).flow();
        let step = flow.check_password(&bob, &pw("password1")).await.unwrap();
        assert_eq!(
            step.next,
            Some(NextAuthStep::Airlock2faDeviceChoiceRequired)
        );
        assert!(
            s.emu.pushes(&bob).await.is_empty(),
            "no push before the choice"
        );
        let devices = flow.retrieve_devices().await.unwrap();
        let ids: Vec<&str> = devices.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, vec!["bob-iphone", "bob-pixel"]);
        let bad = flow
            .select_device(&DeviceId::new("someone-else").unwrap())
            .await
            .unwrap_err();
        assert!(
            matches!(bad.code(), Some(ErrorCode::Other(c)) if c == codes::INVALID_DEVICE_ID),
            "{bad:?}"
        );
        assert_eq!(
            flow.state(),
            FlowState::Next(NextAuthStep::Airlock2faDeviceChoiceRequired)
        );
        let step = flow.select_device(&devices[1].id).await.unwrap();
        assert_eq!(
            step.next,
            Some(NextAuthStep::Airlock2faPollingOrOfflineRequired)
        );
        assert_eq!(s.emu.pushes(&bob).await, vec!["bob-pixel".to_string()]);
        s.emu.approve(&bob).await;
        assert!(flow.wait().await.unwrap().is_done());
    }

    pub(super) async fn push_to_all_skips_device_choice(wire: Wire) {
        let s = Setup::start(wire).await;
        s.emu.push_to_all().await;
        let bob = s.user("bob").await;
        let flow = client_of(&s).flow();
        let step = flow.check_password(&bob, &pw("password1")).await.unwrap();
        assert_eq!(
            step.next,
            Some(NextAuthStep::Airlock2faPollingOrOfflineRequired)
        );
        assert_eq!(s.emu.pushes(&bob).await.len(), 2);
    }

    pub(super) async fn generic_otp_wrong_then_right(wire: Wire) {
        let s = Setup::start(wire).await;
        let carol = s.user("carol").await;
        let clock = s.synced_clock().await;
        let c = s
            .builder()
            .clock(clock.clone() as SharedClock)
            .build()
            .unwrap();
        let flow = c.flow();
        let step = flow.check_password(&carol, &pw("password1")).await.unwrap();
        assert_eq!(step.next, Some(NextAuthStep::OtpRequired));
        let err = flow.check_otp(&Otp::new("999999x")).await.unwrap_err();
        let expiry = match &err {
            Error::WrongOtp {
                temporary_lock_expiry: Some(t),
                ..
            } => *t,
            other => panic!("{other:?}"),
        };
        // Three seconds from the emulator's now (the client shows the emulator's time; a few
        // milliseconds went by since).
        assert_three_seconds_ahead(expiry.remaining(auth_core::Clock::now(&*clock)));
        // Before the expiry even the right OTP is refused.
        let right = s.emu.passcode(&carol).await.unwrap();
        let err = flow.check_otp(&Otp::new(right)).await.unwrap_err();
        assert!(matches!(err, Error::TemporarilyLocked { .. }), "{err:?}");
        clock.advance(Duration::from_secs(3)).await.unwrap();
        let right = s.emu.passcode(&carol).await.unwrap();
        assert!(flow.check_otp(&Otp::new(right)).await.unwrap().is_done());
    }

    /// A lock expiry three seconds after the emulator's now, read on the client's clock a few
    /// milliseconds later.
    fn assert_three_seconds_ahead(remaining: Duration) {
        assert!(
            remaining > Duration::from_millis(2_500) && remaining <= Duration::from_millis(3_100),
            "{remaining:?}"
        );
    }

    pub(super) async fn online_qr_code_then_polling(wire: Wire) {
        let s = Setup::start(wire).await;
        let dave = s.user("dave").await;
        let flow = client_of(&s).flow();
        let step = flow.check_password(&dave, &pw("password1")).await.unwrap();
        assert_eq!(step.next, Some(NextAuthStep::Airlock2faPollingRequired));
        let shown = step.attribute_str("qrCode").unwrap().to_owned();
        assert!(shown.starts_with("data:"));
        // Fetching it again (a page reload) changes nothing.
        let qr = flow.retrieve_qr_code().await.unwrap();
        assert_eq!(qr.image.as_ref().unwrap().expose_secret(), shown);
        assert!(!format!("{qr:?}").contains("session_token"));
        assert_eq!(
            flow.state(),
            FlowState::Next(NextAuthStep::Airlock2faPollingRequired)
        );
        assert!(matches!(
            flow.poll().await.unwrap(),
            PollStatus::Pending { .. }
        ));
        s.emu.approve(&dave).await;
        assert!(flow.wait().await.unwrap().is_done());
    }

    pub(super) async fn mandatory_password_change(wire: Wire) {
        let s = Setup::start(wire).await;
        let grace = s.user("grace").await;
        let c = client_of(&s);
        let flow = c.flow();
        let step = flow.check_password(&grace, &pw("password1")).await.unwrap();
        assert_eq!(
            step.next,
            Some(NextAuthStep::Other(codes::PASSWORD_CHANGE_REQUIRED.into()))
        );
        let weak = flow
            .change_password(Some(&pw("password1")), &pw("short"))
            .await
            .unwrap_err();
        assert!(
            matches!(weak.code(), Some(ErrorCode::Other(c)) if c == codes::PASSWORD_POLICY_VIOLATION),
            "{weak:?}"
        );
        assert_eq!(
            weak.next_auth_step(),
            Some(&NextAuthStep::Other(codes::PASSWORD_CHANGE_REQUIRED.into()))
        );
        let step = flow
            .change_password(Some(&pw("password1")), &pw("a-much-better-one"))
            .await
            .unwrap();
        assert_eq!(
            step.next,
            Some(NextAuthStep::Airlock2faMobileOnlyChallengeRetrievalRequired)
        );
        let again = c.flow();
        let step = again
            .check_password(&grace, &pw("a-much-better-one"))
            .await
            .unwrap();
        assert!(step.next.is_some());
    }

    pub(super) async fn unknown_step_code_surfaces_as_other(wire: Wire) {
        let s = Setup::start(wire).await;
        let frank = s.user("frank").await;
        let flow = client_of(&s).flow();
        let step = flow.check_password(&frank, &pw("password1")).await.unwrap();
        let tos = NextAuthStep::Other("TERMS_OF_SERVICES_ACCEPTANCE_REQUIRED".into());
        assert_eq!(step.next, Some(tos.clone()));
        assert_eq!(flow.state(), FlowState::Next(tos));
    }

    pub(super) async fn application_access_starts_and_confirms_the_flow(wire: Wire) {
        let s = Setup::start(wire).await;
        let alice = s.user("alice").await;
        let c = s
            .builder()
            .target_application(ApplicationId::new("ebanking").unwrap())
            .poll_config(fast())
            .build()
            .unwrap();
        let flow = c.flow();
        assert_eq!(
            flow.start().await.unwrap(),
            FlowState::Next(NextAuthStep::PasswordRequired)
        );
        flow.check_password(&alice, &pw("password1")).await.unwrap();
        s.emu.approve(&alice).await;
        flow.wait().await.unwrap();
        assert_eq!(
            flow.start().await.unwrap(),
            FlowState::Done,
            "authorized now"
        );
        let missing = flow
            .access_application(&ApplicationId::new("nope").unwrap())
            .await
            .unwrap_err();
        assert_eq!(missing.http_status(), Some(404));
    }

    // ---- every error -------------------------------------------------------------------------

    pub(super) async fn wrong_password_then_temporary_lock_then_success(wire: Wire) {
        let s = Setup::start(wire).await;
        let jdoe = s.user("jdoe").await;
        let clock = s.synced_clock().await;
        let c = s
            .builder()
            .clock(clock.clone() as SharedClock)
            .build()
            .unwrap();
        let flow = c.flow();
        let err = flow.check_password(&jdoe, &pw("nope")).await.unwrap_err();
        let Error::WrongPassword {
            temporary_lock_expiry: Some(until),
            ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_three_seconds_ahead(until.remaining(auth_core::Clock::now(&*clock)));
        assert_eq!(err.next_auth_step(), Some(&NextAuthStep::PasswordRequired));
        let err = flow
            .check_password(&jdoe, &pw("password1"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::TemporarilyLocked { until: Some(_), .. }),
            "{err:?}"
        );
        // Unknown users get the same answers (no user enumeration).
        let err = c
            .flow()
            .check_password(&common::emu::unique("nobody"), &pw("x"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::WrongPassword { .. }), "{err:?}");
        clock.advance(Duration::from_secs(3)).await.unwrap();
        assert!(flow.check_password(&jdoe, &pw("password1")).await.is_ok());
    }

    pub(super) async fn locked_user_and_lock_after_repeated_failures(wire: Wire) {
        let s = Setup::start(wire).await;
        s.emu.set_temporary_lock(0).await;
        s.emu.set_max_failed_attempts(3).await;
        let (locked, alice) = (s.user("locked").await, s.user("alice").await);
        let c = client_of(&s);
        let err = c
            .flow()
            .check_password(&locked, &pw("password1"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::UserLocked { .. }), "{err:?}");
        for _ in 0..3 {
            let e = c
                .flow()
                .check_password(&alice, &pw("bad"))
                .await
                .unwrap_err();
            assert!(matches!(e, Error::WrongPassword { .. }), "{e:?}");
        }
        assert!(s.emu.is_locked(&alice).await);
        let err = c
            .flow()
            .check_password(&alice, &pw("password1"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::UserLocked { .. }), "{err:?}");
    }

    pub(super) async fn unexpected_call_without_a_flow(wire: Wire) {
        let s = Setup::start(wire).await;
        let flow = client_of(&s).flow();
        let err = flow.poll().await.unwrap_err();
        assert!(matches!(err, Error::UnexpectedCall { .. }), "{err:?}");
        assert_eq!(err.http_status(), Some(400));
        assert_eq!(
            flow.state(),
            FlowState::Next(NextAuthStep::PasswordRequired)
        );
        let err = flow.retrieve_devices().await.unwrap_err();
        assert!(matches!(err, Error::UnexpectedCall { .. }), "{err:?}");
    }

    pub(super) async fn missing_csrf_header_is_refused(wire: Wire) {
        let s = Setup::start(wire).await;
        let jdoe = s.user("jdoe").await;
        let inner = s.http();
        let strip = move |mut req: auth_core::HttpRequest| {
            let inner = inner.clone();
            async move {
                req.headers_mut().remove("x-same-domain");
                inner.execute(req).await
            }
        };
        let c = s.builder().http_client(Arc::new(strip)).build().unwrap();
        let err = c
            .flow()
            .check_password(&jdoe, &pw("password1"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::CsrfHeaderMissing { .. }), "{err:?}");
        assert_eq!(err.http_status(), Some(403));
        // With protection off, the same request passes.
        s.emu.disable_csrf_protection().await;
        assert!(
            c.flow()
                .check_password(&jdoe, &pw("password1"))
                .await
                .is_ok()
        );
    }

    pub(super) async fn polling_deadline_and_cancellation(wire: Wire) {
        let s = Setup::start(wire).await;
        let alice = s.user("alice").await;
        let clock = FakeClock::at_unix(1_800_000_000);
        let c = s.builder().clock(Arc::new(clock.clone())).build().unwrap();
        let flow = c.flow();
        flow.check_password(&alice, &pw("password1")).await.unwrap();
        let err = flow
            .wait_with(
                &PollConfig::every(Duration::from_secs(2), Duration::from_secs(10))
                    .with_jitter(0.0),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
        assert!(matches!(
            err,
            Error::Core(auth_core::Error::DeadlineExceeded { attempts: 6, .. })
        ));

        let real = client_of(&s).flow();
        real.check_password(&alice, &pw("password1")).await.unwrap();
        let err = real
            .wait_or_cancel(&fast(), tokio::time::sleep(Duration::from_millis(50)))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Core(auth_core::Error::Cancelled)),
            "{err:?}"
        );
        assert_eq!(
            s.emu.pending_count(&alice).await,
            2,
            "both pushes still pending"
        );
    }

    // ---- sessions ----------------------------------------------------------------------------

    pub(super) async fn two_concurrent_flows_are_isolated(wire: Wire) {
        let s = Setup::start(wire).await;
        let (jdoe, alice) = (s.user("jdoe").await, s.user("alice").await);
        let sessions = s.emu.session_count().await;
        let c = client_of(&s);
        let (a, b) = (c.flow(), c.flow());
        let password = pw("password1");
        let (ra, rb) = tokio::join!(
            a.check_password(&jdoe, &password),
            b.check_password(&alice, &password)
        );
        assert_eq!(
            ra.unwrap().next,
            Some(NextAuthStep::Airlock2faMobileOnlyChallengeRetrievalRequired)
        );
        assert_eq!(
            rb.unwrap().next,
            Some(NextAuthStep::Airlock2faPollingOrOfflineRequired)
        );
        assert_eq!(s.emu.session_count().await, sessions + 2);
        let sa = a.save().cookies.cookies()[0].expose_value().to_owned();
        let sb = b.save().cookies.cookies()[0].expose_value().to_owned();
        assert_ne!(sa, sb);
        a.retrieve_mobile_only_challenge().await.unwrap();
        s.emu.approve(&alice).await;
        let (pa, pb) = tokio::join!(a.poll(), b.poll());
        assert!(
            matches!(pa.unwrap(), PollStatus::Pending { .. }),
            "jdoe still waits"
        );
        assert!(matches!(pb.unwrap(), PollStatus::Ready(ref s) if s.is_done()));
        // alice's device step is not reachable from jdoe's session.
        assert!(matches!(
            a.switch_to_offline().await,
            Err(Error::UnexpectedCall { .. })
        ));
    }

    pub(super) async fn resume_a_saved_flow_in_another_client(wire: Wire) {
        let s = Setup::start(wire).await;
        let jdoe = s.user("jdoe").await;
        let json = {
            let flow = client_of(&s).flow();
            flow.check_password(&jdoe, &pw("password1")).await.unwrap();
            let challenge = flow.retrieve_mobile_only_challenge().await.unwrap();
            s.emu
                .approve_session_token(challenge.uri.session_token().expose_secret())
                .await;
            let saved = flow.save();
            assert!(!format!("{saved:?}").contains(saved.cookies.cookies()[0].expose_value()));
            serde_json::to_string(&saved).unwrap()
        };
        let mut saved: SavedFlow = serde_json::from_str(&json).unwrap();
        let other = client_of(&s);
        saved.version = 99;
        assert!(is_invalid_setting(
            &other.resume(saved.clone()).map(|_| ()).unwrap_err()
        ));
        saved.version = SavedFlow::VERSION;
        let flow = other.resume(saved).unwrap();
        assert_eq!(
            flow.state(),
            FlowState::Next(NextAuthStep::Airlock2faPollingRequired)
        );
        assert!(flow.wait().await.unwrap().is_done());
    }

    pub(super) async fn resume_refuses_foreign_or_tampered_saved_state(wire: Wire) {
        let s = Setup::start(wire).await;
        let alice = s.user("alice").await;
        let flow = client_of(&s).flow();
        flow.check_password(&alice, &pw("password1")).await.unwrap();
        let saved = flow.save();
        let json = serde_json::to_value(&saved).unwrap();
        // The same emulator under another host name: the host-only session cookie is not its
        // own.
        let foreign = s
            .builder_at(&format!("http://localhost:{}/auth", s.emu.port()))
            .poll_config(fast())
            .build()
            .unwrap();
        let err = foreign.resume(saved.clone()).map(|_| ()).unwrap_err();
        assert!(is_invalid_setting(&err), "{err:?}");
        assert!(err.to_string().contains("another Loginapp"), "{err}");
        // A version-1 saved flow (no Loginapp named) is still checked by its cookies.
        let mut v1 = saved.clone();
        v1.version = 1;
        v1.loginapp = None;
        let err = foreign.resume(v1).map(|_| ()).unwrap_err();
        assert!(err.to_string().contains("another host"), "{err}");
        // Tampered cookies and session ids are refused before anything is sent.
        let mark = s.emu.log_mark().await;
        let tamper = |pointer: &str, value: serde_json::Value| {
            let mut j = json.clone();
            *j.pointer_mut(pointer).unwrap() = value;
            serde_json::from_value::<SavedFlow>(j).unwrap()
        };
        let own = client_of(&s);
        for bad in [
            tamper("/cookies/cookies/0/value", "v\r\nX-Injected: 1".into()),
            tamper("/cookies/cookies/0/domain", "evil.example".into()),
            tamper("/cookies/cookies/0/path", "no-slash".into()),
            tamper("/session_id", "id\u{0}".into()),
            tamper("/csrf", "a\nb".into()),
        ] {
            let err = own.resume(bad).map(|_| ()).unwrap_err();
            assert!(is_invalid_setting(&err), "{err:?}");
        }
        assert_eq!(s.emu.log_since(&mark).await, Vec::new(), "nothing sent");
        // The untouched state resumes and continues the same server session.
        let resumed = own.resume(saved).unwrap();
        s.emu.approve(&alice).await;
        assert!(resumed.wait().await.unwrap().is_done());
    }

    pub(super) async fn abort_ends_the_server_session(wire: Wire) {
        let s = Setup::start(wire).await;
        let alice = s.user("alice").await;
        let sessions = s.emu.session_count().await;
        let flow = client_of(&s).flow();
        flow.check_password(&alice, &pw("password1")).await.unwrap();
        assert_eq!(s.emu.session_count().await, sessions + 1);
        assert!(flow.abort().await.unwrap());
        assert_eq!(s.emu.session_count().await, sessions);
        assert_eq!(flow.state(), FlowState::Start);
        assert_eq!(flow.cookie_count(), 0);
        assert!(matches!(
            flow.poll().await,
            Err(Error::UnexpectedCall { .. })
        ));
    }

    pub(super) async fn base_paths_and_slashless_endpoints(wire: Wire) {
        let s = Setup::start(wire).await;
        let alice = s.user("alice").await;
        let mark = s.emu.log_mark().await;
        let mut slashless = Endpoints::default();
        slashless.password_check = "public/authentication/password/check".into();
        slashless.status_poll = "public/authentication/airlock-2fa/status/poll".into();
        for base in [
            s.emu.root_url().to_string(),
            format!("{}/auth-login", s.emu.root_url()),
            s.emu.base_url().to_string(),
        ] {
            let c = s
                .builder_at(&base)
                .endpoints(slashless.clone())
                .build()
                .unwrap();
            let flow = c.flow();
            flow.check_password(&alice, &pw("password1")).await.unwrap();
            s.emu.approve(&alice).await;
            assert!(matches!(flow.poll().await.unwrap(), PollStatus::Ready(ref s) if s.is_done()));
        }
        let paths: Vec<String> = s
            .emu
            .log_since(&mark)
            .await
            .iter()
            .map(|r| r.path.clone())
            .collect();
        assert!(paths.contains(&"/rest/public/authentication/password/check".to_string()));
        assert!(paths.contains(
            &"/auth-login/rest/public/authentication/airlock-2fa/status/poll".to_string()
        ));
    }

    // ---- auth-core step-up interface ---------------------------------------------------------

    /// A client whose users log in to `portal` (password only) and step up to `ebanking` (2FA).
    fn step_up_client(s: &Setup) -> Client {
        step_up_client_at(s, s.emu.base_url().as_str())
    }

    fn step_up_client_at(s: &Setup, url: &str) -> Client {
        s.builder_at(url)
            .target_application(ApplicationId::new("portal").unwrap())
            .step_up_application(ApplicationId::new("ebanking").unwrap())
            .poll_config(fast())
            .build()
            .unwrap()
    }

    pub(super) async fn step_up_through_the_auth_core_interface(wire: Wire) {
        let s = Setup::start(wire).await;
        let alice = s.user("alice").await;
        let c = step_up_client(&s);
        let caps = c.capabilities();
        assert!(caps.pollable && caps.portable_handle, "{caps:?}");
        assert!(
            !caps.start_blocks && !caps.needs_browser && !caps.webhook,
            "{caps:?}"
        );
        logged_in(&c, &alice).await;
        let handle = pending_handle(
            c.start(StepUpRequest::new(&alice, "Confirm", "Pay 120 EUR?"))
                .await
                .unwrap(),
        );
        assert_eq!(handle.provider, "airlock-iam");
        assert_eq!(s.emu.pushes(&alice).await.len(), 1);
        assert!(matches!(
            c.check(&handle).await.unwrap(),
            PollStatus::Pending { .. }
        ));
        s.emu.approve(&alice).await;
        // A handle whose user was edited (it may travel through the app's storage) is refused
        // before anything is sent, and leaves the real step-up untouched.
        let mut edited = handle.clone();
        edited.user = "mallory".into();
        let err = c.check(&edited).await.unwrap_err();
        assert!(is_invalid_setting(&err), "{err:?}");
        assert!(c.session("mallory").is_none());
        // Another provider's handle is refused by the shared rule.
        let mut foreign = handle.clone();
        foreign.provider = "launchkey".into();
        let err = c.check(&foreign).await.unwrap_err();
        assert!(
            matches!(err, Error::Core(auth_core::Error::ForeignHandle { .. })),
            "{err:?}"
        );
        let outcome = c.wait(&handle, &fast()).await.unwrap();
        assert!(outcome.is_approved(), "{outcome:?}");
        // The user's session now reaches the demanding application.
        assert!(reaches_ebanking(&c, &alice).await);
        // Already authorized: the next step-up is settled at once, and its check confirms it.
        let started = c.start(StepUpRequest::new(&alice, "t", "m")).await.unwrap();
        assert!(
            started.outcome().is_some_and(StepUpOutcome::is_approved),
            "{started:?}"
        );
        assert_eq!(s.emu.pushes(&alice).await.len(), 1, "no second push");
        assert!(matches!(
            c.check(started.handle()).await.unwrap(),
            PollStatus::Ready(StepUpOutcome::Approved { .. })
        ));
        // Debug shows no secret: the state (the session) is redacted.
        let cookie = c.session(&alice).unwrap().cookies.cookies()[0]
            .expose_value()
            .to_owned();
        assert!(!format!("{handle:?}").contains(&cookie));
    }

    /// The handle is portable: started by one client, serialized, and checked by a fresh client
    /// (as after a process restart) that never saw the step-up.
    pub(super) async fn step_up_handle_is_checked_by_a_fresh_client_after_a_restart(wire: Wire) {
        let s = Setup::start(wire).await;
        let (alice, jdoe) = (s.user("alice").await, s.user("jdoe").await);
        let (one_touch, mobile_only) = {
            let first = step_up_client(&s);
            logged_in(&first, &alice).await;
            logged_in(&first, &jdoe).await;
            let a = pending_handle(
                first
                    .start(StepUpRequest::new(&alice, "t", "m"))
                    .await
                    .unwrap(),
            );
            let j = pending_handle(
                first
                    .start(StepUpRequest::new(&jdoe, "t", "m"))
                    .await
                    .unwrap(),
            );
            (
                serde_json::to_string(&a).unwrap(),
                serde_json::to_string(&j).unwrap(),
            )
        }; // the first client is gone
        s.emu.approve(&alice).await;
        let fresh = step_up_client(&s);
        assert!(fresh.session(&alice).is_none());
        let a: StepUpHandle = serde_json::from_str(&one_touch).unwrap();
        let outcome = fresh.wait(&a, &fast()).await.unwrap();
        assert!(outcome.is_approved(), "{outcome:?}");
        // The fresh client now holds alice's upgraded session.
        assert!(reaches_ebanking(&fresh, &alice).await);
        // A second check (another process collected the approval first) asks the server again.
        let again = step_up_client(&s);
        assert!(matches!(
            again.check(&a).await.unwrap(),
            PollStatus::Ready(StepUpOutcome::Approved { .. })
        ));
        // Mobile-only: the link travels in the handle too.
        let j: StepUpHandle = serde_json::from_str(&mobile_only).unwrap();
        let uri = fresh.step_up_mobile_auth_uri(&j).unwrap();
        assert!(fresh.step_up_qr_code(&j).is_none());
        assert!(matches!(
            fresh.check(&j).await.unwrap(),
            PollStatus::Pending { .. }
        ));
        assert!(
            s.emu
                .approve_session_token(uri.session_token().expose_secret())
                .await
        );
        assert!(fresh.wait(&j, &fast()).await.unwrap().is_approved());
    }

    /// What a handle carries is validated before anything is sent: another Loginapp (host or
    /// REST root), another step-up application, an edited state.
    pub(super) async fn step_up_handles_of_another_loginapp_or_edited_are_refused(wire: Wire) {
        let s = Setup::start(wire).await;
        let alice = s.user("alice").await;
        let c = step_up_client(&s);
        logged_in(&c, &alice).await;
        let handle = pending_handle(c.start(StepUpRequest::new(&alice, "t", "m")).await.unwrap());
        let mark = s.emu.log_mark().await;
        let other_host = step_up_client_at(&s, &format!("http://localhost:{}/auth", s.emu.port()));
        let other_root = step_up_client_at(&s, &format!("{}/auth-login", s.emu.root_url()));
        let other_app = s
            .builder()
            .step_up_application(ApplicationId::new("portal").unwrap())
            .build()
            .unwrap();
        for (label, client) in [
            ("another host", &other_host),
            ("another REST root", &other_root),
            ("another application", &other_app),
        ] {
            let err = client.check(&handle).await.unwrap_err();
            assert!(is_invalid_setting(&err), "{label}: {err:?}");
            assert_eq!(err.kind(), ErrorKind::Configuration, "{label}");
        }
        let edit = |pointer: &str, value: serde_json::Value| {
            let mut h = handle.clone();
            *h.state.pointer_mut(pointer).unwrap() = value;
            h
        };
        for bad in [
            edit("/flow/cookies/cookies/0/value", "v\r\nX-Injected: 1".into()),
            edit("/flow/cookies/cookies/0/domain", "evil.example".into()),
            edit("/flow/loginapp", "https://evil.example/auth/rest/".into()),
            edit("/flow/loginapp", serde_json::Value::Null),
            edit("/flow/csrf", "".into()),
            edit("/application", "E-BANKING".into()),
            edit("/id", "another-id".into()),
            edit("/v", 99.into()),
        ] {
            let err = c.check(&bad).await.unwrap_err();
            assert!(is_invalid_setting(&err), "{err:?}");
        }
        let mut junk = handle.clone();
        junk.state = serde_json::json!({"anything": true});
        assert!(is_invalid_setting(&c.check(&junk).await.unwrap_err()));
        assert!(c.step_up_mobile_auth_uri(&junk).is_none());
        assert_eq!(s.emu.log_since(&mark).await, Vec::new(), "nothing was sent");
        // The untouched handle still works.
        s.emu.approve(&alice).await;
        assert!(c.wait(&handle, &fast()).await.unwrap().is_approved());
    }

    pub(super) async fn step_up_mobile_only_denied_expired_qr_and_unknown_user(wire: Wire) {
        let s = Setup::start(wire).await;
        let c = step_up_client(&s);
        let mut users = Vec::new();
        for role in ["jdoe", "bob", "erin", "dave"] {
            let user = s.user(role).await;
            logged_in(&c, &user).await;
            users.push(user);
        }
        let [jdoe, bob, erin, dave] = <[String; 4]>::try_from(users).unwrap();

        let h = pending_handle(c.start(StepUpRequest::new(&jdoe, "t", "m")).await.unwrap());
        assert_eq!(h.user_url, None);
        let uri = c.step_up_mobile_auth_uri(&h).unwrap();
        let token = uri.session_token().expose_secret().to_owned();
        assert!(
            !format!("{h:?}").contains(&token),
            "Debug redacts the state"
        );
        s.emu.reject_session_token(&token).await;
        let out = c.wait(&h, &fast()).await.unwrap();
        assert!(
            matches!(out, StepUpOutcome::Denied { fraud: false, .. }),
            "{out:?}"
        );

        let h = pending_handle(c.start(StepUpRequest::new(&bob, "t", "m")).await.unwrap());
        assert_eq!(
            s.emu.pushes(&bob).await,
            vec!["bob-iphone".to_string()],
            "device chosen"
        );
        s.emu.time_out(&bob).await;
        let out = c.wait(&h, &fast()).await.unwrap();
        assert_eq!(out, StepUpOutcome::Expired);

        let h = pending_handle(c.start(StepUpRequest::new(&erin, "t", "m")).await.unwrap());
        s.emu.approve(&erin).await;
        assert!(c.wait(&h, &fast()).await.unwrap().is_approved());

        // Online QR: the code to show travels in the handle.
        let h = pending_handle(c.start(StepUpRequest::new(&dave, "t", "m")).await.unwrap());
        let qr = c.step_up_qr_code(&h).unwrap();
        assert!(qr.image.unwrap().expose_secret().starts_with("data:"));
        assert!(c.step_up_mobile_auth_uri(&h).is_none());
        s.emu.approve(&dave).await;
        assert!(c.wait(&h, &fast()).await.unwrap().is_approved());

        let err = c
            .start(StepUpRequest::new("mallory", "t", "m"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NoSession { .. }), "{err:?}");
        assert_eq!(err.kind(), ErrorKind::Unauthorized);
        // Without a step-up application there is nothing to step up to.
        let plain = client_of(&s);
        plain.attach_session(&jdoe, c.session(&jdoe).unwrap());
        let err = plain
            .start(StepUpRequest::new(&jdoe, "t", "m"))
            .await
            .unwrap_err();
        assert!(is_invalid_setting(&err), "{err:?}");
    }

    /// The user's phone has no network: the app drives the offline passcode through the
    /// handle's flow, and `check` confirms the finished flow with the server.
    pub(super) async fn step_up_offline_passcode_through_the_handle(wire: Wire) {
        let s = Setup::start(wire).await;
        let alice = s.user("alice").await;
        let c = step_up_client(&s);
        logged_in(&c, &alice).await;
        let h = pending_handle(c.start(StepUpRequest::new(&alice, "t", "m")).await.unwrap());
        let flow = c.step_up_flow(&h).unwrap();
        flow.switch_to_offline().await.unwrap();
        let passcode = s.emu.passcode(&alice).await.unwrap();
        assert!(
            flow.check_passcode(&Otp::new(passcode))
                .await
                .unwrap()
                .is_done()
        );
        let fresh = step_up_client(&s);
        assert!(matches!(
            fresh.check(&h).await.unwrap(),
            PollStatus::Ready(StepUpOutcome::Approved { .. })
        ));
    }

    pub(super) async fn step_up_refuses_sessions_it_cannot_drive(wire: Wire) {
        let s = Setup::start(wire).await;
        let carol = s.user("carol").await;
        let c = step_up_client(&s);
        // A session that never logged in.
        let anonymous = c.flow();
        anonymous.access_default_application().await.unwrap();
        c.attach_session("ghost", anonymous.save());
        let err = c
            .start(StepUpRequest::new("ghost", "t", "m"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NoSession { .. }), "{err:?}");
        // A user whose flow stops at a step the interface cannot drive (generic OTP to type).
        logged_in(&c, &carol).await;
        let err = c
            .start(StepUpRequest::new(&carol, "t", "m"))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::UnsupportedStep {
                    step: NextAuthStep::OtpRequired
                }
            ),
            "{err:?}"
        );
    }

    // ---- the emulator speaks the transcripts' shapes -----------------------------------------

    pub(super) async fn emulator_answers_every_transcript_in_the_same_shapes(wire: Wire) {
        let s = Setup::start(wire).await;
        for name in transcript_names() {
            drive_transcript_against_emulator(&s, &name).await;
        }
    }

    /// Sends a transcript's requests to the emulator (same method, path below the emulator,
    /// body, `X-Same-Domain`, echoed cookies), as a fresh user with the transcript user's
    /// second factor, playing the phone where the transcript's user decided, and compares every
    /// answer's shape: status, `data.type`, `nextAuthStep`, error code, and which `meta`
    /// members are present.
    async fn drive_transcript_against_emulator(s: &Setup, name: &str) {
        use airlock_iam::CookieJar;
        let fixture = common::load(name);
        s.emu
            .set_temporary_lock(if name.contains("temporarily") { 30 } else { 0 })
            .await;
        let http = s.http();
        let mut jar = CookieJar::new();
        let exchanges = fixture["exchanges"].as_array().unwrap();
        let role = exchanges
            .iter()
            .find_map(|e| e["request"]["body"]["username"].as_str())
            .unwrap_or("jdoe");
        let user = s.user(role).await;
        for (i, ex) in exchanges.iter().enumerate() {
            let (req, want) = (&ex["request"], &ex["response"]);
            let path = req["path"].as_str().unwrap();
            let want_status = want["status"].as_u64().unwrap();
            let want_code = want["body"]["errors"][0]["code"].as_str();
            // Play the phone (or the user typing the passcode) as the transcript says.
            let mut body = req.get("body").cloned();
            if let Some(b) = body.as_mut().filter(|b| b.get("username").is_some()) {
                b["username"] = serde_json::Value::String(user.clone());
            }
            if path.ends_with("/status/poll/")
                && want_status == 200
                && want["body"]["data"]["attributes"]["nextAuthStep"].is_null()
            {
                assert!(s.emu.approve(&user).await, "{name}#{i}: nothing to approve");
            }
            match want_code {
                Some("AIRLOCK_2FA_AUTHENTICATION_REJECTED") => assert!(s.emu.reject(&user).await),
                Some("AIRLOCK_2FA_AUTHENTICATION_TIMEOUT") => assert!(s.emu.time_out(&user).await),
                _ => {}
            }
            if path.ends_with("/otp/check/") && want_status == 200 {
                body = Some(serde_json::json!({"otp": s.emu.passcode(&user).await.unwrap()}));
            }
            let url = url::Url::parse(&format!("{}{path}", s.emu.root_url())).unwrap();
            let mut builder = http::Request::builder()
                .method(req["method"].as_str().unwrap())
                .uri(url.as_str())
                .header("content-type", "application/json");
            if name != "missing_csrf_header" {
                builder = builder.header("x-same-domain", "1");
            }
            if let Some(c) = jar.cookie_header(&url, std::time::SystemTime::now()) {
                builder = builder.header("cookie", c);
            }
            let bytes = body
                .map(|b| serde_json::to_vec(&b).unwrap())
                .unwrap_or_default();
            let resp = http.execute(builder.body(bytes).unwrap()).await.unwrap();
            jar.store_response(&url, resp.headers(), std::time::SystemTime::now());
            let got: serde_json::Value = serde_json::from_slice(resp.body()).unwrap();
            let w = &want["body"];
            let ctx = format!("{name}#{i}: got {got}");
            assert_eq!(u64::from(resp.status().as_u16()), want_status, "{ctx}");
            assert_eq!(got["meta"]["type"], w["meta"]["type"], "{ctx}");
            assert!(
                Timestamp::parse(got["meta"]["timestamp"].as_str().unwrap()).is_ok(),
                "{ctx}"
            );
            for key in ["nextAuthStep", "temporaryLockExpiry"] {
                assert_eq!(
                    got["meta"].get(key).is_some(),
                    w["meta"].get(key).is_some(),
                    "{ctx}: meta.{key}"
                );
            }
            assert_eq!(
                got["meta"]["nextAuthStep"], w["meta"]["nextAuthStep"],
                "{ctx}"
            );
            assert_eq!(got["errors"][0]["code"], w["errors"][0]["code"], "{ctx}");
            assert_eq!(
                got["errors"][0]["status"], w["errors"][0]["status"],
                "{ctx}"
            );
            if w["data"].is_array() {
                assert_eq!(
                    got["data"].as_array().unwrap().len(),
                    w["data"].as_array().unwrap().len(),
                    "{ctx}"
                );
                assert_eq!(got["data"][0]["id"], w["data"][0]["id"], "{ctx}");
            } else {
                assert_eq!(got["data"]["type"], w["data"]["type"], "{ctx}");
                assert_eq!(
                    got["data"]["attributes"]["nextAuthStep"],
                    w["data"]["attributes"]["nextAuthStep"],
                    "{ctx}"
                );
                assert_eq!(
                    got["data"]["attributes"].is_object(),
                    w["data"]["attributes"].is_object(),
                    "{ctx}"
                );
            }
            if want["headers"]["Set-Cookie"].is_string() {
                assert!(
                    resp.headers().get("set-cookie").is_some(),
                    "{ctx}: no session cookie"
                );
            }
        }
    }

    pub(super) async fn secrets_never_in_debug_or_display(wire: Wire) {
        let s = Setup::start(wire).await;
        s.emu.set_temporary_lock(0).await;
        let jdoe = s.user("jdoe").await;
        let c = client_of(&s);
        let flow = c.flow();
        let mut shown = Vec::new();
        let wrong = flow
            .check_password(&jdoe, &pw("hunter2-typo"))
            .await
            .unwrap_err();
        shown.push(format!("{wrong} {wrong:?}"));
        let flow = c.flow();
        let step = flow.check_password(&jdoe, &pw("password1")).await.unwrap();
        shown.push(format!("{step:?}"));
        let challenge = flow.retrieve_mobile_only_challenge().await.unwrap();
        shown.push(format!("{challenge:?} {:?}", challenge.attributes));
        let saved = flow.save();
        shown.push(format!("{flow:?} {saved:?} {c:?}"));
        let cookie = saved.cookies.cookies()[0].expose_value().to_owned();
        let token = challenge.uri.session_token().expose_secret().to_owned();
        let err = flow.check_otp(&Otp::new("135790")).await.unwrap_err();
        shown.push(format!("{err} {err:?}"));
        let all = shown.join("\n");
        for secret in [
            "hunter2-typo",
            "password1",
            cookie.as_str(),
            token.as_str(),
            "135790",
        ] {
            assert!(!all.contains(secret), "{secret} leaked in:\n{all}");
        }
        assert!(all.contains("JSESSIONID"), "cookie names are fine to show");
    }

    /// One raw request to the emulator with a flow's cookies (for the emulator-only endpoints).
    async fn raw(
        s: &Setup,
        method: &str,
        path: &str,
        saved: &SavedFlow,
    ) -> (u16, serde_json::Value) {
        let url = url::Url::parse(&format!("{}{path}", s.emu.base_url())).unwrap();
        let mut b = http::Request::builder()
            .method(method)
            .uri(url.as_str())
            .header("x-same-domain", "1")
            .header("content-type", "application/json");
        if let Some(c) = saved
            .cookies
            .cookie_header(&url, std::time::SystemTime::now())
        {
            b = b.header("cookie", c);
        }
        let resp = s.http().execute(b.body(Vec::new()).unwrap()).await.unwrap();
        (
            resp.status().as_u16(),
            serde_json::from_slice(resp.body()).unwrap(),
        )
    }

    pub(super) async fn emulator_session_info_and_flow_delete(wire: Wire) {
        let s = Setup::start(wire).await;
        let alice = s.user("alice").await;
        let sessions = s.emu.session_count().await;
        let flow = client_of(&s).flow();
        flow.check_password(&alice, &pw("password1")).await.unwrap();
        let (status, body) = raw(&s, "GET", "/rest/protected/my/session", &flow.save()).await;
        assert_eq!(status, 401, "not done yet: {body}");
        assert_eq!(
            body["meta"]["nextAuthStep"],
            "AIRLOCK_2FA_POLLING_OR_OFFLINE_REQUIRED"
        );
        s.emu.approve(&alice).await;
        flow.wait().await.unwrap();
        let saved = flow.save();
        let (status, body) = raw(&s, "GET", "/rest/protected/my/session", &saved).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["attributes"]["username"], alice.as_str());
        assert_eq!(body["data"]["id"].as_str(), flow.session_id().as_deref());
        let (status, _) = raw(&s, "DELETE", "/rest/public/authentication/flow", &saved).await;
        assert_eq!(status, 200);
        let (status, body) = raw(&s, "GET", "/rest/protected/my/session", &saved).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(s.emu.session_count().await, sessions);
    }

    /// The flows and the step-up played with the Control vocabulary in JSON (as a test in
    /// another language would): pending requests listed with their text, approved and denied
    /// by id or session token.
    pub(super) async fn mobile_only_one_touch_and_step_up_played_with_control_commands(wire: Wire) {
        let s = Setup::start(wire).await;
        let (jdoe, bob, alice) = (
            s.user("jdoe").await,
            s.user("bob").await,
            s.user("alice").await,
        );
        let c = step_up_client(&s);
        let mark = s.emu.log_mark().await;

        // Mobile-only: the link's session token approves.
        let flow = c.flow();
        flow.check_password(&jdoe, &pw("password1")).await.unwrap();
        let challenge = flow.retrieve_mobile_only_challenge().await.unwrap();
        assert!(matches!(
            flow.poll().await.unwrap(),
            PollStatus::Pending { .. }
        ));
        let token = challenge.uri.session_token().expose_secret().to_owned();
        s.emu
            .control_json(serde_json::json!({"command": "approve", "id": token}))
            .await
            .unwrap();
        assert!(flow.wait().await.unwrap().is_done());

        // One-Touch: the pending request as the phone shows it, denied by its id.
        let flow = c.flow();
        flow.check_password(&bob, &pw("password1")).await.unwrap();
        let devices = flow.retrieve_devices().await.unwrap();
        flow.select_device(&devices[0].id).await.unwrap();
        let pending = pending_of(&s, &bob).await;
        assert_eq!(pending.len(), 1, "{pending:?}");
        assert_eq!(pending[0].user, bob);
        assert_eq!(pending[0].message, "Log in to default?");
        s.emu
            .control_json(
                serde_json::json!({"command": "deny", "id": pending[0].id, "fraud": true}),
            )
            .await
            .unwrap();
        let err = flow.wait().await.unwrap_err();
        assert!(matches!(err, Error::Rejected { .. }), "{err:?}");
        assert!(pending_of(&s, &bob).await.is_empty());

        // The step-up, started and checked by a fresh client.
        logged_in(&c, &alice).await;
        let handle = pending_handle(c.start(StepUpRequest::new(&alice, "t", "m")).await.unwrap());
        let listed = pending_of(&s, &alice).await;
        assert_eq!(listed[0].message, "Log in to ebanking?");
        s.emu
            .control_json(serde_json::json!({"command": "approve", "id": listed[0].id}))
            .await
            .unwrap();
        let fresh = step_up_client(&s);
        assert!(fresh.wait(&handle, &fast()).await.unwrap().is_approved());

        // The emulator's log has it all, below the Loginapp's path.
        let log = s.emu.log_since(&mark).await;
        assert!(!log.is_empty());
        assert!(
            log.iter().all(|e| e.path.starts_with("/auth/rest/")),
            "{log:?}"
        );
        let (status, _) = raw(&s, "GET", "/rest/protected/my/session", &c.flow().save()).await;
        assert_eq!(status, 401);
    }

    /// The 2FA requests of `user` waiting for the phone.
    async fn pending_of(s: &Setup, user: &str) -> Vec<auth_core::emulator::PendingStepUp> {
        s.emu
            .pending()
            .await
            .into_iter()
            .filter(|p| p.user == user)
            .collect()
    }

    // ---- what the emulator keeps --------------------------------------------------------------

    /// Nothing the emulator keeps grows with the number of requests: the request log and the
    /// pushes are rings, sessions beyond the cap go (finished flows first, then the least
    /// recently used, with their pending 2FA request), and names from requests leave no failure
    /// counter behind. (The server binary's log keeps `--log-capacity` requests: as many
    /// requests again fill it.)
    pub(super) async fn emulator_memory_is_bounded(wire: Wire) {
        let s = Setup::with(wire, |b| b.log_capacity(50)).await;
        s.emu.set_temporary_lock(0).await;
        s.emu.set_session_capacity(20).await;
        let capacity = s.emu.log_capacity(50);
        let alice = s.user("alice").await;
        let paula = common::emu::unique("paula");
        s.emu
            .add_user(&paula, serde_json::json!({"factor": "none"}))
            .await;
        let c = client_of(&s);
        // A flow in progress, then many finished ones: finished flows go first, it stays.
        let live = c.flow();
        live.check_password(&alice, &pw("password1")).await.unwrap();
        for _ in 0..60 {
            let flow = c.flow();
            assert!(
                flow.check_password(&paula, &pw("password1"))
                    .await
                    .unwrap()
                    .is_done()
            );
        }
        assert_eq!(s.emu.stored().await.sessions, 20);
        s.emu.approve(&alice).await;
        assert!(live.wait().await.unwrap().is_done());
        // Unknown names with wrong passwords: answered alike, nothing kept for them.
        for i in 0..60 {
            let err = c
                .flow()
                .check_password(&format!("nobody-{i}"), &pw("wrong"))
                .await
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::WrongPassword {
                        temporary_lock_expiry: Some(_),
                        ..
                    }
                ),
                "{err:?}"
            );
        }
        // Many abandoned pushes: beyond the cap the least recently used flow goes, push and all.
        let first = c.flow();
        first
            .check_password(&alice, &pw("password1"))
            .await
            .unwrap();
        for _ in 0..30 {
            c.flow()
                .check_password(&alice, &pw("password1"))
                .await
                .unwrap();
        }
        let err = first.poll().await.unwrap_err();
        assert!(matches!(err, Error::UnexpectedCall { .. }), "{err:?}");
        // As many requests again as the log keeps: it keeps the newest, no more.
        for _ in 0..capacity {
            let err = c.flow().poll().await.unwrap_err();
            assert!(matches!(err, Error::UnexpectedCall { .. }), "{err:?}");
        }
        let stored = s.emu.stored().await;
        assert_eq!(stored.requests, capacity, "{stored:?}");
        assert_eq!(s.emu.log().await.len(), capacity);
        assert!(stored.pushes <= capacity, "{stored:?}");
        assert!(stored.sessions <= 20, "{stored:?}");
        assert!(stored.challenges <= 20, "{stored:?}");
        assert!(s.emu.pending_count(&alice).await <= 20);
        assert_eq!(stored.failure_counters, 0, "{stored:?}");
        assert_eq!(stored.temporary_locks, 0, "{stored:?}");
        // The log keeps the newest requests.
        let last = s.emu.log().await.pop().unwrap();
        assert!(last.path.ends_with("/status/poll/"), "{}", last.path);
        // The session cap can be tightened at run time.
        s.emu.set_session_capacity(3).await;
        let stored = s.emu.stored().await;
        assert_eq!(
            (stored.requests, stored.sessions),
            (capacity, 3),
            "{stored:?}"
        );
        assert!(
            stored.challenges <= 3 && stored.pushes <= capacity,
            "{stored:?}"
        );
    }
}

// ---- helpers of the step-up scenarios ---------------------------------------------------------

/// `user` logs in to `portal` on `c`, and the session is attached for step-ups.
async fn logged_in(c: &Client, user: &str) -> SavedFlow {
    let flow = c.flow();
    assert_eq!(
        flow.start().await.unwrap(),
        FlowState::Next(NextAuthStep::PasswordRequired)
    );
    let step = flow.check_password(user, &pw("password1")).await.unwrap();
    assert!(step.is_done(), "portal needs the password only");
    c.attach_session(user, flow.save());
    flow.save()
}

/// Whether the session `c` holds for `user` is authorized for `ebanking` now.
async fn reaches_ebanking(c: &Client, user: &str) -> bool {
    let flow = c.resume(c.session(user).unwrap()).unwrap();
    let ebanking = ApplicationId::new("ebanking").unwrap();
    flow.access_application(&ebanking).await.unwrap() == FlowState::Done
}

fn pending_handle(started: Started) -> StepUpHandle {
    match started {
        Started::Pending(handle) => handle,
        other => panic!("{other:?}"),
    }
}

fn is_invalid_setting(err: &Error) -> bool {
    matches!(
        err,
        Error::Core(auth_core::Error::Config(
            auth_core::ConfigError::Invalid { .. }
        ))
    )
}

fn transcript_names() -> Vec<String> {
    let dir = common::fixtures_dir();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            e.unwrap()
                .file_name()
                .into_string()
                .unwrap()
                .strip_suffix(".json")
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 12);
    names
}

// ---- the crate's emulator only -----------------------------------------------------------------

#[tokio::test]
async fn custom_users_and_no_default_users() {
    let emu = Emulator::builder()
        .without_default_users()
        .user(EmulatedUser::new("zoe", "pw-zoe-123", SecondFactor::None))
        .start()
        .await
        .unwrap();
    let c = client(emu.base_url().as_str());
    assert!(
        c.flow()
            .check_password("zoe", &pw("pw-zoe-123"))
            .await
            .unwrap()
            .is_done()
    );
    assert!(matches!(
        c.flow().check_password("jdoe", &pw("password1")).await,
        Err(Error::WrongPassword { .. })
    ));
}

/// The model serves elsewhere too: a second server of the same model shares its state (what
/// one port started, the emulator sees and settles; its log has both).
#[tokio::test]
async fn the_model_is_served_elsewhere_with_the_same_state() {
    let emu = Emulator::start().await.unwrap();
    let model: Arc<dyn auth_core::emulator::Model> = emu.model();
    assert_eq!(model.provider(), "airlock-iam");
    let second = auth_core::emulator::serve(model, "127.0.0.1:0")
        .await
        .unwrap();
    assert_ne!(second.base_url(), emu.root_url());
    let elsewhere = client(&format!("{}/auth", second.base_url()));
    let flow = elsewhere.flow();
    flow.check_password("alice", &pw("password1"))
        .await
        .unwrap();
    assert_eq!(emu.session_count(), 1);
    assert_eq!(emu.pending_count("alice"), 1);
    emu.approve("alice");
    assert!(flow.wait().await.unwrap().is_done());
    // A flow saved on one server is not resumed on the other: another Loginapp URL.
    let err = client(emu.base_url().as_str())
        .resume(flow.save())
        .map(|_| ())
        .unwrap_err();
    assert!(is_invalid_setting(&err), "{err:?}");
}
