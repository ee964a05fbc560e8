//! Conformance suite: every path of the Onegini user-authentication sequence, run by the client
//! model against the Token Server model over real HTTP on loopback, with fake clocks.
//! `cargo xtask conformance` prints these scenario names.
//!
//! Every scenario against the Token Server also runs against the `oob-auth-emulator` server
//! binary (`binary::…`, ignored unless `cargo xtask conformance --binary` runs them); the
//! registration, PIN, fingerprint, logout, deregistration and start scenarios run in process
//! too (`in_process::…`: the model called with no port at all, the client's base URL a closed
//! port).

use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use crate::emu::{Setup, Wire};
use auth_core::{
    Capabilities, Classify, ErrorKind, PollConfig, PollStatus, StepUp, StepUpOutcome, StepUpRequest,
};
use onegini_model::emulator::{Consent, VersionStatus};
use onegini_model::testing::{Prompt, ScriptedFingerprint, ScriptedUser};
use onegini_model::{
    Authenticator, Error, FingerprintScan, MemoryStorage, OneginiStepUp, Pin, PinValidationError,
    Storage, UserProfile,
};

/// Every scenario runs against the crate's model over a socket (`name`) and against the
/// emulator server binary (`binary::name`); the first list in process too
/// (`in_process::name`).
macro_rules! scenarios {
    (every_wire: [$($both:ident),* $(,)?], socket: [$($name:ident),* $(,)?] $(,)?) => {
        $(#[tokio::test]
        async fn $both() {
            scenarios::$both(Wire::Socket).await;
        })*
        $(#[tokio::test]
        async fn $name() {
            scenarios::$name(Wire::Socket).await;
        })*
        /// The scenarios through the in-process client: the model, no socket.
        mod in_process {
            $(#[tokio::test]
            async fn $both() {
                super::scenarios::$both(super::Wire::InProcess).await;
            })*
        }
        /// Every scenario against the `oob-auth-emulator` server binary at `OOB_EMULATOR_URL`
        /// (`cargo xtask conformance --binary` starts it and runs these); without it each
        /// fails, never passes.
        ///
        /// Left out (they need the crate's model itself):
        /// - `dcr_accepts_ten_minutes_of_skew_either_way_and_not_a_second_more`: the server's
        ///   clock stopped on a minute boundary (a `FakeClock`); the server's runs
        ///   (`dcr_fails_with_the_device_clock_11_minutes_off` and
        ///   `dcr_passes_with_the_device_clock_9_minutes_off` are its side of it).
        /// - `replay_of_a_recorded_registration_and_pin_login`: a recorded transcript from a
        ///   stand-in server, no emulator.
        mod binary {
            $(auth_core::needs_emulator_server! {
                async fn $both() {
                    super::scenarios::$both(super::Wire::Binary).await;
                }
            })*
            $(auth_core::needs_emulator_server! {
                async fn $name() {
                    super::scenarios::$name(super::Wire::Binary).await;
                }
            })*
        }
    };
}

scenarios! {
    every_wire: [
        registration_runs_dcr_browser_login_and_pin_creation,
        denying_consent_at_the_idp_cancels_the_registration,
        authentication_with_the_valid_pin_rotates_the_refresh_token,
        wrong_pin_counts_down_then_removes_the_profile,
        fingerprint_registration_and_authentication,
        a_fingerprint_token_revoked_on_its_own_is_9022_and_the_pin_still_works,
        logout_revokes_the_access_token_and_login_needs_no_browser,
        deregistration_removes_one_profile_and_keeps_the_rest,
        the_pin_never_goes_over_the_wire,
        start_reports_profiles_removed_on_the_server,
    ],
    socket: [
        pin_creation_reports_policy_errors_and_accepts_a_retry,
        pin_policy_is_checkable_before_creation,
        denying_pin_creation_cancels_and_revokes_the_issued_tokens,
        closing_the_browser_denies_the_registration,
        a_correct_pin_resets_the_attempt_counter,
        the_server_owns_the_attempt_counter_not_the_device,
        the_maximum_pin_failures_is_configurable_on_the_server,
        a_fingerprint_sensor_error_revokes_fingerprint_and_falls_back_to_pin,
        a_revoked_refresh_token_forces_registration_again,
        dcr_fails_with_the_device_clock_11_minutes_off,
        dcr_passes_with_the_device_clock_9_minutes_off,
        dcr_with_a_wrong_signature_or_unknown_version_fails_generically,
        dcr_in_development_mode_skips_the_signature,
        a_disabled_app_version_is_an_outdated_app,
        an_unknown_client_wipes_all_local_data,
        an_expired_access_token_means_user_not_authenticated,
        no_pin_token_or_client_secret_in_debug_output,
        change_pin_reseals_the_refresh_token_under_the_new_pin,
        step_up_authenticates_the_profile_again,
        step_up_remembers_a_bounded_number_of_outcomes,
    ],
}

/// The scenarios, each given the wire to run on. Each scenario's IdP users are its own
/// (`Setup::user`: a fresh user whose password is `<name>-password`).
mod scenarios {
    use super::*;

