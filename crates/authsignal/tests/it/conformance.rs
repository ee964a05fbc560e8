//! The authsignal conformance suite (`cargo xtask conformance`): the provider's flows against
//! the emulator — each over a real loopback socket (`name`), in process with no socket
//! (`in_process::name`) and against the `oob-auth-emulator` server binary (`binary::name`) —
//! and replays of the recorded transcripts in `fixtures/authsignal/transcripts/` served by a
//! wiremock server and driven through the client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use auth_core::poll::PollConfig;
use auth_core::{Classify, FakeClock, RetryPolicy, Started, StepUp, StepUpOutcome, StepUpRequest};
use authsignal::emulator::{Rule, RuleOutcome};
use authsignal::webhook::{EventType, WebhookPayload, WebhookVerifier};
use authsignal::*;

use crate::common::scenario::{Setup, binary, in_process, local};
use crate::common::{code, uid};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Every scenario runs over a loopback socket (`name`) and against the server binary
/// (`binary::name`); those of the first list also in process (`in_process::name`, no socket:
/// the second list puts a TCP proxy in front of the server).
macro_rules! scenarios {
    (everywhere: [$($name:ident),* $(,)?], over_sockets: [$($socket:ident),* $(,)?] $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                scenarios::$name(local().await).await
            }
        )*
        $(
            #[tokio::test]
            async fn $socket() {
                scenarios::$socket(local().await).await
            }
        )*

        /// The same scenarios, with no socket: the client calls the model in process.
        mod in_process {
            $(
                #[tokio::test]
                async fn $name() {
                    super::scenarios::$name(super::in_process().await).await
                }
            )*
        }

        /// The same scenarios against the `oob-auth-emulator` server binary: its tenant (URL,
        /// key, id) from `GET /providers`, the rules cleared and names made unique per
        /// scenario, the user and the back office played through the control API. Run with
        /// `cargo xtask conformance --binary` (which starts the server and sets
        /// `OOB_EMULATOR_URL`); without the variable each fails, saying so. One at a time: the
        /// server (its rules, its webhook queue) is shared.
        ///
        /// Left out: none.
        mod binary {
            $(
                auth_core::needs_emulator_server! {
                    async fn $name() {
                        super::scenarios::$name(super::binary().await).await
                    }
                }
            )*
            $(
                auth_core::needs_emulator_server! {
                    async fn $socket() {
                        super::scenarios::$socket(super::binary().await).await
                    }
                }
            )*
        }
    };
}

scenarios!(
    everywhere: [
        step_up_challenge_then_validate,
        unenrolled_user_is_allowed_despite_a_challenge_rule,
        block_rule_blocks_and_default_is_allow,
        review_then_operator_approves,
        idempotent_track_same_key_same_action,
        otp_challenge_verify_claim_and_session,
        webhooks_are_delivered_signed_and_verify,
        step_up_challenge_redirects_to_the_browser_then_approves,
        step_up_settles_at_once_when_the_rules_allow_or_block,
        step_up_trait_denied_and_expired,
        step_up_stays_pending_while_rate_limited,
        bad_secret_key_is_unauthorized,
        call_connect_start_then_finish,
    ],
    over_sockets: [
        track_retried_after_a_dropped_connection_creates_one_action,
        otp_challenge_is_never_retried_after_a_dropped_connection,
        session_validation_is_retried_after_a_dropped_connection_refresh_is_not,
    ],
);

async fn enrolled(client: &Client, user: &UserId) {
    client
        .enroll_verified_authenticator(
            user,
            &EnrollVerifiedAuthenticatorRequest::sms("+64270000100"),
        )
        .await
        .unwrap();
}

/// A client through a proxy that drops the connection after the first answer.
async fn dropping_client(s: &Setup) -> (Client, Arc<AtomicUsize>) {
    let (proxy, seen) = dropping_proxy(s.addr(), 1).await;
    let path = s.api_url.url().path().to_owned();
    let client = Client::builder(s.secret.clone())
        .base_url(format!("http://{proxy}{path}"))
        .build()
        .unwrap();
    (client, seen)
}

/// The scenarios, each given a tenant and how to reach it.
mod scenarios {
    use super::*;

