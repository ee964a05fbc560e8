//! LogonBox conformance: both flows with both key types against the emulator (real HTTP on
//! loopback, real keys, real signatures), every documented failure, and replays of the
//! recorded transcripts in fixtures/logonbox/transcripts/ (published vectors).
//!
//! Every emulator scenario also runs against the `oob-auth-emulator` server binary
//! (`binary::…`, ignored unless `cargo xtask conformance --binary` runs them); the direct-flow
//! scenarios run in process too (`in_process::…`).

use std::sync::Arc;
use std::time::Duration;

use auth_core::emulator::{Control, ControlError};
use auth_core::poll::{PollConfig, PollStatus};
use auth_core::stepup::{Started, StepUp, StepUpOutcome, StepUpRequest};
use auth_core::{Classify, ErrorKind, FakeClock};
use base64::Engine;
use logonbox::emulator::{Behaviour, Emulator, REJECT_MESSAGE};
use logonbox::{
    AuthRequest, Client, Error, KeySelection, KeyType, PendingRequest, RedirectRequest,
    ResponseBlob, RsaHash,
};
use serde_json::Value;

use crate::common::{b64url, decode, fixture_json};
use crate::emu::{Setup, Wire};

const CALLBACK: &str = "http://127.0.0.1:9/finish?response={response}";

/// The emulator on `wire` with a user of its own (`lee-…@logonbox.com`) holding `keys`, and a
/// client.
async fn emulator_on(wire: Wire, keys: &[KeyType]) -> (Setup, Client, String) {
    let s = Setup::start(wire).await;
    let lee = s.principal("lee@logonbox.com");
    s.add_user(&lee, keys).await;
    let client = s.client_builder().build().unwrap();
    (s, client, lee)
}

/// Runs the browser leg of the redirect flow; returns the `response` parameter.
async fn browse(s: &Setup, client: &Client, pending: &PendingRequest) -> String {
    let back = s.follow_sign_url(&client.sign_url(pending)).await;
    assert!(
        back.as_str()
            .starts_with("http://127.0.0.1:9/finish?response=")
    );
    logonbox::emulator::response_param(&back).unwrap()
}

async fn pending_for(client: &Client, principal: &str) -> PendingRequest {
    client
        .generate_request(RedirectRequest::new(principal, CALLBACK))
        .await
        .unwrap()
}