    pub(super) async fn registration_runs_dcr_browser_login_and_pin_creation(wire: Wire) {
        let w = Setup::start(wire).await;
        let alice = w.user("alice").await;
        assert_eq!(w.client.client_id().unwrap(), None);
        let browser = w.browser(&alice);
        let pins = ScriptedUser::typing([PIN]);
        let profile = w
            .client
            .register_user(&["read", "write"], &browser, &pins)
            .await
            .unwrap();

        // Profile id: 6 characters [A-Z0-9].
        assert_eq!(profile.profile_id().len(), 6);
        assert!(
            profile
                .profile_id()
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert_eq!(w.client.authenticated_user_profile(), Some(profile.clone()));
        assert!(w.client.is_user_registered(&profile).unwrap());
        // DCR happened once and the client id is the server's.
        let client_id = w.client.client_id().unwrap().unwrap();
        assert_eq!(w.new_client_ids().await, vec![client_id.clone()]);
        assert_eq!(client_id.as_str().len(), 64);
        // The browser went authorize → IdP login → consent.
        assert_eq!(
            browser.trail(),
            vec![
                "GET /oauth/v1/authorize",
                "GET /idp/login",
                "POST /idp/login",
                "GET /oauth/v1/consent",
                "POST /oauth/v1/consent",
            ]
        );
        assert_eq!(
            pins.prompts(),
            vec![
                Prompt::CreatePin {
                    profile: profile.clone(),
                    pin_length: 5
                },
                Prompt::FinishPinCreation
            ]
        );
        // The access token works at the resource server, with the requested scopes.
        let resource = w.client.fetch_user_resource().await.unwrap();
        assert_eq!(resource.scopes, vec!["read", "write"]);
        assert_eq!(w.server.active_refresh_tokens(&alice).await, (1, 0));
        // Stored: credentials and one profile; no access token, no plaintext refresh token.
        let raw = w.storage.raw().unwrap();
        assert!(raw.contains(&profile.profile_id().to_string()));
        assert!(!raw.contains("access_token"));
    }

    pub(super) async fn pin_creation_reports_policy_errors_and_accepts_a_retry(wire: Wire) {
        let w = Setup::start(wire).await;
        let alice = w.user("alice").await;
        // Wrong length, block list, sequence, similar digits, then a valid PIN.
        let pins = ScriptedUser::typing(["1234", "90210", "13579", "11150", PIN]);
        let profile = w
            .client
            .register_user(&[], &w.browser(&alice), &pins)
            .await
            .unwrap();
        let rejected: Vec<u16> = pins
            .prompts()
            .into_iter()
            .filter_map(|p| match p {
                Prompt::PinRejected(code) => Some(code),
                _ => None,
            })
            .collect();
        assert_eq!(rejected, vec![9014, 9011, 9012, 9013]);
        // The PIN that was finally accepted is the one that unlocks the profile.
        w.client.logout().await.unwrap();
        let login = ScriptedUser::typing([PIN]);
        w.client
            .authenticate_user(&profile, &login, None)
            .await
            .unwrap();
    }

    pub(super) async fn pin_policy_is_checkable_before_creation(wire: Wire) {
        let w = Setup::start(wire).await;
        let err = w
            .client
            .validate_pin_with_policy(&Pin::new("12345"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), 9012);
        assert!(matches!(
            err,
            Error::PinValidation(PinValidationError::PinIsASequence)
        ));
        assert!(
            w.client
                .validate_pin_with_policy(&Pin::new(PIN))
                .await
                .is_ok()
        );
    }

    pub(super) async fn denying_pin_creation_cancels_and_revokes_the_issued_tokens(wire: Wire) {
        let w = Setup::start(wire).await;
        let alice = w.user("alice").await;
        let pins = ScriptedUser::default();
        pins.then_type(["1"]);
        pins.then_deny();
        let err = w
            .client
            .register_user(&[], &w.browser(&alice), &pins)
            .await
            .unwrap_err();
        assert_eq!(err.code(), 9006);
        assert!(w.client.user_profiles().unwrap().is_empty());
        assert_eq!(w.client.authenticated_user_profile(), None);
        assert_eq!(w.server.active_refresh_tokens(&alice).await, (0, 0));
        assert_eq!(w.server.active_access_tokens(&alice).await, 0);
        // The device registration stays.
        assert!(w.client.client_id().unwrap().is_some());
    }

    pub(super) async fn closing_the_browser_denies_the_registration(wire: Wire) {
        let w = Setup::start(wire).await;
        let alice = w.user("alice").await;
        let browser = w.browser_with(&alice, &format!("{alice}-password"), Consent::CloseBrowser);
        let err = w
            .client
            .register_user(&[], &browser, &ScriptedUser::typing([PIN]))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::ActionCanceled(_)), "{err}");
    }

    pub(super) async fn denying_consent_at_the_idp_cancels_the_registration(wire: Wire) {
        let w = Setup::start(wire).await;
        let alice = w.user("alice").await;
        let browser = w.browser_with(&alice, &format!("{alice}-password"), Consent::Deny);
        let err = w
            .client
            .register_user(&[], &browser, &ScriptedUser::typing([PIN]))
            .await
            .unwrap_err();
        assert_eq!(err.code(), 9006);
        assert_eq!(w.server.active_refresh_tokens(&alice).await, (0, 0));
    }

    pub(super) async fn authentication_with_the_valid_pin_rotates_the_refresh_token(wire: Wire) {
        let w = Setup::start(wire).await;
        let alice = w.user("alice").await;
        let (profile, _) = w.register(&alice).await;
        let before = w.storage.raw().unwrap();
        w.client.logout().await.unwrap();
        let pins = ScriptedUser::typing([PIN]);
        let who = w
            .client
            .authenticate_user(&profile, &pins, None)
            .await
            .unwrap();
        assert_eq!(who, profile);
        assert_eq!(w.client.authenticated_user_profile(), Some(profile.clone()));
        assert!(w.client.fetch_user_resource().await.is_ok());
        assert_eq!(
            pins.prompts(),
            vec![
                Prompt::EnterPin {
                    profile: profile.clone(),
                    counter: onegini_model::AttemptCounter::new(0, 3)
                },
                Prompt::FinishAuthentication
            ]
        );
        // Rotated on the server (one live PIN token) and re-sealed with a fresh salt locally.
        assert_eq!(w.server.active_refresh_tokens(&alice).await, (1, 0));
        assert_ne!(w.storage.raw().unwrap(), before);
    }

    pub(super) async fn wrong_pin_counts_down_then_removes_the_profile(wire: Wire) {
        let w = Setup::start(wire).await;
        let (alice_name, bob_name) = (w.user("alice").await, w.user("bob").await);
        let (alice, _) = w.register(&alice_name).await;
        let (bob, _) = w.register(&bob_name).await;
        w.client.logout().await.unwrap();
        let pins = ScriptedUser::typing(["11111", "22222", "33333"]);
        let err = w
            .client
            .authenticate_user(&alice, &pins, None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), 9003);
        assert_eq!(err.removed_profile(), Some(&alice));
        let counters: Vec<u32> = pins
            .prompts()
            .into_iter()
            .filter_map(|p| match p {
                Prompt::WrongPin(c) => Some(c.remaining_attempts()),
                _ => None,
            })
            .collect();
        assert_eq!(counters, vec![2, 1]);
        assert_eq!(pins.prompts().last(), Some(&Prompt::FinishAuthentication));
        // Alice is gone locally and on the server; Bob and the client stay.
        assert!(!w.client.is_user_registered(&alice).unwrap());
        assert!(w.client.is_user_registered(&bob).unwrap());
        assert_eq!(w.server.active_refresh_tokens(&alice_name).await, (0, 0));
        assert!(w.client.client_id().unwrap().is_some());
        w.client
            .authenticate_user(&bob, &ScriptedUser::typing([PIN]), None)
            .await
            .unwrap();
    }

    pub(super) async fn a_correct_pin_resets_the_attempt_counter(wire: Wire) {
        let w = Setup::start(wire).await;
        let alice = w.user("alice").await;
        let (profile, _) = w.register(&alice).await;
        let pins = ScriptedUser::typing(["11111", "22222", PIN]);
        w.client
            .authenticate_user(&profile, &pins, None)
            .await
            .unwrap();
        assert_eq!(w.server.failed_pin_attempts(&alice).await, Some(0));
        // Two more wrong PINs do not deregister: the counter started from zero again.
        let pins = ScriptedUser::typing(["11111", "22222", PIN]);
        w.client
            .authenticate_user(&profile, &pins, None)
            .await
            .unwrap();
        assert!(w.client.is_user_registered(&profile).unwrap());
    }

    pub(super) async fn the_server_owns_the_attempt_counter_not_the_device(wire: Wire) {
        let w = Setup::start(wire).await;
        let alice = w.user("alice").await;
        let (profile, _) = w.register(&alice).await;
        w.client.logout().await.unwrap();
        // Two wrong PINs, then the user gives up.
        let pins = ScriptedUser::typing(["11111", "22222"]);
        let err = w
            .client
            .authenticate_user(&profile, &pins, None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), 9006);
        assert_eq!(w.server.failed_pin_attempts(&alice).await, Some(2));
        // Someone resets the device's copy of the counter (or restores a backup)…
        let mut state = w.storage.load().unwrap();
        assert_eq!(state.profiles[0].failed_attempts, 2);
        state.profiles[0].failed_attempts = 0;
        w.storage.save(&state).unwrap();
        // …the device shows 3 attempts left, but the server counts on: one more wrong PIN
        // removes the profile.
        let pins = ScriptedUser::typing(["33333", PIN]);
        let err = w
            .client
            .authenticate_user(&profile, &pins, None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), 9003);
        assert_eq!(
            pins.prompts().first(),
            Some(&Prompt::EnterPin {
                profile: profile.clone(),
                counter: onegini_model::AttemptCounter::new(0, 3)
            })
        );
        assert!(!w.client.is_user_registered(&profile).unwrap());
        assert_eq!(w.server.active_refresh_tokens(&alice).await, (0, 0));
    }

    pub(super) async fn the_maximum_pin_failures_is_configurable_on_the_server(wire: Wire) {
        // The administrator allows five wrong PINs before the registration (the app's
        // configuration, read at DCR).
        let w = Setup::start(wire).await;
        w.server.set_max_pin_failures(5).await;
        let alice = w.user("alice").await;
        let (profile, _) = w.register(&alice).await;
        let pins = ScriptedUser::typing(["11111", "22222", "33333", "44444", "55555"]);
        let err = w
            .client
            .authenticate_user(&profile, &pins, None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), 9003);
        let wrong = pins
            .prompts()
            .iter()
            .filter(|p| matches!(p, Prompt::WrongPin(_)))
            .count();
        assert_eq!(wrong, 4);

        // The administrator lowers the maximum at run time: it applies to the next wrong PIN.
        let w = Setup::start(wire).await;
        let alice = w.user("alice").await;
        let (profile, _) = w.register(&alice).await;
        w.server.set_max_pin_failures(1).await;
        let pins = ScriptedUser::typing(["11111", PIN]);
        let err = w
            .client
            .authenticate_user(&profile, &pins, None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), 9003);
        assert!(
            !pins
                .prompts()
                .iter()
                .any(|p| matches!(p, Prompt::WrongPin(_)))
        );
    }

    pub(super) async fn fingerprint_registration_and_authentication(wire: Wire) {
        let w = Setup::start(wire).await;
        let alice = w.user("alice").await;
        let (profile, _) = w.register(&alice).await;
        assert_eq!(
            w.client.not_registered_authenticators(&profile).unwrap(),
            [Authenticator::Fingerprint].into()
        );
        w.client.register_fingerprint().await.unwrap();
        assert_eq!(
            w.client.registered_authenticators(&profile).unwrap(),
            [Authenticator::Pin, Authenticator::Fingerprint].into()
        );
        // Registration does not make it preferred.
        assert_eq!(
            w.client.preferred_authenticator(&profile).unwrap(),
            Authenticator::Pin
        );
        w.client
            .set_preferred_authenticator(Authenticator::Fingerprint)
            .unwrap();
        assert_eq!(w.server.active_refresh_tokens(&alice).await, (1, 1));
        w.client.logout().await.unwrap();

        let sensor =
            ScriptedFingerprint::scanning([FingerprintScan::NoMatch, FingerprintScan::Match]);
        let pins = ScriptedUser::default();
        w.client
            .authenticate_user(&profile, &pins, Some(&sensor))
            .await
            .unwrap();
        assert_eq!(sensor.scans_requested(), 2);
        assert!(pins.prompts().is_empty(), "no PIN was asked");
        assert!(w.client.fetch_user_resource().await.is_ok());
        // A wrong finger never touches the PIN counter.
        assert_eq!(w.server.failed_pin_attempts(&alice).await, Some(0));
        assert_eq!(
            w.client.register_fingerprint().await.unwrap_err().code(),
            10004
        );
    }

    pub(super) async fn a_fingerprint_sensor_error_revokes_fingerprint_and_falls_back_to_pin(
        wire: Wire,
    ) {
        let w = Setup::start(wire).await;
        let alice = w.user("alice").await;
        let (profile, _) = w.register(&alice).await;
        w.client.register_fingerprint().await.unwrap();
        w.client
            .set_preferred_authenticator(Authenticator::Fingerprint)
            .unwrap();
        let sensor = ScriptedFingerprint::scanning([FingerprintScan::SensorError]);
        let pins = ScriptedUser::typing([PIN]);
        w.client
            .authenticate_user(&profile, &pins, Some(&sensor))
            .await
            .unwrap();
        assert_eq!(pins.prompts().len(), 2, "the PIN was asked once");
        assert_eq!(
            w.client.registered_authenticators(&profile).unwrap(),
            [Authenticator::Pin].into()
        );
        assert_eq!(w.server.active_refresh_tokens(&alice).await, (1, 0));
        assert_eq!(
            w.client.preferred_authenticator(&profile).unwrap(),
            Authenticator::Pin
        );
    }

    pub(super) async fn a_fingerprint_token_revoked_on_its_own_is_9022_and_the_pin_still_works(
        wire: Wire,
    ) {
        let w = Setup::start(wire).await;
        let alice = w.user("alice").await;
        let (profile, _) = w.register(&alice).await;
        w.client.register_fingerprint().await.unwrap();
        w.client
            .set_preferred_authenticator(Authenticator::Fingerprint)
            .unwrap();
        w.client.logout().await.unwrap();
        // The administrator revokes only the fingerprint token; the PIN token stays.
        w.server.revoke_fingerprint_tokens(&alice).await;
        assert_eq!(w.server.active_refresh_tokens(&alice).await, (1, 0));
        let sensor = ScriptedFingerprint::scanning([FingerprintScan::Match]);
        let pins = ScriptedUser::default();
        let err = w
            .client
            .authenticate_user(&profile, &pins, Some(&sensor))
            .await
            .unwrap_err();
        assert_eq!(err.code(), 9022, "{err}");
        assert_eq!(err.name(), "AUTHENTICATOR_DEREGISTERED");
        assert_eq!(err.removed_profile(), None);
        // The profile stays, without the fingerprint; the PIN is preferred again.
        assert_eq!(w.client.user_profiles().unwrap(), [profile.clone()].into());
        assert_eq!(
            w.client.registered_authenticators(&profile).unwrap(),
            [Authenticator::Pin].into()
        );
        assert_eq!(
            w.client.preferred_authenticator(&profile).unwrap(),
            Authenticator::Pin
        );
        assert_eq!(w.server.active_refresh_tokens(&alice).await, (1, 0));
        // PIN authentication works, with the same PIN refresh token chain (no
        // re-registration).
        w.client
            .authenticate_user(&profile, &ScriptedUser::typing([PIN]), None)
            .await
            .unwrap();
        assert!(w.client.fetch_user_resource().await.is_ok());
        assert_eq!(w.server.active_refresh_tokens(&alice).await, (1, 0));
        // The fingerprint can be registered again.
        w.client.register_fingerprint().await.unwrap();
        assert_eq!(w.server.active_refresh_tokens(&alice).await, (1, 1));
    }

    pub(super) async fn logout_revokes_the_access_token_and_login_needs_no_browser(wire: Wire) {
        let w = Setup::start(wire).await;
        let alice = w.user("alice").await;
        let browser = w.browser(&alice);
        let pins = ScriptedUser::typing([PIN]);
        let profile = w.client.register_user(&[], &browser, &pins).await.unwrap();
        assert_eq!(w.server.active_access_tokens(&alice).await, 1);
        w.client.logout().await.unwrap();
        assert_eq!(w.client.authenticated_user_profile(), None);
        assert_eq!(w.server.active_access_tokens(&alice).await, 0);
        // The refresh token stays.
        assert_eq!(w.server.active_refresh_tokens(&alice).await, (1, 0));
        assert_eq!(
            w.client.fetch_user_resource().await.unwrap_err().code(),
            9010
        );
        assert_eq!(w.client.logout().await.unwrap_err().code(), 9010);
        let trail = browser.trail().len();
        w.client
            .authenticate_user(&profile, &ScriptedUser::typing([PIN]), None)
            .await
            .unwrap();
        assert_eq!(browser.trail().len(), trail, "no browser for a login");
        assert_eq!(w.server.active_access_tokens(&alice).await, 1);
    }

    pub(super) async fn deregistration_removes_one_profile_and_keeps_the_rest(wire: Wire) {
        let w = Setup::start(wire).await;
        let (alice_name, bob_name) = (w.user("alice").await, w.user("bob").await);
        let (alice, _) = w.register(&alice_name).await;
        let (bob, _) = w.register(&bob_name).await;
        w.client.register_fingerprint().await.unwrap(); // Bob's
        let client_id = w.client.client_id().unwrap();
        w.client.deregister_user(&bob).await.unwrap();
        assert_eq!(w.client.user_profiles().unwrap(), [alice.clone()].into());
        assert_eq!(w.client.authenticated_user_profile(), None);
        assert_eq!(w.server.active_refresh_tokens(&bob_name).await, (0, 0));
        assert_eq!(w.server.active_access_tokens(&bob_name).await, 0);
        assert_eq!(w.server.active_refresh_tokens(&alice_name).await, (1, 0));
        assert_eq!(w.client.client_id().unwrap(), client_id);
        w.client
            .authenticate_user(&alice, &ScriptedUser::typing([PIN]), None)
            .await
            .unwrap();
        // Deregistering an unknown profile is an invalid request.
        assert_eq!(
            w.client.deregister_user(&bob).await.unwrap_err().code(),
            10015
        );
    }

    pub(super) async fn a_revoked_refresh_token_forces_registration_again(wire: Wire) {
        let w = Setup::start(wire).await;
        let alice = w.user("alice").await;
        let (profile, _) = w.register(&alice).await;
        w.client.logout().await.unwrap();
        w.server.revoke_user_tokens(&alice).await;
        let err = w
            .client
            .authenticate_user(&profile, &ScriptedUser::typing([PIN]), None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), 9003);
        assert!(w.client.user_profiles().unwrap().is_empty());
        // Registration again works, with the same device registration.
        let (again, _) = w.register(&alice).await;
        assert_ne!(again, profile);
        assert_eq!(w.new_client_ids().await.len(), 1);
    }

    pub(super) async fn dcr_fails_with_the_device_clock_11_minutes_off(wire: Wire) {
        for offset in [11 * 60, -11 * 60] {
            let w = Setup::with_device_offset(wire, offset).await;
            let alice = w.user("alice").await;
            let err = w
                .client
                .register_user(&[], &w.browser(&alice), &ScriptedUser::typing([PIN]))
                .await
                .unwrap_err();
            assert_eq!(err.code(), 9008, "offset {offset}");
            assert!(w.new_client_ids().await.is_empty());
        }
    }

    pub(super) async fn dcr_passes_with_the_device_clock_9_minutes_off(wire: Wire) {
        for offset in [9 * 60, -9 * 60] {
            let w = Setup::with_device_offset(wire, offset).await;
            let alice = w.user("alice").await;
            w.register(&alice).await;
            assert_eq!(w.new_client_ids().await.len(), 1, "offset {offset}");
        }
    }

    pub(super) async fn dcr_with_a_wrong_signature_or_unknown_version_fails_generically(
        wire: Wire,
    ) {
        let w = Setup::start(wire).await;
        let storage = Arc::new(MemoryStorage::new());
        let wrong = w.client_on(storage, &w.device_clock, "not-the-signature", false);
        let err = wrong.pin_policy().await.unwrap_err();
        assert!(matches!(err, Error::DeviceRegistrationError), "{err}");

        // A version the Token Server does not know answers exactly like a bad signature.
        let unknown = w.client_of_version("9.9.9");
        let err = unknown.pin_policy().await.unwrap_err();
        assert!(matches!(err, Error::DeviceRegistrationError), "{err}");
        assert!(w.new_client_ids().await.is_empty());
    }

    pub(super) async fn dcr_in_development_mode_skips_the_signature(wire: Wire) {
        let w = Setup::start(wire).await;
        w.server.set_development_mode(VERSION, PLATFORM, true).await;
        let storage = Arc::new(MemoryStorage::new());
        let any = w.client_on(storage, &w.device_clock, "whatever", false);
        assert!(any.pin_policy().await.is_ok());
        // Out of development mode, the same signature is refused again.
        w.server
            .set_development_mode(VERSION, PLATFORM, false)
            .await;
        let again = w.client_on(
            Arc::new(MemoryStorage::new()),
            &w.device_clock,
            "whatever",
            false,
        );
        assert!(matches!(
            again.pin_policy().await,
            Err(Error::DeviceRegistrationError)
        ));
    }

    pub(super) async fn a_disabled_app_version_is_an_outdated_app(wire: Wire) {
        let w = Setup::start(wire).await;
        w.server
            .set_version_status(
                VERSION,
                PLATFORM,
                VersionStatus::LoginEnabledRegistrationDisabled,
            )
            .await;
        assert_eq!(w.client.pin_policy().await.unwrap_err().code(), 9004);

        let w = Setup::start(wire).await;
        let (alice, bob) = (w.user("alice").await, w.user("bob").await);
        let (profile, _) = w.register(&alice).await;
        w.server
            .set_version_status(
                VERSION,
                PLATFORM,
                VersionStatus::LoginEnabledRegistrationDisabled,
            )
            .await;
        // Existing installations keep logging in, new registrations are refused.
        w.client
            .authenticate_user(&profile, &ScriptedUser::typing([PIN]), None)
            .await
            .unwrap();
        let err = w
            .client
            .register_user(&[], &w.browser(&bob), &ScriptedUser::typing([PIN]))
            .await
            .unwrap_err();
        assert_eq!(err.code(), 9004);
        w.server
            .set_version_status(VERSION, PLATFORM, VersionStatus::Disabled)
            .await;
        let err = w
            .client
            .authenticate_user(&profile, &ScriptedUser::typing([PIN]), None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), 9004);
    }

    pub(super) async fn an_unknown_client_wipes_all_local_data(wire: Wire) {
        let w = Setup::start(wire).await;
        let (alice_name, bob_name) = (w.user("alice").await, w.user("bob").await);
        let (alice, _) = w.register(&alice_name).await;
        let (bob, _) = w.register(&bob_name).await;
        let client_id = w.client.client_id().unwrap().unwrap();
        w.server.delete_client(&client_id).await;
        let err = w
            .client
            .authenticate_user(&alice, &ScriptedUser::typing([PIN]), None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), 9002);
        match err {
            Error::DeviceDeregistered { removed_profiles } => {
                assert_eq!(removed_profiles.len(), 2);
                assert!(removed_profiles.contains(&bob));
            }
            other => panic!("{other}"),
        }
        assert!(w.client.user_profiles().unwrap().is_empty());
        assert_eq!(w.client.client_id().unwrap(), None);
        // The next registration runs DCR again.
        w.register(&alice_name).await;
        let ids = w.new_client_ids().await;
        assert_eq!(ids.len(), 1);
        assert_ne!(ids[0], client_id);
    }

    pub(super) async fn an_expired_access_token_means_user_not_authenticated(wire: Wire) {
        let w = Setup::start(wire).await;
        let alice = w.user("alice").await;
        let (profile, _) = w.register(&alice).await;
        w.advance(Duration::from_secs(901)).await;
        assert_eq!(w.client.authenticated_user_profile(), None);
        assert_eq!(
            w.client.fetch_user_resource().await.unwrap_err().code(),
            9010
        );
        w.client
            .authenticate_user(&profile, &ScriptedUser::typing([PIN]), None)
            .await
            .unwrap();
        assert!(w.client.fetch_user_resource().await.is_ok());
    }

    pub(super) async fn the_pin_never_goes_over_the_wire(wire: Wire) {
        let w = Setup::start(wire).await;
        let alice = w.user("alice").await;
        let (profile, _) = w.register(&alice).await;
        w.client
            .authenticate_user(&profile, &ScriptedUser::typing(["88888", PIN]), None)
            .await
            .unwrap();
        let bodies = w.server.received_bodies().await;
        assert!(
            bodies
                .iter()
                .any(|b| b.contains("grant_type=refresh_token"))
        );
        for b in &bodies {
            assert!(!b.contains(PIN) && !b.contains("88888"), "{b}");
        }
    }

    /// Form fields of every request body the server received.
    async fn received_forms(w: &Setup) -> Vec<std::collections::HashMap<String, String>> {
        w.server
            .received_bodies()
            .await
            .iter()
            .filter_map(|line| line.splitn(3, ' ').nth(2).map(str::to_owned))
            .map(|body| {
                url::form_urlencoded::parse(body.as_bytes())
                    .into_owned()
                    .collect()
            })
            .collect()
    }

    pub(super) async fn no_pin_token_or_client_secret_in_debug_output(wire: Wire) {
        let w = Setup::start(wire).await;
        let alice = w.user("alice").await;
        let browser = w.browser(&alice);
        let registration_pins = ScriptedUser::typing([PIN]);
        let profile = w
            .client
            .register_user(&["read"], &browser, &registration_pins)
            .await
            .unwrap();
        w.client.register_fingerprint().await.unwrap();
        // Logout sends the first access token to the revocation endpoint; a PIN login sends the
        // PIN refresh token to the token endpoint: that is how the test learns them.
        w.client.logout().await.unwrap();
        let login_pins = ScriptedUser::typing(["88888", PIN]);
        w.client
            .authenticate_user(&profile, &login_pins, None)
            .await
            .unwrap();
        let queued = ScriptedUser::typing([OTHER_PIN]);

        let stored: serde_json::Value = serde_json::from_str(&w.storage.raw().unwrap()).unwrap();
        let secret = stored["credentials"]["client_secret"]
            .as_str()
            .unwrap()
            .to_owned();
        // Only the fingerprint token's public id is stored; the token itself is sealed by the
        // keystore. A fingerprint login below sends it, which is how the test learns it.
        let fp_id = stored["profiles"][0]["fingerprint"]["rt_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let ciphertext = stored["profiles"][0]["pin_secret"]["ciphertext"]
            .as_str()
            .unwrap()
            .to_owned();
        let state = w.storage.load().unwrap();
        let pin = Pin::new(PIN);
        // Everything a developer could print while a profile is authenticated.
        let shown = format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            w.client,
            state,
            pin,
            w.storage,
            w.server,
            profile,
            browser,
            registration_pins,
            login_pins,
            queued,
            app_config(),
        );
        // The access token in memory right now is revealed by the next logout.
        w.client.logout().await.unwrap();
        w.client
            .authenticate_user_with(
                &profile,
                Authenticator::Fingerprint,
                &ScriptedUser::default(),
                Some(&ScriptedFingerprint::scanning([FingerprintScan::Match])),
            )
            .await
            .unwrap();
        let forms = received_forms(&w).await;
        let access_tokens: Vec<String> = forms
            .iter()
            .filter(|f| f.get("token_type_hint").map(String::as_str) == Some("access_token"))
            .filter_map(|f| f.get("token").cloned())
            .collect();
        assert_eq!(access_tokens.len(), 2, "two logouts, two access tokens");
        let (fp, refresh_tokens): (Vec<String>, Vec<String>) = forms
            .iter()
            .filter(|f| f.get("grant_type").map(String::as_str) == Some("refresh_token"))
            .filter_map(|f| f.get("refresh_token").cloned())
            .partition(|t| t.starts_with(&format!("{fp_id}.")));
        // The fingerprint token; the wrong PIN's candidate and the right one.
        assert_eq!(fp.len(), 1);
        assert_eq!(refresh_tokens.len(), 2);
        let fp = fp[0].clone();
        let ciphertext_on_disk = ciphertext.clone();
        let mut needles = vec![
            secret.clone(),
            fp,
            ciphertext,
            PIN.to_owned(),
            OTHER_PIN.to_owned(),
            "88888".to_owned(),
            w.signature().to_owned(),
            format!("{alice}-password"),
        ];
        needles.extend(access_tokens);
        for rt in &refresh_tokens {
            // The secret part (the public id alone is not a secret).
            needles.push(rt.split_once('.').unwrap().1.to_owned());
        }
        for needle in &needles {
            assert!(
                !shown.contains(needle.as_str()),
                "{needle} leaked in {shown}"
            );
        }
        // On the "disk": no access token (memory only), no refresh-token secret in clear (the
        // PIN token only sealed under the PIN, the fingerprint token only sealed by the
        // keystore), no PIN, no signature.
        let disk = w.storage.raw().unwrap();
        for needle in needles
            .iter()
            .filter(|n| ![&secret, &ciphertext_on_disk].contains(n))
        {
            assert!(!disk.contains(needle.as_str()), "{needle} stored in clear");
        }
        // The server's event log names no secret either.
        let events = w.server.events().await.join("\n");
        for needle in &needles {
            assert!(
                !events.contains(needle.as_str()),
                "{needle} in the event log"
            );
        }
        // Errors carry no secrets either.
        w.server
            .delete_client(&w.client.client_id().unwrap().unwrap())
            .await;
        let err = w
            .client
            .authenticate_user(&profile, &ScriptedUser::typing([PIN]), None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), 9002);
        let text = format!("{err} {err:?}");
        for needle in &needles {
            assert!(!text.contains(needle.as_str()), "{needle} in {text}");
        }
    }

    pub(super) async fn change_pin_reseals_the_refresh_token_under_the_new_pin(wire: Wire) {
        let w = Setup::start(wire).await;
        let alice = w.user("alice").await;
        let (profile, _) = w.register(&alice).await;
        let current = ScriptedUser::typing([PIN]);
        let new = ScriptedUser::typing(["12345", OTHER_PIN]);
        w.client.change_pin(&current, &new).await.unwrap();
        assert!(new.prompts().contains(&Prompt::PinRejected(9012)));
        w.client.logout().await.unwrap();
        let pins = ScriptedUser::typing([PIN, OTHER_PIN]);
        w.client
            .authenticate_user(&profile, &pins, None)
            .await
            .unwrap();
        assert!(
            pins.prompts()
                .iter()
                .any(|p| matches!(p, Prompt::WrongPin(c) if c.remaining_attempts() == 2))
        );
    }

    pub(super) async fn step_up_authenticates_the_profile_again(wire: Wire) {
        let w = Setup::start(wire).await;
        let alice = w.user("alice").await;
        let (profile, _) = w.register(&alice).await;
        let pins = ScriptedUser::typing([PIN]);
        let provider = OneginiStepUp::new(w.client.clone(), Arc::new(pins.clone()), None);
        assert_eq!(provider.provider(), "onegini-model");
        // start blocks until the user answered: nothing to poll, no browser, not portable.
        assert_eq!(provider.capabilities(), Capabilities::new().start_blocks());
        let ask = |message: &str| StepUpRequest::new(profile.profile_id(), "Confirm", message);

        let started = provider.start(ask("Pay 10 EUR?")).await.unwrap();
        let handle = started.handle().clone();
        assert_eq!(handle.provider, "onegini-model");
        assert_eq!(handle.user, profile.profile_id());
        let outcome = started.outcome().unwrap().clone();
        assert!(outcome.is_approved(), "{outcome:?}");
        // check (and wait) repeat the settled outcome, on the client's clock.
        assert_eq!(
            provider.check(&handle).await.unwrap(),
            PollStatus::Ready(outcome.clone())
        );
        assert_eq!(
            provider
                .wait(&handle, &PollConfig::default())
                .await
                .unwrap(),
            outcome
        );
        assert!(w.device_clock.sleeps().is_empty());

        pins.then_deny();
        let started = provider.start(ask("Again?")).await.unwrap();
        assert!(matches!(
            started.outcome(),
            Some(StepUpOutcome::Denied { fraud: false, .. })
        ));

        pins.then_type(["11111", "22222", "33333"]);
        let started = provider.start(ask("Once more?")).await.unwrap();
        assert!(
            matches!(started.outcome(), Some(StepUpOutcome::Failed { .. })),
            "{started:?}"
        );
        let err = provider
            .start(StepUpRequest::new(
                UserProfile::new("NOPE00").profile_id(),
                "t",
                "m",
            ))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration, "{err}");

        // Another provider's handle is refused before anything is looked up; an unknown
        // handle (another process's) is an error, not a guess.
        let mut foreign = handle.clone();
        foreign.provider = "launchkey".into();
        let err = provider.check(&foreign).await.unwrap_err();
        assert!(
            matches!(err, Error::Core(auth_core::Error::ForeignHandle { .. })),
            "{err:?}"
        );
        let mut unknown = handle.clone();
        unknown.id = "su-from-elsewhere".into();
        assert_eq!(provider.check(&unknown).await.unwrap_err().code(), 10015);
    }

    pub(super) async fn step_up_remembers_a_bounded_number_of_outcomes(wire: Wire) {
        let w = Setup::start(wire).await;
        let alice = w.user("alice").await;
        let (profile, _) = w.register(&alice).await;
        let pins = ScriptedUser::default();
        let provider = OneginiStepUp::new(w.client.clone(), Arc::new(pins.clone()), None);
        let ask = || StepUpRequest::new(profile.profile_id(), "Confirm", "Again?");
        // Denials settle without a server call: cheap to make many.
        pins.then_deny();
        let first = provider.start(ask()).await.unwrap().into_handle();
        assert!(provider.check(&first).await.is_ok());
        for _ in 0..64 {
            pins.then_deny();
            let h = provider.start(ask()).await.unwrap().into_handle();
            assert!(provider.check(&h).await.is_ok());
        }
        // The 65th step-up pushed the first one out.
        assert_eq!(provider.check(&first).await.unwrap_err().code(), 10015);
    }

    pub(super) async fn start_reports_profiles_removed_on_the_server(wire: Wire) {
        let w = Setup::start(wire).await;
        let (alice_name, bob_name) = (w.user("alice").await, w.user("bob").await);
        assert!(
            w.client.start().await.unwrap().is_empty(),
            "nothing before DCR"
        );
        let (alice, _) = w.register(&alice_name).await;
        let (bob, _) = w.register(&bob_name).await;
        // Rotation keeps a profile valid.
        w.client
            .authenticate_user(&alice, &ScriptedUser::typing([PIN]), None)
            .await
            .unwrap();
        assert!(w.client.start().await.unwrap().is_empty());
        w.server.revoke_user_tokens(&alice_name).await;
        assert_eq!(w.client.start().await.unwrap(), [alice.clone()].into());
        assert_eq!(w.client.user_profiles().unwrap(), [bob.clone()].into());
        // A disabled version, then a deleted client.
        w.server
            .set_version_status(VERSION, PLATFORM, VersionStatus::Disabled)
            .await;
        assert_eq!(w.client.start().await.unwrap_err().code(), 9004);
        w.server
            .set_version_status(VERSION, PLATFORM, VersionStatus::Enabled)
            .await;
        w.server
            .delete_client(&w.client.client_id().unwrap().unwrap())
            .await;
        assert_eq!(w.client.start().await.unwrap_err().code(), 9002);
        assert!(w.client.user_profiles().unwrap().is_empty());
        assert_eq!(w.client.client_id().unwrap(), None);
    }
}