    pub(super) async fn step_up_challenge_then_validate(s: Setup) {
        s.emu
            .set_rules(&[Rule::new("wd", RuleOutcome::Challenge).for_action("withdraw")])
            .await
            .unwrap();
        let client = s.client();
        let (u, a) = (s.uid("ada"), code("withdraw"));
        enrolled(&client, &u).await;
        let t = client
            .track(
                &u,
                &a,
                TrackRequest::new().redirect_url("https://bank.example/done"),
            )
            .await
            .unwrap();
        assert_eq!(t.state, ActionState::ChallengeRequired);
        let token = s.emu.complete_challenge(&t.idempotency_key).await;
        let v = client
            .validate_challenge(&ValidateChallengeRequest::new(token, u.clone(), a.clone()))
            .await
            .unwrap();
        assert!(v.is_valid);
        assert_eq!(v.state, Some(ActionState::ChallengeSucceeded));
        let action = client.get_action(&u, &a, &t.idempotency_key).await.unwrap();
        assert_eq!(action.state, ActionState::ChallengeSucceeded);
    }

    pub(super) async fn unenrolled_user_is_allowed_despite_a_challenge_rule(s: Setup) {
        s.emu
            .set_rules(&[Rule::new("always", RuleOutcome::Challenge)])
            .await
            .unwrap();
        let t = s
            .client()
            .track(&s.uid("new"), &code("signIn"), TrackRequest::new())
            .await
            .unwrap();
        assert_eq!(t.state, ActionState::Allow);
        assert!(!t.is_enrolled);
        assert_eq!(t.rule_ids, vec!["always".to_owned()]);
    }

    pub(super) async fn block_rule_blocks_and_default_is_allow(s: Setup) {
        let client = s.client();
        s.emu.set_rules(&[]).await.unwrap();
        let t = client
            .track(&s.uid("x"), &code("signIn"), TrackRequest::new())
            .await
            .unwrap();
        assert_eq!(t.state, ActionState::Allow);
        s.emu
            .set_rules(&[Rule::new("stop", RuleOutcome::Block).for_action("signIn")])
            .await
            .unwrap();
        let t = client
            .track(&s.uid("x"), &code("signIn"), TrackRequest::new())
            .await
            .unwrap();
        assert_eq!(t.state, ActionState::Block);
    }

    pub(super) async fn review_then_operator_approves(s: Setup) {
        s.emu
            .set_rules(&[Rule::new("rv", RuleOutcome::Review)])
            .await
            .unwrap();
        let client = s.client();
        let (u, a) = (s.uid("rev"), code("payout"));
        let t = client.track(&u, &a, TrackRequest::new()).await.unwrap();
        assert_eq!(t.state, ActionState::ReviewRequired);
        client
            .update_action(&u, &a, &t.idempotency_key, &ActionState::ReviewSucceeded)
            .await
            .unwrap();
        let got = client.get_action(&u, &a, &t.idempotency_key).await.unwrap();
        assert_eq!(got.state, ActionState::ReviewSucceeded);
        // The operator decides another one through the control API.
        let t = client.track(&u, &a, TrackRequest::new()).await.unwrap();
        assert_eq!(t.state, ActionState::ReviewRequired);
        let answer = s.emu.approve(&t.idempotency_key).await.unwrap();
        assert_eq!(answer["state"], "REVIEW_SUCCEEDED");
        let got = client.get_action(&u, &a, &t.idempotency_key).await.unwrap();
        assert_eq!(got.state, ActionState::ReviewSucceeded);
    }

    pub(super) async fn idempotent_track_same_key_same_action(s: Setup) {
        let client = s.client();
        let before = s.emu.stat("actions").await;
        let key = IdempotencyKey::new(s.name("k")).unwrap();
        let (u, a) = (s.uid("idem"), code("pay"));
        let first = client
            .track(&u, &a, TrackRequest::new().idempotency_key(key.clone()))
            .await
            .unwrap();
        let again = client
            .track(&u, &a, TrackRequest::new().idempotency_key(key.clone()))
            .await
            .unwrap();
        assert_eq!(first.idempotency_key, again.idempotency_key);
        assert_eq!(s.emu.stat("actions").await, before + 1);
    }