/// Every scenario runs against the crate's emulator and against the emulator server binary
/// (`binary::…`); the direct-flow ones over a real socket (`socket::…`) and in process
/// (`in_process::…`), the others over the socket (the browser leg needs one).
macro_rules! scenarios {
    (every_wire: [$($direct:ident),* $(,)?], socket: [$($name:ident),* $(,)?] $(,)?) => {
        /// The direct-flow scenarios over real HTTP on a loopback port.
        mod socket {
            $(#[tokio::test]
            async fn $direct() {
                super::scenarios::$direct(super::Wire::Socket).await;
            })*
        }
        /// The direct-flow scenarios through the in-process client: the model, no socket.
        mod in_process {
            $(#[tokio::test]
            async fn $direct() {
                super::scenarios::$direct(super::Wire::InProcess).await;
            })*
        }
        $(#[tokio::test]
        async fn $name() {
            scenarios::$name(Wire::Socket).await;
        })*
        /// Every scenario against the `oob-auth-emulator` server binary at `OOB_EMULATOR_URL`
        /// (`cargo xtask conformance --binary` starts it and runs these); without it each
        /// fails, never passes.
        ///
        /// Left out (they need the crate's emulator itself):
        /// - `manual_requests_expire_on_an_injected_clock`: the model runs on the test's own
        ///   `FakeClock` (the server's clock is its own; `manual_requests_expire_when_the_clock_advances`
        ///   is the server's side of it).
        /// - `the_emulators_model_serves_anywhere`: serves the Rust model on a second port.
        /// - the `transcript_*` tests: recorded transcripts from a local replay server, no
        ///   emulator.
        mod binary {
            $(auth_core::needs_emulator_server! {
                async fn $direct() {
                    super::scenarios::$direct(super::Wire::Binary).await;
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
        direct_ed25519_approved,
        direct_rsa_approved,
        direct_rsa_sha256_when_configured,
        direct_prefers_ed25519_and_never_prompts_twice,
        direct_user_rejects,
        direct_unknown_user,
        direct_user_without_keys,
        direct_key_type_filter,
        direct_server_error,
        direct_bad_signature,
        direct_signature_by_another_users_key,
        direct_empty_signature_with_positive_response,
        direct_malformed_listing_lines_are_skipped,
        direct_bad_listing_header,
        direct_user_answers_slowly,
        direct_custom_texts_and_payload,
        direct_principal_is_percent_encoded,
        direct_invalid_principal_sends_nothing,
    ],
    socket: [
        redirect_ed25519_approved,
        redirect_rsa_approved,
        redirect_padded_and_unpadded_response,
        redirect_completed_request_cannot_be_replayed,
        redirect_rejected,
        redirect_replay_onto_another_request_refused,
        redirect_tampered_response_refused,
        redirect_response_signed_by_another_user_refused,
        redirect_response_from_another_key_of_the_same_user_refused,
        redirect_session_edited_apart_from_the_blob_refused,
        redirect_sha1_flags_refused,
        redirect_flags_downgrade_refused,
        redirect_expired_request_refused,
        redirect_key_removed_before_the_response,
        redirect_request_validation,
        stepup_start_blocks_and_settles_then_check_reverifies,
        stepup_denied_expired_failed,
        stepup_check_rate_limited_is_pending_with_the_hint,
        emulator_accepts_java_style_padded_payload,
        listing_has_no_final_line_break_and_both_forms_parse,
        redirect_server_failure_returns_to_the_app,
        padding_of_signatures_and_responses_are_separate_switches,
        manual_direct_requests_are_answered_by_control_commands,
        manual_requests_expire_when_the_clock_advances,
        manual_redirect_sign_page_waits_for_the_phone,
        control_commands_play_the_phone_and_the_back_office,
    ],
}

/// Rewrites a `response` parameter as some server or URL handling may deliver it.
type Spell = fn(&str) -> String;

/// The scenarios, each given the wire to run on. Each scenario's users are its own (unique
/// principals), and what it reads back (sign requests, listings, pending requests) is theirs.
mod scenarios {
    use super::*;

    // ------------------------------------------------------------ direct flow

    pub(super) async fn direct_ed25519_approved(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        let keys = s.public_keys(&lee);
        let approval = client.authenticate(lee.as_str()).await.unwrap();
        assert_eq!(approval.principal(), lee);
        assert_eq!(approval.key().fingerprint(), keys[0].fingerprint());
        assert_eq!(approval.flags(), 0);
        assert_eq!(approval.signed_data().len(), 128);
        assert_eq!(approval.signature().len(), 64);
        // Our own check of the signature, independent of the client's.
        keys[0]
            .verify(0, approval.signed_data(), approval.signature())
            .unwrap();

        let signs = s.sign_requests().await;
        assert_eq!(signs.len(), 1);
        let sign = &signs[0];
        assert_eq!(sign.flow, "direct");
        assert_eq!(sign.username, lee);
        assert_eq!(sign.fingerprint, keys[0].fingerprint().as_str());
        assert_eq!(sign.flags, 0);
        assert_eq!(sign.remote_name, "LogonBox Authenticator API");
        assert_eq!(sign.authorize_text, "Authorize");
        assert_eq!(
            sign.text,
            format!(
                "{lee} wants to authenticate from LogonBox Authenticator API using your 127.0.0.1 credentials."
            )
        );
        // The payload went out as unpadded base64url of exactly the signed bytes.
        assert!(!sign.payload_field.contains('='));
        assert_eq!(decode(&sign.payload_field), approval.signed_data());

        // Fresh random payload each time.
        let again = client.authenticate(lee.as_str()).await.unwrap();
        assert_ne!(again.signed_data(), approval.signed_data());
    }

    pub(super) async fn direct_rsa_approved(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Rsa]).await;
        let key = s.public_keys(&lee).remove(0);
        assert_eq!(key.rsa_bits(), Some(3072));
        let approval = client.authenticate(lee.as_str()).await.unwrap();
        assert_eq!(approval.key().key_type(), KeyType::Rsa);
        assert_eq!(approval.flags(), 4);
        assert_eq!(approval.signature().len(), 384);
        key.verify(4, approval.signed_data(), approval.signature())
            .unwrap();
        // It is SHA-512: the same signature is not a SHA-256 one.
        assert!(matches!(
            key.verify(2, approval.signed_data(), approval.signature()),
            Err(Error::SignatureInvalid)
        ));
        assert_eq!(s.sign_requests().await[0].flags, 4);
    }

    pub(super) async fn direct_rsa_sha256_when_configured(wire: Wire) {
        let (s, _, lee) = emulator_on(wire, &[KeyType::Rsa]).await;
        let client = s
            .client_builder()
            .rsa_hash(RsaHash::Sha256)
            .build()
            .unwrap();
        let approval = client.authenticate(lee.as_str()).await.unwrap();
        assert_eq!(approval.flags(), 2);
        assert_eq!(s.sign_requests().await[0].flags, 2);
    }

    pub(super) async fn direct_prefers_ed25519_and_never_prompts_twice(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Rsa, KeyType::Ed25519]).await;
        let keys = s.public_keys(&lee);
        let approval = client.authenticate(lee.as_str()).await.unwrap();
        assert_eq!(approval.key().fingerprint(), keys[1].fingerprint());

        // A rejection ends the authentication: the RSA key is not asked next (Java SDK bug).
        s.set_behaviour(&lee, Behaviour::reject()).await;
        let err = client.authenticate(lee.as_str()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Rejected, "{err}");
        let signs = s.sign_requests().await;
        assert_eq!(signs.len(), 2, "one prompt per authentication");
        assert!(signs.iter().all(|s| s.flags == 0));

        // The official direct-flow rule is available explicitly.
        s.set_behaviour(&lee, Behaviour::Approve).await;
        let approval = client
            .authenticate(AuthRequest::new(lee.as_str()).key(KeySelection::FirstListed))
            .await
            .unwrap();
        assert_eq!(approval.key().fingerprint(), keys[0].fingerprint());
        let approval = client
            .authenticate(
                AuthRequest::new(lee.as_str())
                    .key(KeySelection::Fingerprint(keys[0].fingerprint().clone())),
            )
            .await
            .unwrap();
        assert_eq!(approval.flags(), 4);
    }

    pub(super) async fn direct_user_rejects(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        s.set_behaviour(&lee, Behaviour::reject()).await;
        match client.authenticate(lee.as_str()).await {
            Err(Error::Rejected { message }) => assert_eq!(message, REJECT_MESSAGE),
            other => panic!("{other:?}"),
        }
        s.set_padded_base64(true).await;
        s.set_behaviour(
            &lee,
            Behaviour::Reject {
                message: "Not me".into(),
            },
        )
        .await;
        match client.authenticate(lee.as_str()).await {
            Err(Error::Rejected { message }) => assert_eq!(message, "Not me"),
            other => panic!("{other:?}"),
        }
    }

    pub(super) async fn direct_unknown_user(wire: Wire) {
        let (s, client, _) = emulator_on(wire, &[KeyType::Ed25519]).await;
        let nobody = s.principal("nobody@logonbox.com");
        let err = client.authenticate(nobody.as_str()).await.unwrap_err();
        assert!(
            matches!(&err, Error::UnknownUser { principal } if *principal == nobody),
            "{err:?}"
        );
        assert!(err.is_not_enrolled());
        assert!(s.sign_requests().await.is_empty());
    }

    pub(super) async fn direct_user_without_keys(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[]).await;
        let err = client.authenticate(lee.as_str()).await.unwrap_err();
        assert!(matches!(err, Error::NoSuitableKey { .. }), "{err:?}");
        assert!(err.is_not_enrolled());
        assert!(s.sign_requests().await.is_empty());
    }

    pub(super) async fn direct_key_type_filter(wire: Wire) {
        let (s, _, lee) = emulator_on(wire, &[KeyType::Rsa]).await;
        let client = s
            .client_builder()
            .key_types(&[KeyType::Ed25519])
            .build()
            .unwrap();
        assert!(matches!(
            client.authenticate(lee.as_str()).await,
            Err(Error::NoSuitableKey { .. })
        ));
        assert!(s.sign_requests().await.is_empty());
    }

    pub(super) async fn direct_server_error(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        s.set_behaviour(
            &lee,
            Behaviour::Fail {
                message: "Device unavailable".into(),
            },
        )
        .await;
        match client.authenticate(lee.as_str()).await {
            Err(Error::Server { message }) => assert_eq!(message, "Device unavailable"),
            other => panic!("{other:?}"),
        }
        s.set_behaviour(
            &lee,
            Behaviour::HttpStatus {
                status: 500,
                message: Some("Internal failure".into()),
            },
        )
        .await;
        // An error status is a status error, its JSON message kept in the body.
        match client.authenticate(lee.as_str()).await {
            Err(Error::Core(auth_core::Error::Status { status, body, .. })) => {
                assert_eq!(status, 500);
                assert!(body.as_str().contains("Internal failure"), "{body}");
            }
            other => panic!("{other:?}"),
        }
        // A non-JSON 503 is an HTTP status error, and the sign call is not repeated.
        s.set_behaviour(
            &lee,
            Behaviour::HttpStatus {
                status: 503,
                message: None,
            },
        )
        .await;
        match client.authenticate(lee.as_str()).await {
            Err(Error::Core(auth_core::Error::Status { status, .. })) => assert_eq!(status, 503),
            other => panic!("{other:?}"),
        }
        assert_eq!(s.sign_requests().await.len(), 3);
    }

    pub(super) async fn direct_bad_signature(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519, KeyType::Rsa]).await;
        s.set_behaviour(&lee, Behaviour::CorruptSignature).await;
        let err = client.authenticate(lee.as_str()).await.unwrap_err();
        assert!(matches!(err, Error::SignatureInvalid), "{err:?}");
        assert!(err.is_verification_failure());
        let err = client
            .authenticate(AuthRequest::new(lee.as_str()).key(KeySelection::FirstListed))
            .await;
        assert!(matches!(err, Err(Error::SignatureInvalid)));
        // Still one prompt per authentication.
        assert_eq!(s.sign_requests().await.len(), 2);
    }

    pub(super) async fn direct_signature_by_another_users_key(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        let mallory = s.principal("mallory@evil.example");
        s.add_user(&mallory, &[KeyType::Ed25519]).await;
        s.set_behaviour(&lee, Behaviour::SignAs(mallory.clone()))
            .await;
        assert!(matches!(
            client.authenticate(lee.as_str()).await,
            Err(Error::SignatureInvalid)
        ));
    }

    pub(super) async fn direct_empty_signature_with_positive_response(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        s.set_behaviour(&lee, Behaviour::EmptySignaturePositive)
            .await;
        assert!(matches!(
            client.authenticate(lee.as_str()).await,
            Err(Error::InvalidServerResponse { .. })
        ));
    }

    pub(super) async fn direct_malformed_listing_lines_are_skipped(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        let good = s.public_keys(&lee).remove(0);
        let listing = format!(
            "# Authorized keys for {lee}\n\
             \n\
             # a comment\n\
             ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBA== ecdsa\n\
             ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL0ISnrIwtSbFr9oRTZ truncated\n\
             ssh-rsa not-base64!! junk\n\
             ssh-ed25519\n\
             just some words here\n\
             \t\n\
             {}\n",
            good.to_line()
        );
        s.set_listing(&lee, listing).await;
        let parsed = client.authorized_keys(&lee).await.unwrap();
        assert_eq!(parsed.keys(), std::slice::from_ref(&good));
        assert_eq!(parsed.skipped().len(), 5);
        assert!(matches!(
            parsed.skipped()[0].reason,
            logonbox::SkipReason::UnsupportedType(ref t) if t == "ecdsa-sha2-nistp256"
        ));
        let approval = client.authenticate(lee.as_str()).await.unwrap();
        assert_eq!(approval.key(), &good);
    }

    pub(super) async fn direct_bad_listing_header(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        let line = s.public_keys(&lee)[0].to_line();
        s.set_listing(&lee, format!("# XXXXXXXXXX\n{line}\n")).await;
        match client.authenticate(lee.as_str()).await {
            Err(Error::InvalidKeyListing { host, .. }) => assert_eq!(host, "127.0.0.1"),
            other => panic!("{other:?}"),
        }
        s.set_listing(&lee, "").await;
        assert!(matches!(
            client.authenticate(lee.as_str()).await,
            Err(Error::InvalidKeyListing { .. })
        ));
        assert!(s.sign_requests().await.is_empty());
    }

    pub(super) async fn direct_user_answers_slowly(wire: Wire) {
        let (s, _, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        s.set_delay(&lee, Duration::from_millis(700)).await;
        let slow = s
            .client_builder()
            .sign_timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        slow.authenticate(lee.as_str()).await.unwrap();
        let impatient = s
            .client_builder()
            .sign_timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let err = impatient.authenticate(lee.as_str()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
        // Never re-sent.
        assert_eq!(s.sign_requests().await.len(), 2);
    }

    pub(super) async fn direct_custom_texts_and_payload(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        let payload = b"transfer 120 EUR to ACME, ref 42".to_vec();
        let approval = client
            .authenticate(
                AuthRequest::new(lee.as_str())
                    .prompt_text("{principal}@{hostname}: {remoteName} asks, {username}?")
                    .authorize_text("Pay")
                    .remote_name("ACME Bank")
                    .payload(payload.clone()),
            )
            .await
            .unwrap();
        assert_eq!(approval.signed_data(), payload);
        let sign = &s.sign_requests().await[0];
        assert_eq!(
            sign.text,
            format!("{lee}@127.0.0.1: ACME Bank asks, {lee}?")
        );
        assert_eq!(sign.authorize_text, "Pay");
        assert_eq!(sign.remote_name, "ACME Bank");
        assert!(matches!(
            client
                .authenticate(AuthRequest::new(lee.as_str()).payload(Vec::new()))
                .await,
            Err(Error::Core(auth_core::Error::Config(_)))
        ));
    }

    pub(super) async fn direct_principal_is_percent_encoded(wire: Wire) {
        let s = Setup::start(wire).await;
        let odd = s.principal("a b/c?d#e%f@example.com");
        assert!(odd.starts_with("a b/c?d#e%f-"), "{odd}");
        s.add_user(&odd, &[KeyType::Ed25519]).await;
        let client = s.client_builder().build().unwrap();
        let approval = client.authenticate(odd.as_str()).await.unwrap();
        assert_eq!(approval.principal(), odd);
        assert_eq!(s.sign_requests().await[0].username, odd);
    }

    pub(super) async fn direct_invalid_principal_sends_nothing(wire: Wire) {
        let (s, client, _) = emulator_on(wire, &[KeyType::Ed25519]).await;
        for bad in ["", "..", "a\nb"] {
            assert!(matches!(
                client.authenticate(bad).await,
                Err(Error::InvalidPrincipal { .. })
            ));
        }
        assert_eq!(s.listing_requests().await, 0);
    }

    // ------------------------------------------------------------ redirect flow

    pub(super) async fn redirect_ed25519_approved(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Rsa, KeyType::Ed25519]).await;
        let keys = s.public_keys(&lee);
        let pending = pending_for(&client, &lee).await;
        assert_eq!(pending.fingerprint(), keys[1].fingerprint());
        assert_eq!(pending.flags(), 0);
        let url = client.sign_url(&pending);
        assert_eq!(
            url.as_str(),
            format!("{}/authenticator/sign/{}", s.base_url(), pending.encoded())
        );
        // The blob carries the replaced prompt, and the phone saw it.
        let response = browse(&s, &client, &pending).await;
        let sign = &s.sign_requests().await[0];
        assert_eq!(sign.flow, "redirect");
        assert!(
            sign.text
                .starts_with(&format!("{lee} wants to authenticate"))
        );
        // Serializable pending state, as an app keeps it in its session.
        let session = serde_json::to_string(&pending).unwrap();
        let restored: PendingRequest = serde_json::from_str(&session).unwrap();
        let blob = restored.blob().to_vec();
        let approval = client.process_response(restored, &response).await.unwrap();
        assert_eq!(approval.principal(), lee);
        assert_eq!(approval.key(), &keys[1]);
        assert_eq!(approval.signed_data(), blob);
        keys[1].verify(0, &blob, approval.signature()).unwrap();
    }

    pub(super) async fn redirect_rsa_approved(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Rsa]).await;
        let pending = pending_for(&client, &lee).await;
        assert_eq!(pending.flags(), 4);
        let response = browse(&s, &client, &pending).await;
        let approval = client.process_response(pending, &response).await.unwrap();
        assert_eq!(approval.key().key_type(), KeyType::Rsa);
        assert_eq!(approval.flags(), 4);
        assert_eq!(approval.signature().len(), 384);
    }

    pub(super) async fn redirect_padded_and_unpadded_response(wire: Wire) {
        // RSA: a large response blob whose length is not a multiple of 3, so padded base64url
        // really has padding.
        let (s, client, lee) = emulator_on(wire, &[KeyType::Rsa]).await;
        s.set_padded_base64(true).await;
        // Each spelling of the same response blob, as servers and URL handling may deliver it.
        let spellings: [(&str, Spell); 7] = [
            ("padded base64url", |r| r.to_owned()),
            ("unpadded base64url", |r| r.trim_end_matches('=').to_owned()),
            ("standard base64", |r| {
                base64::engine::general_purpose::STANDARD.encode(decode(r))
            }),
            // Query decoding turned its `+` into spaces.
            ("standard base64, + as space", |r| {
                base64::engine::general_purpose::STANDARD
                    .encode(decode(r))
                    .replace('+', " ")
            }),
            // A raw, still percent-encoded query value.
            ("percent-encoded padding", |r| r.replace('=', "%3D")),
            ("percent-encoded standard base64", |r| {
                base64::engine::general_purpose::STANDARD
                    .encode(decode(r))
                    .replace('+', "%2B")
                    .replace('/', "%2f")
                    .replace('=', "%3d")
            }),
            ("surrounding whitespace", |r| format!(" {r}\n")),
        ];
        for (name, spell) in spellings {
            let pending = pending_for(&client, &lee).await;
            let response = browse(&s, &client, &pending).await;
            assert!(response.ends_with('='), "{response}");
            let approval = client
                .process_response(pending, &spell(&response))
                .await
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(approval.flags(), 4, "{name}");
        }
    }

    pub(super) async fn redirect_completed_request_cannot_be_replayed(wire: Wire) {
        // A session kept in a signed cookie can be presented again with the same response: the
        // client refuses a request that already produced an approval.
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        let pending = pending_for(&client, &lee).await;
        let response = browse(&s, &client, &pending).await;
        let cookie = serde_json::to_string(&pending).unwrap();
        client
            .process_response(pending.clone(), &response)
            .await
            .unwrap();
        let replayed: PendingRequest = serde_json::from_str(&cookie).unwrap();
        let err = client
            .process_response(replayed, &response)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::RequestAlreadyUsed), "{err:?}");
        assert!(err.is_verification_failure());
        // Clones of the client share that memory.
        assert!(matches!(
            client.clone().process_response(pending, &response).await,
            Err(Error::RequestAlreadyUsed)
        ));
        // Other requests are unaffected.
        let other = pending_for(&client, &lee).await;
        let response = browse(&s, &client, &other).await;
        client.process_response(other, &response).await.unwrap();
    }

    pub(super) async fn redirect_rejected(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        s.set_behaviour(&lee, Behaviour::reject()).await;
        let pending = pending_for(&client, &lee).await;
        let response = browse(&s, &client, &pending).await;
        match client.process_response(pending, &response).await {
            Err(Error::Rejected { message }) => assert_eq!(message, REJECT_MESSAGE),
            other => panic!("{other:?}"),
        }
    }

    pub(super) async fn redirect_replay_onto_another_request_refused(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        let first = pending_for(&client, &lee).await;
        let second = pending_for(&client, &lee).await;
        assert_ne!(
            first.blob(),
            second.blob(),
            "nonce and noise make blobs unique"
        );
        let response = browse(&s, &client, &first).await;
        let err = client
            .process_response(second, &response)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::SignatureInvalid), "{err:?}");
        client.process_response(first, &response).await.unwrap();
    }

    pub(super) async fn redirect_tampered_response_refused(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        let pending = pending_for(&client, &lee).await;
        let response = browse(&s, &client, &pending).await;
        let bytes = decode(&response);
        let ResponseBlob::Signed {
            username,
            fingerprint,
            flags,
            signature,
        } = ResponseBlob::parse(&bytes).unwrap()
        else {
            panic!("not signed");
        };
        let with = |username: &str, signature: Vec<u8>| {
            b64url(
                &ResponseBlob::Signed {
                    username: username.to_owned(),
                    fingerprint: fingerprint.clone(),
                    flags,
                    signature,
                }
                .to_bytes(),
            )
        };
        let mut bad_sig = signature.clone();
        bad_sig[5] ^= 0x40;
        assert!(matches!(
            client
                .process_response(pending.clone(), &with(&username, bad_sig))
                .await,
            Err(Error::SignatureInvalid)
        ));
        assert!(matches!(
            client
                .process_response(
                    pending.clone(),
                    &with("eve@logonbox.com", signature.clone())
                )
                .await,
            Err(Error::ResponseMismatch { field: "username" })
        ));
        let mut trailing = bytes.clone();
        trailing.push(0);
        let mut truncated = bytes.clone();
        truncated.truncate(bytes.len() - 3);
        for junk in [
            b64url(&trailing),
            b64url(&truncated),
            "@@@".into(),
            String::new(),
        ] {
            let err = client
                .process_response(pending.clone(), &junk)
                .await
                .unwrap_err();
            assert!(
                matches!(err, Error::Core(auth_core::Error::Decode { .. })),
                "{err:?}"
            );
        }
        client.process_response(pending, &response).await.unwrap();
    }

    pub(super) async fn redirect_response_signed_by_another_user_refused(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        let mallory = s.principal("mallory@evil.example");
        s.add_user(&mallory, &[KeyType::Ed25519]).await;
        s.set_behaviour(&lee, Behaviour::SignAs(mallory.clone()))
            .await;
        let pending = pending_for(&client, &lee).await;
        let response = browse(&s, &client, &pending).await;
        // Official clients look the key up by the response's username and would accept this.
        assert!(matches!(
            client.process_response(pending, &response).await,
            Err(Error::ResponseMismatch { field: "username" })
        ));
    }

    pub(super) async fn redirect_response_from_another_key_of_the_same_user_refused(wire: Wire) {
        // Lee has two ed25519 keys; the request asks the first. A genuine signature over the
        // same blob by the second key, naming the second key, is still not what was asked for.
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519, KeyType::Ed25519]).await;
        let keys = s.public_keys(&lee);
        let pending = pending_for(&client, &lee).await;
        assert_eq!(pending.fingerprint(), keys[0].fingerprint());
        let signature = s.sign_with(&lee, 1, 0, pending.blob()).await;
        keys[1].verify(0, pending.blob(), &signature).unwrap();
        let response = |fingerprint: &logonbox::Fingerprint, signature: Vec<u8>| {
            b64url(
                &ResponseBlob::Signed {
                    username: lee.clone(),
                    fingerprint: fingerprint.clone(),
                    flags: 0,
                    signature,
                }
                .to_bytes(),
            )
        };
        assert!(matches!(
            client
                .process_response(
                    pending.clone(),
                    &response(keys[1].fingerprint(), signature.clone())
                )
                .await,
            Err(Error::ResponseMismatch {
                field: "fingerprint"
            })
        ));
        // Naming the requested key with the other key's signature: the signature check refuses.
        assert!(matches!(
            client
                .process_response(pending.clone(), &response(keys[0].fingerprint(), signature))
                .await,
            Err(Error::SignatureInvalid)
        ));
        // The requested key's own signature passes (the test can fail the other way too).
        let good = s.sign_with(&lee, 0, 0, pending.blob()).await;
        client
            .process_response(pending, &response(keys[0].fingerprint(), good))
            .await
            .unwrap();
    }

    pub(super) async fn redirect_session_edited_apart_from_the_blob_refused(wire: Wire) {
        // An application keeps the pending request in a session store an attacker can write
        // to: changing the principal next to the blob must not make Eve's approval Lee's.
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        let eve = s.principal("eve@logonbox.com");
        s.add_user(&eve, &[KeyType::Ed25519]).await;
        let pending = pending_for(&client, &eve).await;
        let mut stored = serde_json::to_value(&pending).unwrap();
        stored["principal"] = Value::String(lee.clone());
        stored["fingerprint"] = Value::String(s.public_keys(&lee)[0].fingerprint().to_string());
        assert!(serde_json::from_value::<PendingRequest>(stored).is_err());
    }

    pub(super) async fn redirect_sha1_flags_refused(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Rsa]).await;
        s.set_behaviour(&lee, Behaviour::AnswerWithFlags(1)).await;
        let pending = pending_for(&client, &lee).await;
        let response = browse(&s, &client, &pending).await;
        match client.process_response(pending, &response).await {
            Err(Error::UnsupportedFlags { key_type, flags }) => {
                assert_eq!(key_type, KeyType::Rsa);
                assert_eq!(flags, 1);
            }
            other => panic!("{other:?}"),
        }
    }

    pub(super) async fn redirect_flags_downgrade_refused(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Rsa]).await;
        // A genuine SHA-256 signature, but the request asked for SHA-512.
        s.set_behaviour(&lee, Behaviour::AnswerWithFlags(2)).await;
        let pending = pending_for(&client, &lee).await;
        let response = browse(&s, &client, &pending).await;
        assert!(matches!(
            client.process_response(pending, &response).await,
            Err(Error::ResponseMismatch { field: "flags" })
        ));
    }

    pub(super) async fn redirect_expired_request_refused(wire: Wire) {
        let (s, _, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        let clock = FakeClock::at_unix(1_700_000_000);
        let client = s
            .client_builder()
            .clock(Arc::new(clock.clone()))
            .max_pending_age(Duration::from_secs(300))
            .build()
            .unwrap();
        let pending = pending_for(&client, &lee).await;
        assert_eq!(pending.created_at(), 1_700_000_000);
        let response = browse(&s, &client, &pending).await;
        clock.advance(Duration::from_secs(301));
        match client.process_response(pending.clone(), &response).await {
            Err(Error::RequestExpired { age, max_age }) => {
                assert_eq!(age, Duration::from_secs(301));
                assert_eq!(max_age, Duration::from_secs(300));
            }
            other => panic!("{other:?}"),
        }
        clock.set(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_299));
        client.process_response(pending, &response).await.unwrap();
    }

    pub(super) async fn redirect_key_removed_before_the_response(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        let pending = pending_for(&client, &lee).await;
        let response = browse(&s, &client, &pending).await;
        // The user re-enrolls (new key) before the browser comes back.
        s.add_user(&lee, &[KeyType::Ed25519]).await;
        assert!(matches!(
            client.process_response(pending.clone(), &response).await,
            Err(Error::KeyNotFound { .. })
        ));
        s.remove_user(&lee).await;
        assert!(matches!(
            client.process_response(pending, &response).await,
            Err(Error::UnknownUser { .. })
        ));
    }

    pub(super) async fn redirect_request_validation(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        for bad in [
            "https://app.example/finish",
            "/relative?response={response}",
            "https://app.example/?a={response}&b={response}",
        ] {
            assert!(matches!(
                client
                    .generate_request(RedirectRequest::new(lee.as_str(), bad))
                    .await,
                Err(Error::InvalidRedirectUrl { .. })
            ));
        }
        assert_eq!(s.listing_requests().await, 0);
        let nobody = s.principal("nobody@logonbox.com");
        assert!(matches!(
            client
                .generate_request(RedirectRequest::new(nobody.as_str(), CALLBACK))
                .await,
            Err(Error::UnknownUser { .. })
        ));
        let keyless = s.principal("keyless@logonbox.com");
        s.add_user(&keyless, &[]).await;
        assert!(matches!(
            client
                .generate_request(RedirectRequest::new(keyless.as_str(), CALLBACK))
                .await,
            Err(Error::NoSuitableKey { .. })
        ));
    }

    // ------------------------------------------------------------ step-up

    pub(super) async fn stepup_start_blocks_and_settles_then_check_reverifies(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        let capabilities = client.capabilities();
        assert!(capabilities.start_blocks && capabilities.portable_handle);
        assert!(!capabilities.needs_browser && !capabilities.pollable && !capabilities.webhook);
        assert_eq!(client.provider(), "logonbox");
        let started = client
            .start(StepUpRequest::new(
                lee.as_str(),
                "Confirm payment",
                "Pay 120 EUR to ACME?",
            ))
            .await
            .unwrap();
        let Started::Settled { handle, outcome } = started else {
            panic!("LogonBox's start settles: {started:?}");
        };
        assert_eq!(handle.provider, "logonbox");
        assert_eq!(s.sign_requests().await[0].text, "Pay 120 EUR to ACME?");
        match &outcome {
            StepUpOutcome::Approved { evidence } => {
                assert_eq!(evidence.provider, "logonbox");
                assert_eq!(evidence.details["principal"], lee.as_str());
                assert_eq!(
                    evidence.details["fingerprint"],
                    s.public_keys(&lee)[0].fingerprint().as_str()
                );
            }
            other => panic!("{other:?}"),
        }
        // Checked again (in another process, after a restart: the handle is all it takes),
        // the same outcome, verified again against the server's key.
        let listings = s.listing_requests().await;
        let stored = serde_json::to_string(&handle).unwrap();
        let restored: auth_core::StepUpHandle = serde_json::from_str(&stored).unwrap();
        let waited = client
            .wait(&restored, &PollConfig::default())
            .await
            .unwrap();
        assert_eq!(waited, outcome);
        assert_eq!(s.listing_requests().await, listings + 1);
        // A forged approval in the handle does not survive the check.
        let mut forged = handle.clone();
        let sig = forged.state["signature"].as_str().unwrap().to_owned();
        let mut bytes = decode(&sig);
        bytes[0] ^= 1;
        forged.state["signature"] = Value::String(b64url(&bytes));
        assert!(matches!(
            client.check(&forged).await,
            Err(Error::SignatureInvalid)
        ));
        // An approval recorded for another handle does not pass for this one.
        let other = client
            .start(StepUpRequest::new(
                lee.as_str(),
                "Confirm",
                "Something else?",
            ))
            .await
            .unwrap()
            .into_handle();
        client.check(&other).await.unwrap();
        let mut pasted = other.clone();
        pasted.state = handle.state.clone();
        assert!(matches!(
            client.check(&pasted).await,
            Err(Error::ResponseMismatch { field: "handle id" })
        ));
        let mut foreign = handle.clone();
        foreign.provider = "launchkey".into();
        let err = client.check(&foreign).await.unwrap_err();
        assert!(
            matches!(err, Error::Core(auth_core::Error::ForeignHandle { .. })),
            "{err:?}"
        );
    }

    pub(super) async fn stepup_denied_expired_failed(wire: Wire) {
        let (s, _, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        let client = s
            .client_builder()
            .sign_timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        // Each outcome comes back from `start`, and `check` says the same.
        async fn settled(client: &Client, principal: &str) -> StepUpOutcome {
            let started = client
                .start(StepUpRequest::new(principal, "t", ""))
                .await
                .unwrap();
            let outcome = started.outcome().unwrap().clone();
            assert_eq!(
                client.check(started.handle()).await.unwrap(),
                PollStatus::Ready(outcome.clone())
            );
            outcome
        }
        s.set_behaviour(&lee, Behaviour::reject()).await;
        assert!(matches!(
            settled(&client, &lee).await,
            StepUpOutcome::Denied { fraud: false, reason: Some(r) } if r == REJECT_MESSAGE
        ));
        s.set_behaviour(
            &lee,
            Behaviour::Fail {
                message: "Device gone".into(),
            },
        )
        .await;
        assert!(matches!(
            settled(&client, &lee).await,
            StepUpOutcome::Failed { reason } if reason == "Device gone"
        ));
        s.set_behaviour(&lee, Behaviour::Approve).await;
        s.set_delay(&lee, Duration::from_secs(2)).await;
        assert_eq!(settled(&client, &lee).await, StepUpOutcome::Expired);
        // Not enrolled: `start` fails.
        let nobody = s.principal("nobody@logonbox.com");
        assert!(matches!(
            client
                .start(StepUpRequest::new(nobody.as_str(), "t", "m"))
                .await,
            Err(Error::UnknownUser { .. })
        ));
    }

    /// A rate limit while checking (the key listing answers 429) keeps the step-up pending with
    /// the server's hint instead of failing it.
    pub(super) async fn stepup_check_rate_limited_is_pending_with_the_hint(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        let handle = client
            .start(StepUpRequest::new(lee.as_str(), "t", "m"))
            .await
            .unwrap()
            .into_handle();
        let limited = s
            .client_builder()
            .retry(auth_core::RetryPolicy::none())
            .build()
            .unwrap();
        let fault = serde_json::json!({"path_contains": "/keys/", "status": 429, "retry_after": 7, "times": 2});
        let fault = serde_json::from_value(fault).unwrap();
        s.control(Control::InjectFault { fault }).await.unwrap();
        assert_eq!(
            limited.check(&handle).await.unwrap(),
            PollStatus::Pending {
                retry_after: Some(Duration::from_secs(7))
            }
        );
        let err = limited.check_handle(&handle).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    }

    // ------------------------------------------------------------ emulator fidelity

    pub(super) async fn emulator_accepts_java_style_padded_payload(wire: Wire) {
        // Java/Python send the payload padded, with a raw (unencoded) `=`; Node/PHP unpadded.
        let (s, _, lee) = emulator_on(wire, &[KeyType::Rsa]).await;
        let key = s.public_keys(&lee).remove(0);
        let payload: Vec<u8> = (1..=128u8).collect();
        let padded = base64::engine::general_purpose::URL_SAFE.encode(&payload);
        assert!(padded.ends_with('='));
        let form =
            |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
        let http = reqwest::Client::new();
        for field in [padded.clone(), padded.replace('=', "%3D"), b64url(&payload)] {
            let body = format!(
                "username={}&fingerprint={}&remoteName=LogonBox+Authenticator+API\
                 &text=Sign+in%3F&authorizeText=Authorize&flags=4&payload={field}",
                form(&lee),
                form(key.fingerprint().as_str()),
            );
            let answer = http
                .post(format!(
                    "{}/app/api/authenticator/signPayload",
                    s.base_url()
                ))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            let answer: Value = serde_json::from_slice(&answer).unwrap();
            assert_eq!(answer["success"], true, "{answer}");
            let sig = decode(answer["signature"].as_str().unwrap());
            key.verify(4, &payload, &sig).unwrap();
        }
        // The legacy listing path (Node SDK) serves the same keys.
        let legacy = http
            .get(format!("{}/authorizedKeys/{lee}", s.base_url()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(legacy.starts_with(&format!("# Authorized keys for {lee}\n")));
        assert!(legacy.contains(&key.to_line()));
    }

    /// The default listing ends without a final line break: split on `\n` it has no empty
    /// line, which is what the official Node client needs (it parses the empty string after a
    /// final break as a key and fails). Our client reads it, and a listing with a final break
    /// too.
    pub(super) async fn listing_has_no_final_line_break_and_both_forms_parse(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519, KeyType::Rsa]).await;
        let url = format!("{}/app/api/authenticator/keys/{lee}", s.base_url());
        let body = reqwest::get(&url).await.unwrap().text().await.unwrap();
        assert!(!body.ends_with('\n'), "{body:?}");
        let lines: Vec<&str> = body.split('\n').collect();
        assert_eq!(lines.len(), 3, "{body:?}");
        assert!(lines.iter().all(|l| !l.is_empty()), "{body:?}");
        assert!(lines[0].starts_with("# Authorized"));
        let keys = s.public_keys(&lee);
        let listed = client.authorized_keys(&lee).await.unwrap();
        assert_eq!(listed.keys(), keys.as_slice());
        assert!(listed.skipped().is_empty());
        // With a final line break (LF or CRLF), the same keys.
        for end in ["\n", "\r\n"] {
            s.set_listing(&lee, format!("{}{end}", body.replace('\n', end)))
                .await;
            let listed = client.authorized_keys(&lee).await.unwrap();
            assert_eq!(listed.keys(), keys.as_slice(), "{end:?}");
            assert!(listed.skipped().is_empty(), "{end:?}");
        }
        client.authenticate(lee.as_str()).await.unwrap();
        // A user without keys: the header alone, still no final break.
        let nokeys = s.principal("nokeys@logonbox.com");
        s.add_user(&nokeys, &[]).await;
        let url = format!("{}/app/api/authenticator/keys/{nokeys}", s.base_url());
        let body = reqwest::get(&url).await.unwrap().text().await.unwrap();
        assert_eq!(body, format!("# Authorized keys for {nokeys}"));
    }

    /// A server failure on the sign page sends the browser back to the application with a
    /// failure response (`false` + message), as for a rejection, never an HTML error page; so
    /// do an unknown user and an unknown key.
    pub(super) async fn redirect_server_failure_returns_to_the_app(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        s.set_behaviour(
            &lee,
            Behaviour::Fail {
                message: "The directory is down".into(),
            },
        )
        .await;
        let pending = pending_for(&client, &lee).await;
        let response = browse(&s, &client, &pending).await;
        assert_eq!(
            ResponseBlob::parse(&decode(&response)).unwrap(),
            ResponseBlob::Rejected {
                message: "The directory is down".into()
            }
        );
        match client.process_response(pending, &response).await {
            Err(Error::Rejected { message }) => assert_eq!(message, "The directory is down"),
            other => panic!("{other:?}"),
        }
        // The user re-enrolled (a new key) or left the directory after the request was made.
        s.set_behaviour(&lee, Behaviour::Approve).await;
        let pending = pending_for(&client, &lee).await;
        s.add_user(&lee, &[KeyType::Ed25519]).await;
        let response = browse(&s, &client, &pending).await;
        assert!(matches!(
            ResponseBlob::parse(&decode(&response)).unwrap(),
            ResponseBlob::Rejected { .. }
        ));
        let pending = pending_for(&client, &lee).await;
        s.remove_user(&lee).await;
        let response = browse(&s, &client, &pending).await;
        match ResponseBlob::parse(&decode(&response)).unwrap() {
            ResponseBlob::Rejected { message } => assert!(message.contains("not registered")),
            other => panic!("{other:?}"),
        }
    }

    /// Padding of signatures and of response blobs are two switches.
    pub(super) async fn padding_of_signatures_and_responses_are_separate_switches(wire: Wire) {
        let s = Setup::start(wire).await;
        // 20 characters: the signed redirect response blob is then 151 bytes, not a multiple
        // of 3.
        let user = s.principal_of_len(20);
        s.add_user(&user, &[KeyType::Ed25519]).await;
        // Record the sign answers the client receives.
        let seen: Arc<std::sync::Mutex<Vec<Value>>> = Arc::default();
        let log = seen.clone();
        let http = s.http();
        let recorder = move |req: auth_core::HttpRequest| {
            let (log, http) = (log.clone(), http.clone());
            async move {
                let sign = req.uri().path().ends_with("/signPayload");
                let resp = auth_core::HttpClient::execute(http.as_ref(), req).await?;
                if sign {
                    log.lock()
                        .unwrap()
                        .push(serde_json::from_slice(resp.body()).unwrap());
                }
                Ok::<_, auth_core::TransportError>(resp)
            }
        };
        let client = s
            .client_builder()
            .http_client(Arc::new(recorder))
            .build()
            .unwrap();
        // An ed25519 signature is 64 bytes and a rejection blob 49: neither a multiple of 3, so
        // padded base64url really ends in `=`.
        let padded = |text: &str| text.ends_with('=');
        for (signatures, responses) in [(false, false), (true, false), (false, true), (true, true)]
        {
            s.set_padded_signatures(signatures).await;
            s.set_padded_responses(responses).await;
            s.set_behaviour(&user, Behaviour::Approve).await;
            client.authenticate(user.as_str()).await.unwrap();
            s.set_behaviour(&user, Behaviour::reject()).await;
            assert_eq!(
                client.authenticate(user.as_str()).await.unwrap_err().kind(),
                ErrorKind::Rejected
            );
            let answers: Vec<Value> = seen.lock().unwrap().drain(..).collect();
            let signature = answers[0]["signature"].as_str().unwrap();
            let rejection = answers[1]["response"].as_str().unwrap();
            assert_eq!(decode(signature).len(), 64);
            assert_eq!(decode(rejection).len(), 49);
            assert_eq!(padded(signature), signatures, "{signature}");
            assert_eq!(padded(rejection), responses, "{rejection}");
            // The redirect response follows the response switch.
            let pending = pending_for(&client, &user).await;
            let response = browse(&s, &client, &pending).await;
            assert_ne!(decode(&response).len() % 3, 0);
            assert_eq!(padded(&response), responses, "{response}");
        }
    }

    // ------------------------------------------------------------ the emulator as a model

    /// Waits until the emulator lists a pending request of this scenario's users (the user's
    /// phone shows it).
    async fn first_pending(s: &Setup) -> auth_core::emulator::PendingStepUp {
        for _ in 0..500 {
            if let Some(p) = s.pending().await.pop() {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("nothing became pending");
    }

    /// A user who answers by hand: the direct request waits, listed with the text the phone
    /// shows, until a control command answers it; each answer reaches the client as the
    /// official server's would.
    pub(super) async fn manual_direct_requests_are_answered_by_control_commands(wire: Wire) {
        let (s, _, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        s.set_behaviour(&lee, Behaviour::Manual).await;
        let client = s.client_builder().remote_name("ACME Bank").build().unwrap();
        type Answer = fn(String) -> Control;
        type Expected = fn(&Result<logonbox::Approval, Error>) -> bool;
        let answers: [(Answer, Expected); 4] = [
            (|id| Control::Approve { id }, |r| r.is_ok()),
            (
                |id| {
                    serde_json::from_value(
                        serde_json::json!({"command": "deny", "id": id, "reason": "Not me"}),
                    )
                    .unwrap()
                },
                |r| matches!(r, Err(Error::Rejected { message }) if message == "Not me"),
            ),
            (
                |id| {
                    serde_json::from_value(serde_json::json!({"command": "fail", "id": id}))
                        .unwrap()
                },
                |r| matches!(r, Err(Error::Server { message }) if message == logonbox::emulator::FAIL_MESSAGE),
            ),
            (
                |id| Control::Expire { id },
                |r| matches!(r, Err(Error::Server { message }) if message == logonbox::emulator::EXPIRED_MESSAGE),
            ),
        ];
        for (answer, expected) in answers {
            let waiting = tokio::spawn({
                let (client, lee) = (client.clone(), lee.clone());
                async move { client.authenticate(lee).await }
            });
            let pending = first_pending(&s).await;
            assert_eq!(pending.provider, "logonbox");
            assert_eq!(pending.user, lee);
            assert_eq!(pending.title, "ACME Bank");
            assert_eq!(
                pending.message,
                format!(
                    "{lee} wants to authenticate from ACME Bank using your 127.0.0.1 credentials."
                )
            );
            assert_eq!(
                pending
                    .expires_at
                    .unwrap()
                    .duration_since(pending.created_at)
                    .unwrap(),
                logonbox::emulator::DEFAULT_ANSWER_TIMEOUT
            );
            // Still waiting: the client has no answer yet.
            assert!(!waiting.is_finished());
            s.control(answer(pending.id.clone())).await.unwrap();
            let result = waiting.await.unwrap();
            assert!(expected(&result), "{result:?}");
            assert!(s.pending().await.is_empty());
            // Answered once: the id is gone.
            assert!(matches!(
                s.control(Control::Approve { id: pending.id }).await,
                Err(ControlError::NotFound { .. })
            ));
        }
        // LogonBox's app has no fraud report.
        let waiting = tokio::spawn({
            let (client, lee) = (client.clone(), lee.clone());
            async move { client.authenticate(lee).await }
        });
        let id = first_pending(&s).await.id;
        let fraud = serde_json::json!({"command": "deny", "id": id, "fraud": true});
        assert!(matches!(
            s.control(serde_json::from_value(fraud).unwrap()).await,
            Err(ControlError::Invalid(_))
        ));
        s.control(Control::Approve { id }).await.unwrap();
        waiting.await.unwrap().unwrap();
    }

    /// A request waiting for the user expires when the emulator's clock (the default offset
    /// clock; the server's one clock) moves past its answer timeout with `advance_clock`.
    pub(super) async fn manual_requests_expire_when_the_clock_advances(wire: Wire) {
        let (s, client, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        s.set_behaviour(&lee, Behaviour::Manual).await;
        let waiting = tokio::spawn(async move { client.authenticate(lee).await });
        first_pending(&s).await;
        let answer = s
            .control(Control::AdvanceClock { seconds: 121 })
            .await
            .unwrap();
        // The model and the server answer alike: Unix seconds.
        assert!(answer["now"].is_f64(), "{answer}");
        assert!(matches!(
            waiting.await.unwrap(),
            Err(Error::Server { message }) if message == logonbox::emulator::EXPIRED_MESSAGE
        ));
        assert!(s.pending().await.is_empty());
    }

    /// The redirect flow with a user who answers by hand: the sign page is a real HTML page
    /// that shows the prompt (escaped) and reloads itself until the phone answers, then sends
    /// the browser back to the application.
    pub(super) async fn manual_redirect_sign_page_waits_for_the_phone(wire: Wire) {
        let (s, _, lee) = emulator_on(wire, &[KeyType::Ed25519]).await;
        s.set_behaviour(&lee, Behaviour::Manual).await;
        let client = s
            .client_builder()
            .remote_name("<b>Bank</b>")
            .build()
            .unwrap();
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        for approve in [true, false] {
            let pending = pending_for(&client, &lee).await;
            let url = client.sign_url(&pending);
            for _ in 0..2 {
                let page = browser.get(url.as_str()).send().await.unwrap();
                assert_eq!(page.status(), 200);
                assert!(
                    page.headers()["content-type"]
                        .to_str()
                        .unwrap()
                        .starts_with("text/html")
                );
                let body = page.text().await.unwrap();
                assert!(body.contains("http-equiv=\"refresh\""), "{body}");
                assert!(body.contains("<h1>&lt;b&gt;Bank&lt;/b&gt;</h1>"), "{body}");
                assert!(!body.contains("<b>Bank"), "{body}");
                assert!(
                    body.contains(&format!("{lee} wants to authenticate")),
                    "{body}"
                );
            }
            // One pending request, however often the page reloads.
            let listed = s.pending().await;
            assert_eq!(listed.len(), 1);
            let id = listed[0].id.clone();
            if approve {
                s.control(Control::Approve { id }).await.unwrap();
            } else {
                let deny = serde_json::json!({"command": "deny", "id": id});
                s.control(serde_json::from_value(deny).unwrap())
                    .await
                    .unwrap();
            }
            let response = browse(&s, &client, &pending).await;
            let result = client.process_response(pending, &response).await;
            if approve {
                assert_eq!(result.unwrap().principal(), lee);
            } else {
                assert!(
                    matches!(result, Err(Error::Rejected { message }) if message == REJECT_MESSAGE)
                );
            }
        }
    }

    /// The control vocabulary plays the phone and the back office: users added with their key
    /// types, the provider command (behaviours and delays per user, padding for the server),
    /// hand-answered requests, removal, what LogonBox does not have, and a request log that
    /// keeps no bodies.
    pub(super) async fn control_commands_play_the_phone_and_the_back_office(wire: Wire) {
        let s = Setup::start(wire).await;
        let lee = s.principal("lee@logonbox.com");
        let added = s
            .control(Control::AddUser {
                user: lee.clone(),
                details: serde_json::json!({"keys": ["ed25519", "rsa"]}),
            })
            .await
            .unwrap();
        assert_eq!(added["authorized_keys"].as_array().unwrap().len(), 2);
        let client = s.client_builder().build().unwrap();
        let approval = client.authenticate(lee.as_str()).await.unwrap();
        assert_eq!(approval.key().key_type(), KeyType::Ed25519);
        assert_eq!(
            added["authorized_keys"][0],
            approval.key().to_line().as_str(),
            "the key listed at add_user"
        );
        assert_eq!(s.sign_requests().await.len(), 1);

        // The provider command: behaviours and delays per user, padding for the server.
        s.control(Control::Provider {
            body: serde_json::json!({"user": lee, "behaviour": "reject", "message": "No"}),
        })
        .await
        .unwrap();
        assert!(matches!(
            client.authenticate(lee.as_str()).await,
            Err(Error::Rejected { message }) if message == "No"
        ));
        let nobody = s.principal("nobody@logonbox.com");
        for bad in [
            serde_json::json!({"user": nobody, "behaviour": "approve"}),
            serde_json::json!({"behaviour": "approve"}),
            serde_json::json!({"user": lee, "behaviour": "explode"}),
            serde_json::json!({"user": lee, "behaviour": "http_status"}),
            serde_json::json!({"colour": "blue"}),
        ] {
            assert!(
                s.control(Control::Provider { body: bad.clone() })
                    .await
                    .is_err(),
                "{bad}"
            );
        }
        let changed = s
            .control(Control::Provider {
                body: serde_json::json!({
                    "user": lee, "behaviour": "approve", "delay_ms": 0,
                    "padded_signatures": true, "padded_responses": false, "retention": 10
                }),
            })
            .await
            .unwrap();
        assert_eq!(
            changed["changed"],
            serde_json::json!([
                "approve",
                "delay",
                "padded_signatures",
                "padded_responses",
                "retention"
            ])
        );
        client.authenticate(lee.as_str()).await.unwrap();
        // A user added by hand-answering: the request waits, listed as pending.
        let manual = s.principal("manual@logonbox.com");
        s.control(Control::AddUser {
            user: manual.clone(),
            details: serde_json::json!({"behaviour": "manual"}),
        })
        .await
        .unwrap();
        let waiting = tokio::spawn({
            let (client, manual) = (client.clone(), manual.clone());
            async move { client.authenticate(manual).await }
        });
        let id = first_pending(&s).await.id;
        s.control(Control::Approve { id }).await.unwrap();
        waiting.await.unwrap().unwrap();
        s.control(Control::Provider {
            body: serde_json::json!({"user": lee, "remove": true}),
        })
        .await
        .unwrap();
        assert!(matches!(
            client.authenticate(lee.as_str()).await,
            Err(Error::UnknownUser { .. })
        ));
        // What LogonBox does not have.
        for command in [
            Control::RotateKeys,
            Control::SetRules {
                rules: serde_json::json!({}),
            },
        ] {
            assert!(matches!(
                s.control(command).await,
                Err(ControlError::Unsupported {
                    provider: "logonbox",
                    ..
                })
            ));
        }
        // The log: method, path, status; never a body (the payload, the signature).
        let log = s
            .control(Control::ReadLog { limit: Some(3) })
            .await
            .unwrap();
        let entries = log.as_array().unwrap();
        assert_eq!(entries.len(), 3);
        assert!(
            entries
                .iter()
                .all(|e| e["method"].is_string() && e["status"].is_u64())
        );
        assert!(!log.to_string().contains(&b64url(approval.signature())));
        // Nothing of this scenario is waiting any more.
        let listed = s.control(Control::ListPending).await.unwrap();
        let users = [lee.as_str(), manual.as_str()];
        assert!(
            listed
                .as_array()
                .unwrap()
                .iter()
                .all(|p| !users.contains(&p["user"].as_str().unwrap())),
            "{listed}"
        );
        assert!(s.pending().await.is_empty());
    }
}

// ---------------------------------------------------------------- the crate's emulator only

/// Waits until the emulator lists a pending request (the user's phone shows it).
async fn first_pending_of(emulator: &Emulator) -> auth_core::emulator::PendingStepUp {
    for _ in 0..500 {
        if let Some(p) = emulator.pending().pop() {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("nothing became pending");
}

/// Requests waiting for the user expire on the model's clock: here a `FakeClock` injected by
/// the test and moved by it (`advance_clock` is then refused).
#[tokio::test]
async fn manual_requests_expire_on_an_injected_clock() {
    const LEE: &str = "lee@logonbox.com";
    let clock = FakeClock::at_unix(1_700_000_000);
    let emulator = Emulator::builder()
        .user(LEE, &[KeyType::Ed25519])
        .clock(Arc::new(clock.clone()))
        .answer_timeout(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    emulator.set_behaviour(LEE, Behaviour::Manual);
    let client = Client::builder(emulator.base_url()).build().unwrap();
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { client.authenticate(LEE).await }
    });
    let pending = first_pending_of(&emulator).await;
    assert_eq!(
        pending.created_at,
        std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    );
    assert_eq!(
        pending.expires_at,
        Some(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_060))
    );
    // The model's clock is the test's: `advance_clock` is refused.
    assert!(matches!(
        emulator.control(Control::AdvanceClock { seconds: 61 }),
        Err(ControlError::Conflict(_))
    ));
    clock.advance(Duration::from_secs(59));
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(!waiting.is_finished(), "not yet expired");
    clock.advance(Duration::from_secs(2));
    assert!(matches!(
        waiting.await.unwrap(),
        Err(Error::Server { message }) if message == logonbox::emulator::EXPIRED_MESSAGE
    ));
    assert!(emulator.pending().is_empty());
}

/// One API for the emulator: the model alone is a `Send + Sync` protocol model that any server
/// can serve (here a second port: both serve the same users and keep one record).
#[tokio::test]
async fn the_emulators_model_serves_anywhere() {
    const LEE: &str = "lee@logonbox.com";
    let emulator = Emulator::start().await.unwrap();
    emulator.add_user(LEE, &[KeyType::Ed25519]).unwrap();
    let model: Arc<dyn auth_core::emulator::Model> = emulator.model();
    let elsewhere = auth_core::emulator::serve(model, "127.0.0.1:0")
        .await
        .unwrap();
    let client = Client::builder(elsewhere.base_url()).build().unwrap();
    let approval = client.authenticate(LEE).await.unwrap();
    assert_eq!(approval.key().key_type(), KeyType::Ed25519);
    assert_eq!(emulator.sign_requests().len(), 1, "the same model");
    emulator.set_behaviour(LEE, Behaviour::Manual);
    let waiting = tokio::spawn(async move { client.authenticate(LEE).await });
    let id = first_pending_of(&emulator).await.id;
    emulator.control(Control::Approve { id }).unwrap();
    waiting.await.unwrap().unwrap();
}

// ---------------------------------------------------------------- recorded transcripts

async fn replay(name: &str) {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let t = fixture_json(&format!("transcripts/{name}.json"));
    let server = MockServer::start().await;
    let exchanges = t["exchanges"].as_array().unwrap();
    for x in exchanges {
        let (req, resp) = (&x["request"], &x["response"]);
        Mock::given(method(req["method"].as_str().unwrap()))
            .and(path(req["path"].as_str().unwrap()))
            .respond_with(
                ResponseTemplate::new(u16::try_from(resp["status"].as_u64().unwrap()).unwrap())
                    .set_body_raw(
                        resp["body"].as_str().unwrap().as_bytes().to_vec(),
                        resp["content_type"].as_str().unwrap(),
                    ),
            )
            .expect(1)
            .with_priority(1)
            .mount(&server)
            .await;
    }
    // Anything unrecorded fails loudly.
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500).set_body_string("unrecorded request"))
        .expect(0)
        .with_priority(10)
        .mount(&server)
        .await;

    let client = Client::builder(server.uri())
        .prompt_text(t["prompt_text"].as_str().unwrap())
        .build()
        .unwrap();
    let payload = decode(t["payload"].as_str().unwrap());
    let result = client
        .authenticate(AuthRequest::new(t["principal"].as_str().unwrap()).payload(payload.clone()))
        .await;

    // The sign request went out exactly as recorded.
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), exchanges.len());
    if let Some(sign) = exchanges.get(1) {
        let sent = &received[1];
        assert_eq!(
            sent.headers["content-type"],
            "application/x-www-form-urlencoded"
        );
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&sent.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let expected: Vec<(String, String)> = sign["request"]["form"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_owned(),
                    p[1].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(form, expected);
    }

    let expect = &t["expect"];
    match (expect["outcome"].as_str().unwrap(), result) {
        ("approved", Ok(approval)) => {
            assert_eq!(
                approval.key().fingerprint().as_str(),
                expect["fingerprint"].as_str().unwrap()
            );
            assert_eq!(approval.signed_data(), payload);
        }
        ("error", Err(err)) => {
            let kind = expect["error"].as_str().unwrap();
            let debug = format!("{err:?}");
            assert!(debug.starts_with(kind), "expected {kind}, got {debug}");
            if let Some(m) = expect["message"].as_str() {
                assert!(err.to_string().contains(m), "{err}");
            }
        }
        (want, got) => panic!("expected {want}, got {got:?}"),
    }
    server.verify().await;
}

#[tokio::test]
async fn transcript_direct_ed25519_zero_payload() {
    replay("direct_ed25519_zero_payload").await;
}

#[tokio::test]
async fn transcript_direct_ed25519_sequential_payload() {
    replay("direct_ed25519_sequential_payload").await;
}

#[tokio::test]
async fn transcript_direct_rsa_zero_payload() {
    replay("direct_rsa_zero_payload").await;
}

#[tokio::test]
async fn transcript_direct_rsa_sequential_payload() {
    replay("direct_rsa_sequential_payload").await;
}

#[tokio::test]
async fn transcript_direct_tampered_signature() {
    replay("direct_tampered_signature").await;
}

#[tokio::test]
async fn transcript_direct_rejected() {
    replay("direct_rejected").await;
}

#[tokio::test]
async fn transcript_direct_server_failure() {
    replay("direct_server_failure").await;
}

#[tokio::test]
async fn transcript_direct_empty_signature_positive_response() {
    replay("direct_empty_signature_positive_response").await;
}

#[tokio::test]
async fn transcript_direct_no_keys() {
    replay("direct_no_keys").await;
}