// ---- the crate's model only ---------------------------------------------------------------------

#[tokio::test]
async fn dcr_accepts_ten_minutes_of_skew_either_way_and_not_a_second_more() {
    // The server's clock sits on a minute boundary (T0); T1M floors the device's time, so the
    // last accepted device times are T0 + 10 min 59 s and T0 − 10 min.
    for (offset, accepted) in [
        (10 * 60, true),
        (10 * 60 + 59, true),
        (11 * 60, false),
        (-10 * 60, true),
        (-10 * 60 - 1, false),
    ] {
        let w = World::with(app_config(), offset).await;
        let result = w.client.pin_policy().await;
        match (accepted, result) {
            (true, Ok(_)) => assert_eq!(w.server.client_ids().len(), 1),
            (false, Err(e)) => {
                assert_eq!(e.code(), 9008, "offset {offset}");
                assert!(w.server.client_ids().is_empty());
            }
            (want, got) => panic!("offset {offset}: expected accepted={want}, got {got:?}"),
        }
    }
}

/// Serves a recorded transcript in order; checks method, path and the presence of fields.
struct Replay {
    exchanges: std::sync::Mutex<std::collections::VecDeque<serde_json::Value>>,
    mismatches: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Replay {
    fn answer(&self, request: &auth_core::HttpRequest) -> auth_core::HttpResponse {
        let next = self.exchanges.lock().unwrap().pop_front();
        let (method, path) = (request.method(), request.uri().path());
        let Some(x) = next else {
            self.mismatches
                .lock()
                .unwrap()
                .push(format!("unexpected {method} {path}"));
            return respond(500, None, Vec::new());
        };
        let want = &x["request"];
        let mut problems = Vec::new();
        if want["method"] != method.as_str() || want["path"] != path {
            problems.push(format!(
                "expected {} {}, got {method} {path}",
                want["method"], want["path"],
            ));
        }
        if let Some(fields) = want["json_fields"].as_array() {
            let body: serde_json::Value =
                serde_json::from_slice(request.body()).unwrap_or_default();
            for f in fields {
                if body.get(f.as_str().unwrap()).is_none() {
                    problems.push(format!("missing JSON field {f}"));
                }
            }
        }
        if let Some(fields) = want["form_fields"].as_array() {
            let form: std::collections::HashMap<String, String> =
                url::form_urlencoded::parse(request.body())
                    .into_owned()
                    .collect();
            for f in fields {
                let f = f.as_str().unwrap();
                let ok = match f.split_once('=') {
                    Some((k, v)) => form.get(k).map(String::as_str) == Some(v),
                    None => form.contains_key(f),
                };
                if !ok {
                    problems.push(format!("form field {f} missing or different"));
                }
            }
        }
        if want["basic_auth"] == true
            && !request
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("Basic "))
        {
            problems.push("no client authentication".into());
        }
        if !problems.is_empty() {
            self.mismatches
                .lock()
                .unwrap()
                .push(format!("{}: {}", x["note"], problems.join("; ")));
            return respond(500, None, Vec::new());
        }
        let r = &x["response"];
        let status = r["status"].as_u64().unwrap() as u16;
        if r["json"].is_null() {
            respond(status, None, Vec::new())
        } else {
            respond(status, Some("application/json"), r["json"].to_string())
        }
    }
}