    pub(super) async fn track_retried_after_a_dropped_connection_creates_one_action(s: Setup) {
        let (actions, tracks) = (
            s.emu.stat("actions").await,
            s.emu.stat("track_requests").await,
        );
        let (client, seen) = dropping_client(&s).await;
        // No key given: the client generates one, so the retry is safe.
        let u = s.uid("flaky");
        let t = client
            .track(&u, &code("pay"), TrackRequest::new())
            .await
            .unwrap();
        assert_eq!(
            seen.load(Ordering::SeqCst),
            2,
            "first response dropped, then retried"
        );
        assert_eq!(
            s.emu.stat("track_requests").await,
            tracks + 2,
            "the server saw the request twice"
        );
        // Without a key in the body the emulator (like Authsignal) would generate one per
        // request, and this would be 2: the assertion fails if the client stopped sending it.
        assert_eq!(
            s.emu.stat("actions").await,
            actions + 1,
            "but created one action"
        );
        assert_eq!(
            t.idempotency_key.as_str().len(),
            36,
            "a client-generated UUID"
        );
        let got = s
            .client()
            .get_action(&u, &code("pay"), &t.idempotency_key)
            .await
            .unwrap();
        assert_eq!(got.state, ActionState::Allow);
    }

    pub(super) async fn otp_challenge_is_never_retried_after_a_dropped_connection(s: Setup) {
        let waiting = s.emu.stat("pending_webhooks").await;
        let (client, seen) = dropping_client(&s).await;
        let err = client
            .challenge(&ChallengeRequest::sms(code("signIn"), "+64270000101"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Core(auth_core::Error::Transport(_))),
            "{err:?}"
        );
        assert_eq!(
            seen.load(Ordering::SeqCst),
            1,
            "sent once: an SMS is not sent twice"
        );
        assert_eq!(s.emu.stat("pending_webhooks").await, waiting + 1);
    }

    pub(super) async fn session_validation_is_retried_after_a_dropped_connection_refresh_is_not(
        s: Setup,
    ) {
        let client = s.client();
        let u = s.uid("sess-retry");
        let c = client
            .challenge(&ChallengeRequest::sms(code("signIn"), "+64270000103"))
            .await
            .unwrap();
        let otp = s.emu.otp_code(&c.challenge_id).await;
        assert!(
            client
                .verify(&c.challenge_id, &otp)
                .await
                .unwrap()
                .is_verified
        );
        let claim = client
            .claim_challenge(&ClaimRequest::new(c.challenge_id.clone(), u.clone()))
            .await
            .unwrap();
        let tokens = client
            .create_session(&CreateSessionRequest::new(
                ClientId::new("web").unwrap(),
                claim.token,
            ))
            .await
            .unwrap();

        // Validating reads only: the lost first answer is retried.
        let (proxied, seen) = dropping_client(&s).await;
        let v = proxied
            .validate_session(&tokens.access_token, &[])
            .await
            .unwrap();
        assert_eq!(v.user.user_id, u);
        assert_eq!(seen.load(Ordering::SeqCst), 2);

        // Refreshing rotates the tokens: never sent twice.
        let (proxied, seen) = dropping_client(&s).await;
        let err = proxied
            .refresh_session(&tokens.refresh_token)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Core(auth_core::Error::Transport(_))),
            "{err:?}"
        );
        assert_eq!(seen.load(Ordering::SeqCst), 1);
    }

    pub(super) async fn otp_challenge_verify_claim_and_session(s: Setup) {
        let client = s.client();
        let email = format!("{}@example.com", s.name("otp"));
        let c = client
            .challenge(&ChallengeRequest::email_otp(code("signIn"), &email))
            .await
            .unwrap();
        let codev = s.emu.otp_code(&c.challenge_id).await;
        assert!(
            client
                .verify(&c.challenge_id, &codev)
                .await
                .unwrap()
                .is_verified
        );
        let claim = client
            .claim_challenge(&ClaimRequest::new(c.challenge_id.clone(), s.uid("otp")))
            .await
            .unwrap();
        let session = client
            .create_session(&CreateSessionRequest::new(
                ClientId::new("web").unwrap(),
                claim.token,
            ))
            .await
            .unwrap();
        let v = client
            .validate_session(&session.access_token, &[])
            .await
            .unwrap();
        assert_eq!(v.user.user_id, s.uid("otp"));
        assert_eq!(v.user.attributes.email.as_deref(), Some(email.as_str()));
    }

    pub(super) async fn webhooks_are_delivered_signed_and_verify(s: Setup) {
        let receiver = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/hooks"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&receiver)
            .await;
        // Held until this scenario delivers them (the server binary would send each at once).
        s.emu.auto_deliver(false).await.unwrap();
        s.emu
            .set_webhook_url(&format!("{}/hooks", receiver.uri()))
            .await
            .unwrap();
        // Only this scenario's events: what earlier ones left on a shared server goes.
        s.emu.discard_webhooks().await.unwrap();
        let client = s.client();
        client
            .enroll_verified_authenticator(
                &s.uid("wh"),
                &EnrollVerifiedAuthenticatorRequest::sms("+64270000102"),
            )
            .await
            .unwrap();
        let c = client
            .challenge(&ChallengeRequest::sms(code("signIn"), "+64270000102"))
            .await
            .unwrap();
        // Rotation: from now on two signatures; a receiver that only knows the new key accepts.
        let new_key = s.emu.rotate_webhook_secret().await;
        let delivered = s.emu.deliver_webhooks().await;
        s.emu.auto_deliver(true).await.unwrap();
        assert_eq!(delivered, vec![200, 200]);

        let old = WebhookVerifier::new(s.secret.clone());
        let new = WebhookVerifier::new(new_key);
        let mut types = Vec::new();
        for req in receiver.received_requests().await.unwrap() {
            let header = req.headers.get("x-signature-v2").unwrap().to_str().unwrap();
            assert_eq!(header.matches("v2=").count(), 2);
            let p = old.verify(&req.body, Some(header)).unwrap();
            assert_eq!(p, new.verify(&req.body, Some(header)).unwrap());
            let WebhookPayload::Event(e) = p else {
                panic!("batch")
            };
            if e.event_type == EventType::SmsCreated {
                let d = e.delivery().unwrap().unwrap();
                assert_eq!(d.code.unwrap(), s.emu.otp_code(&c.challenge_id).await);
                assert_eq!(d.to.as_deref(), Some("+64270000102"));
            }
            assert_eq!(e.tenant_id.as_deref(), Some(s.tenant_id.as_str()));
            types.push(e.event_type);
            // Tampered bodies fail.
            let mut bad = req.body.clone();
            bad[5] ^= 0x20;
            assert!(old.verify(&bad, Some(header)).is_err());
        }
        assert_eq!(
            types,
            vec![EventType::AuthenticatorCreated, EventType::SmsCreated]
        );
        assert_eq!(s.emu.stat("pending_webhooks").await, 0);
    }

    pub(super) async fn step_up_challenge_redirects_to_the_browser_then_approves(s: Setup) {
        s.emu
            .set_rules(&[Rule::new("all", RuleOutcome::Challenge)])
            .await
            .unwrap();
        let client = s
            .builder()
            .step_up_action(code("confirmPayment"))
            .step_up_redirect_url("https://shop.example/back")
            .build()
            .unwrap();
        assert_eq!(client.provider(), "authsignal");
        let caps = client.capabilities();
        assert!(caps.pollable && caps.webhook && caps.needs_browser && caps.portable_handle);
        assert!(!caps.start_blocks);
        let su = s.name("su");
        enrolled(&client, &uid(&su)).await;
        let started = client
            .start(StepUpRequest::new(&su, "Confirm payment", "Pay 120 EUR?"))
            .await
            .unwrap();
        let Started::Redirect { handle: h, url } = started else {
            panic!("{started:?}")
        };
        assert_eq!(h.provider, "authsignal");
        assert_eq!(h.user_url.as_deref(), Some(url.as_str()));
        assert!(url.contains("/ui/challenge?token="), "{url}");
        assert!(!format!("{h:?}").contains(url.split("token=").nth(1).unwrap()));
        assert!(matches!(
            client.check(&h).await.unwrap(),
            auth_core::PollStatus::Pending { .. }
        ));
        let key = IdempotencyKey::new(h.id.as_str()).unwrap();
        let token = s.emu.complete_challenge(&key).await;
        // The handle is portable: serialized, it is checked by another client instance.
        let json = serde_json::to_string(&h).unwrap();
        let other = s
            .builder()
            .step_up_action(code("somethingElse"))
            .build()
            .unwrap();
        let back: auth_core::StepUpHandle = serde_json::from_str(&json).unwrap();
        let out = other.wait(&back, &PollConfig::default()).await.unwrap();
        assert!(out.is_approved(), "{out:?}");
        let out = client.finish_step_up(&h, token).await.unwrap();
        assert!(out.is_approved());
    }

    pub(super) async fn step_up_settles_at_once_when_the_rules_allow_or_block(s: Setup) {
        let mut rules = vec![Rule::new("stop", RuleOutcome::Block).for_action("blocked")];
        s.emu.set_rules(&rules).await.unwrap();
        let client = s.client();
        // No rule: ALLOW, settled before `start` returns.
        let started = client
            .start(StepUpRequest::new(s.name("al"), "t", "m"))
            .await
            .unwrap();
        let Started::Settled { handle, outcome } = &started else {
            panic!("{started:?}")
        };
        assert!(outcome.is_approved(), "{outcome:?}");
        assert!(
            matches!(client.check(handle).await.unwrap(), auth_core::PollStatus::Ready(o) if o.is_approved())
        );
        // A challenge rule for a user without authenticators is ALLOW too (no browser).
        rules.push(Rule::new("challenge", RuleOutcome::Challenge).for_action("stepUp"));
        s.emu.set_rules(&rules).await.unwrap();
        let started = client
            .start(StepUpRequest::new(s.name("not-enrolled"), "t", "m"))
            .await
            .unwrap();
        assert!(
            started.outcome().is_some_and(StepUpOutcome::is_approved),
            "{started:?}"
        );
        // BLOCK: denied at once.
        let blocker = s.builder().step_up_action(code("blocked")).build().unwrap();
        let started = blocker
            .start(StepUpRequest::new(s.name("bl"), "t", "m"))
            .await
            .unwrap();
        assert!(
            matches!(started.outcome(), Some(StepUpOutcome::Denied { fraud: false, reason: Some(r) }) if r == "BLOCK"),
            "{started:?}"
        );
        // REVIEW: pending, no browser.
        rules.push(Rule::new("rv", RuleOutcome::Review).for_action("reviewed"));
        s.emu.set_rules(&rules).await.unwrap();
        let reviewer = s
            .builder()
            .step_up_action(code("reviewed"))
            .build()
            .unwrap();
        let started = reviewer
            .start(StepUpRequest::new(s.name("rv"), "t", "m"))
            .await
            .unwrap();
        assert!(matches!(started, Started::Pending(_)), "{started:?}");
    }

    /// Every action challenged, a client on a fake clock, `user` enrolled, and a step-up
    /// started for them.
    async fn challenged_step_up(
        s: &Setup,
        user: &str,
    ) -> (Client, FakeClock, auth_core::StepUpHandle) {
        s.emu
            .set_rules(&[Rule::new("all", RuleOutcome::Challenge)])
            .await
            .unwrap();
        let clock = FakeClock::at_unix(1_800_000_000);
        let client = s.builder().clock(Arc::new(clock.clone())).build().unwrap();
        enrolled(&client, &uid(user)).await;
        let h = client
            .start(StepUpRequest::new(user, "t", "m"))
            .await
            .unwrap()
            .into_handle();
        (client, clock, h)
    }

    pub(super) async fn step_up_trait_denied_and_expired(s: Setup) {
        let user = s.name("sd");
        let (client, clock, h) = challenged_step_up(&s, &user).await;
        let key = IdempotencyKey::new(h.id.as_str()).unwrap();
        let token = s.emu.fail_challenge(&key).await;
        let out = client.wait(&h, &PollConfig::default()).await.unwrap();
        assert!(matches!(out, StepUpOutcome::Denied { .. }), "{out:?}");
        assert!(matches!(
            client.finish_step_up(&h, token).await.unwrap(),
            StepUpOutcome::Denied { .. }
        ));

        let h = client
            .start(StepUpRequest::new(&user, "t", "m").with_ttl(Duration::from_secs(30)))
            .await
            .unwrap()
            .into_handle();
        let cfg = PollConfig::every(Duration::from_secs(10), Duration::from_secs(300));
        let out = client.wait(&h, &cfg).await.unwrap();
        assert_eq!(out, StepUpOutcome::Expired);
        // `wait` slept on the client's own (fake) clock: no real time passed.
        assert!(!clock.sleeps().is_empty());
    }

    pub(super) async fn step_up_stays_pending_while_rate_limited(s: Setup) {
        use auth_core::PollStatus;
        let (client, clock, h) = challenged_step_up(&s, &s.name("rl")).await;
        // 429 on the first attempt and on both retries of one check: still pending, with the
        // server's Retry-After as the hint …
        for _ in 0..3 {
            s.emu.inject(429, Some(7)).await.unwrap();
        }
        assert_eq!(
            client.check(&h).await.unwrap(),
            PollStatus::Pending {
                retry_after: Some(Duration::from_secs(7))
            }
        );
        // … or, without one, auth-core's back-off (the one rule of every provider).
        for _ in 0..3 {
            s.emu.inject(429, None).await.unwrap();
        }
        assert_eq!(
            client.check(&h).await.unwrap(),
            PollStatus::Pending {
                retry_after: Some(auth_core::retry::RATE_LIMIT_BACKOFF)
            }
        );
        // The error itself says so (auth-core's check reads it through Classify).
        for _ in 0..3 {
            s.emu.inject(429, Some(3)).await.unwrap();
        }
        let err = client.check_handle(&h).await.unwrap_err();
        assert_eq!(err.kind(), auth_core::ErrorKind::RateLimited);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
        // Polling goes through a rate-limited check and approves once the user is done.
        let key = IdempotencyKey::new(h.id.as_str()).unwrap();
        s.emu.complete_challenge(&key).await;
        for _ in 0..3 {
            s.emu.inject(429, Some(2)).await.unwrap();
        }
        let out = client.wait(&h, &PollConfig::default()).await.unwrap();
        assert!(out.is_approved(), "{out:?}");
        // The poller waited as the server asked (on the client's fake clock).
        assert!(
            clock.sleeps().contains(&Duration::from_secs(2)),
            "{:?}",
            clock.sleeps()
        );
        // Other errors still fail the check.
        s.emu.inject(400, None).await.unwrap();
        assert!(matches!(
            client.check(&h).await,
            Err(Error::InvalidRequest(_))
        ));
        // A handle of another provider is refused before anything is sent.
        let mut foreign = h.clone();
        foreign.provider = "launchkey".into();
        let before = s.emu.last_request().await;
        assert!(!before.is_null());
        let err = client.check(&foreign).await.unwrap_err();
        assert!(
            matches!(err, Error::Core(auth_core::Error::ForeignHandle { .. })),
            "{err:?}"
        );
        assert_eq!(s.emu.last_request().await, before);
    }

    pub(super) async fn bad_secret_key_is_unauthorized(s: Setup) {
        let builder = Client::builder(SecretKey::new("sk_nope")).base_url(s.api_url.as_str());
        let client = match s.builder_http() {
            Some(http) => builder.http_client(http),
            None => builder,
        }
        .build()
        .unwrap();
        let err = client
            .track(&s.uid("u"), &code("a"), TrackRequest::new())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unauthorized(_)), "{err:?}");
        assert!(!format!("{err:?}").contains("sk_nope"));
    }

    pub(super) async fn call_connect_start_then_finish(s: Setup) {
        use authsignal::call_connect::{
            CallConnect, CallState, FinishCallRequest, StartCallRequest,
        };
        let builder = Client::builder(s.secret.clone()).base_url(s.root_url.as_str());
        let builder = match s.builder_http() {
            Some(http) => builder.http_client(http),
            None => builder,
        };
        let cc = CallConnect::from_builder(builder).unwrap();
        let reference = s.name("call-9");
        let started = cc
            .start_call(&StartCallRequest::new(&reference).phone_number("+64270000103"))
            .await
            .unwrap();
        assert!(started.message_id.is_some());
        assert_eq!(s.emu.call_state(&reference).await, None);
        assert!(
            cc.finish_call(&FinishCallRequest::new(
                &reference,
                CallState::ChallengeFailed
            ))
            .await
            .unwrap()
            .success
        );
        assert_eq!(
            s.emu.call_state(&reference).await.as_deref(),
            Some("CHALLENGE_FAILED")
        );
    }
}