/// A browser that skips the IdP: answers with the recorded code and the request's state.
struct RecordedBrowser;

#[async_trait::async_trait]
impl onegini_model::BrowserRegistrationHandler for RecordedBrowser {
    async fn start_registration(&self, url: url::Url) -> onegini_model::BrowserRegistrationAnswer {
        let state = url
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        onegini_model::BrowserRegistrationAnswer::Callback(
            url::Url::parse(&format!("{REDIRECT}?code=rec-code-1&state={state}")).unwrap(),
        )
    }
}

#[tokio::test]
async fn replay_of_a_recorded_registration_and_pin_login() {
    let path = format!(
        "{}/../../fixtures/onegini-model/transcripts/registration-and-pin-login.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let exchanges: std::collections::VecDeque<_> = doc["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .cloned()
        .collect();
    let total = exchanges.len();
    let mismatches = Arc::new(std::sync::Mutex::new(Vec::new()));
    let replay = Replay {
        exchanges: std::sync::Mutex::new(exchanges),
        mismatches: mismatches.clone(),
    };
    let (server, stand_in) = StandIn::serve(move |request| replay.answer(request)).await;
    let config = client_config(SIGNATURE)
        .pbkdf2_iterations(1_000)
        .build()
        .unwrap();
    let client = onegini_model::Client::builder(config, Arc::new(MemoryStorage::new()))
        .base_url(server.base_url())
        .clock(Arc::new(auth_core::FakeClock::at_unix(T0)))
        .build()
        .unwrap();
    let pins = ScriptedUser::typing([PIN]);
    let profile = client
        .register_user(&["read"], &RecordedBrowser, &pins)
        .await
        .unwrap();
    assert_eq!(client.pin_policy().await.unwrap().blocklist, vec!["90210"]);
    client.logout().await.unwrap();
    let pins = ScriptedUser::typing(["11111", "22222", PIN]);
    client
        .authenticate_user(&profile, &pins, None)
        .await
        .unwrap();
    let counters: Vec<(u32, u32)> = pins
        .prompts()
        .into_iter()
        .filter_map(|p| match p {
            Prompt::WrongPin(c) => Some((c.failed_attempts(), c.max_attempts())),
            _ => None,
        })
        .collect();
    // From the server's fields, then counted by the client when the fields are missing.
    assert_eq!(counters, vec![(1, 3), (2, 3)]);
    assert!(
        mismatches.lock().unwrap().is_empty(),
        "{:?}",
        mismatches.lock().unwrap()
    );
    assert_eq!(stand_in.take_seen().len(), total);
}