/// A TCP proxy that forwards HTTP/1.1 requests to `upstream` and, for the first `drop_first`
/// requests, closes the client's connection after the upstream answered — the response is
/// lost, as when a connection drops mid-request.
async fn dropping_proxy(upstream: SocketAddr, drop_first: usize) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let Ok(mut up) = TcpStream::connect(upstream).await else {
                    return;
                };
                loop {
                    let Some(req) = read_message(&mut client).await else {
                        return;
                    };
                    if up.write_all(&req).await.is_err() {
                        return;
                    }
                    let Some(resp) = read_message(&mut up).await else {
                        return;
                    };
                    let n = counter.fetch_add(1, Ordering::SeqCst);
                    if n < drop_first {
                        return; // drop the connection: the client never sees the response
                    }
                    if client.write_all(&resp).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, seen)
}

/// Reads one HTTP/1.1 message (headers + Content-Length body).
async fn read_message(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf)
}

#[tokio::test]
async fn never_answering_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let client = Client::builder(SecretKey::new("sk"))
        .base_url(format!("http://{addr}/v1"))
        .timeout(Duration::from_millis(300))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client.get_user(&uid("u")).await.unwrap_err();
    assert!(matches!(&err, Error::Core(e) if e.is_timeout()), "{err:?}");
    assert_eq!(err.kind(), auth_core::ErrorKind::Timeout);
    assert!(err.is_retryable() && err.http_status().is_none());
    assert!(started.elapsed() < Duration::from_secs(5));
    hold.abort();
}

#[tokio::test]
async fn server_errors_retry_reads_but_not_otp_sends() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let clock = FakeClock::at_unix(0);
    let client = Client::builder(SecretKey::new("sk"))
        .base_url(format!("{}/v1", server.uri()))
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let err = client.get_user(&uid("u")).await.unwrap_err();
    assert!(
        matches!(&err, Error::Server(e) if e.status == 503),
        "{err:?}"
    );
    let err = client
        .challenge(&ChallengeRequest::sms(code("a"), "+64270000000"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Server(_)));
    assert_eq!(clock.sleeps().len(), 2, "two back-offs, for the GET only");
    server.verify().await;
}

// ---- replays of recorded transcripts ----------------------------------------------------

fn transcript(name: &str) -> serde_json::Value {
    crate::common::fixture_json(&format!("transcripts/{name}"))
}

/// Serves the transcript's response for exactly its request (method, path, Basic header);
/// anything else gets a readable 500. Returns the client and the server.
async fn replay(name: &str) -> (Client, MockServer, serde_json::Value) {
    let t = transcript(name);
    let server = MockServer::start().await;
    let req = &t["request"];
    let resp = &t["response"];
    let body = match resp.get("text") {
        Some(text) => text.as_str().unwrap().as_bytes().to_vec(),
        None => resp["body"].to_string().into_bytes(),
    };
    let mut template = ResponseTemplate::new(resp["status"].as_u64().unwrap() as u16)
        .set_body_raw(body, resp["contentType"].as_str().unwrap());
    if let Some(ra) = resp.get("retryAfter") {
        template = template.insert_header("retry-after", ra.as_str().unwrap());
    }
    Mock::given(method(req["method"].as_str().unwrap()))
        .and(path(req["path"].as_str().unwrap()))
        .and(header(
            "authorization",
            req["authorization"].as_str().unwrap(),
        ))
        .respond_with(template)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500).set_body_string("unmatched request in replay"))
        .with_priority(10)
        .mount(&server)
        .await;
    let client = Client::builder(SecretKey::new("YOUR_AUTHSIGNAL_SECRET_KEY"))
        .base_url(format!("{}/v1", server.uri()))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    (client, server, t)
}

async fn sent_body(server: &MockServer) -> serde_json::Value {
    let reqs = server.received_requests().await.unwrap();
    serde_json::from_slice(&reqs[0].body).unwrap()
}

#[tokio::test]
async fn replay_track_challenge_required() {
    let (client, server, t) = replay("track_challenge_required.json").await;
    let want = &t["request"]["body"];
    let r = client
        .track(
            &uid("usr_123"),
            &code("withdrawFunds"),
            TrackRequest::new()
                .idempotency_key(
                    IdempotencyKey::new(want["idempotencyKey"].as_str().unwrap()).unwrap(),
                )
                .redirect_url("https://bank.example/done")
                .email("ada@example.com")
                .ip_address("203.0.113.7")
                .user_agent("Mozilla/5.0")
                .device_id(DeviceId::new("dev-1").unwrap())
                .custom("amount", 5000),
        )
        .await
        .unwrap();
    assert_eq!(&sent_body(&server).await, want, "the exact request body");
    assert_eq!(r.state, ActionState::ChallengeRequired);
    assert!(r.is_enrolled);
    assert_eq!(
        r.default_verification_method,
        Some(VerificationMethod::Passkey)
    );
    assert!(
        r.challenge_url()
            .unwrap()
            .starts_with("https://signal.authsignal.com/challenge")
    );
    assert_eq!(
        r.token.unwrap().expose_secret(),
        "eyJhbGciOiJIUzI1NiJ9.e30.sig"
    );
    server.verify().await;
}

#[tokio::test]
async fn replay_track_seed_era_response() {
    let (client, server, _) = replay("track_seed_era.json").await;
    let r = client
        .track(
            &uid("usr_seed"),
            &code("signIn"),
            TrackRequest::new().idempotency_key(IdempotencyKey::new("seed-key-1").unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(
        r.challenge_url(),
        Some("https://signal.authsignal.com/challenge/abc")
    );
    assert!(r.token.is_none());
    server.verify().await;
}

#[tokio::test]
async fn replay_get_action_review() {
    let (client, server, _) = replay("get_action_review.json").await;
    let a = client
        .get_action(
            &uid("usr_123"),
            &code("withdrawFunds"),
            &IdempotencyKey::new("0f4bdc6e-4b0e-4a6f-9c8a-2d1c3f7e9a10").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(a.state, ActionState::ReviewRequired);
    assert_eq!(
        a.state_updated_at.unwrap().unix_seconds(),
        Some(1_740_016_316)
    );
    assert_eq!(a.rules[0].name.as_deref(), Some("Large withdrawal"));
    server.verify().await;
}

#[tokio::test]
async fn replay_validate_answer_for_another_user_is_rejected() {
    let (client, server, t) = replay("validate_token_for_other_user.json").await;
    let err = client
        .validate_challenge(&ValidateChallengeRequest::new(
            ChallengeToken::new("tok-1"),
            uid("usr_123"),
            code("withdrawFunds"),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::TokenMismatch { user, .. } if user == "usr_other"),
        "{err:?}"
    );
    assert_eq!(sent_body(&server).await, t["request"]["body"]);
    server.verify().await;
}

#[tokio::test]
async fn replay_unauthorized_401() {
    let (client, server, _) = replay("unauthorized_401.json").await;
    let err = client.get_user(&uid("usr_123")).await.unwrap_err();
    let Error::Unauthorized(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.code, "unauthorized");
    assert!(
        e.description
            .as_deref()
            .unwrap()
            .contains("region base URL")
    );
    server.verify().await;
}

#[tokio::test]
async fn replay_not_found_with_seed_message() {
    let (client, server, _) = replay("not_found_seed_message.json").await;
    let err = client
        .get_action(
            &uid("usr_123"),
            &code("signIn"),
            &IdempotencyKey::new("unknown-key").unwrap(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotFound(e) if e.code == "Not Found"),
        "{err:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn replay_rate_limited_with_retry_after() {
    let (client, server, _) = replay("rate_limited_429.json").await;
    let err = client
        .get_authenticators(&uid("usr_123"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::RateLimited { error, retry_after: Some(d) } if error.code == "too_many_requests" && *d == Duration::from_secs(7)),
        "{err:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn replay_unknown_user_with_charset_media_type() {
    let (client, server, _) = replay("get_user_unknown_charset.json").await;
    let u = client.get_user(&uid("usr_never_seen")).await.unwrap();
    assert!(!u.is_enrolled);
    server.verify().await;
}

#[tokio::test]
async fn replay_challenge_with_epoch_expiry() {
    let (client, server, t) = replay("challenge_epoch_expiry.json").await;
    let c = client
        .challenge(&ChallengeRequest::sms(code("signIn"), "+64270000000"))
        .await
        .unwrap();
    assert_eq!(c.expires_at.unwrap().0, 1_740_016_916);
    assert_eq!(sent_body(&server).await, t["request"]["body"]);
    server.verify().await;
}

#[tokio::test]
async fn replay_bad_gateway_html_body() {
    let (client, server, _) = replay("bad_gateway_html.json").await;
    let err = client
        .verify(
            &ChallengeId::new("ch-1").unwrap(),
            &VerificationCode::new("123456"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Server(e) if e.code == "HTTP-502" && e.status == 502),
        "{err:?}"
    );
    server.verify().await;
}
