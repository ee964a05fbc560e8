//! Every call of the client over real loopback sockets against the emulator, errors included.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use authsignal::emulator::{Condition, Emulator, Rule, RuleOutcome, UNAUTHORIZED_BODY};
use authsignal::*;

use crate::common::{code, emulator_on_fake_clock, uid};

#[tokio::test]
async fn bad_key_is_401_with_the_official_body() {
    let emu = Emulator::start().await.unwrap();
    let client = Client::builder(SecretKey::new("sk_wrong"))
        .base_url(emu.base_url())
        .build()
        .unwrap();
    let err = client.get_user(&uid("u1")).await.unwrap_err();
    let Error::Unauthorized(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.status, 401);
    assert_eq!(api.code, "unauthorized");
    let official: serde_json::Value = serde_json::from_str(UNAUTHORIZED_BODY).unwrap();
    assert_eq!(
        api.description.as_deref(),
        official["errorDescription"].as_str()
    );
    let shown = format!("{err} {err:?} {client:?}");
    assert!(!shown.contains("sk_wrong"), "{shown}");
    assert!(!shown.contains(emu.secret().expose_secret()));
}

#[tokio::test]
async fn raw_http_shapes_and_seed_era_verbs() {
    let emu = Emulator::start().await.unwrap();
    let http = reqwest::Client::new();
    let secret = emu.secret();
    // Seed-era identify: POST /users/{u}, path without /v1 accepted too.
    let root = emu.call_connect_url().as_str().to_owned();
    let r = http
        .post(format!("{root}/users/seed-user"))
        .basic_auth(secret.expose_secret(), Some(""))
        .header("content-type", "application/json")
        .body(r#"{"email":"seed@example.com"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    // Seed-era enrol: oobChannel.
    let r = http
        .post(format!("{}/users/seed-user/authenticators", emu.base_url()))
        .basic_auth(secret.expose_secret(), Some(""))
        .body(r#"{"oobChannel":"SMS","phoneNumber":"+64270000009"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let client = emu.client().unwrap();
    let user = client.get_user(&uid("seed-user")).await.unwrap();
    assert!(user.is_enrolled);
    assert_eq!(user.email.as_deref(), Some("seed@example.com"));
    // Seed-era track with a JSON `null` body (Python 0.1.1 without payload): accepted.
    let r = http
        .post(format!("{}/users/seed-user/actions/signIn", emu.base_url()))
        .basic_auth(secret.expose_secret(), Some(""))
        .header("content-type", "application/json")
        .body("null")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(body["state"], "ALLOW");
    assert_eq!(body["idempotencyKey"].as_str().unwrap().len(), 36);
    // An action code the server rejects.
    let r = http
        .post(format!(
            "{}/users/seed-user/actions/bad%20code",
            emu.base_url()
        ))
        .basic_auth(secret.expose_secret(), Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // An unknown route.
    let r = http
        .get(format!("{}/nothing/here", emu.base_url()))
        .basic_auth(secret.expose_secret(), Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // No auth header at all.
    let r = http
        .get(format!("{}/users/x", emu.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.text().await.unwrap(), UNAUTHORIZED_BODY);
    // Not JSON.
    let r = http
        .patch(format!("{}/users/x", emu.base_url()))
        .basic_auth(secret.expose_secret(), Some(""))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["errorCode"], "invalid_request");
    assert!(body["message"].is_string());
}

#[tokio::test]
async fn track_get_update_and_query_actions() {
    let emu = Emulator::start().await.unwrap();
    let client = emu.client().unwrap();
    let (u, a) = (uid("alice"), code("transfer"));
    emu.add_rule(
        Rule::new("review-big", RuleOutcome::Review)
            .when(Condition::CustomGreaterThan("amount".into(), 1000.0)),
    );

    let small = client
        .track(&u, &a, TrackRequest::new().custom("amount", 10))
        .await
        .unwrap();
    assert_eq!(small.state, ActionState::Allow);
    assert!(small.rule_ids.is_empty());
    assert_eq!(small.idempotency_key.as_str().len(), 36, "generated UUID");

    let big = client
        .track(
            &u,
            &a,
            TrackRequest::new()
                .custom("amount", 5000)
                .email("alice@example.com"),
        )
        .await
        .unwrap();
    assert_eq!(big.state, ActionState::ReviewRequired);
    assert_eq!(big.rule_ids, vec!["review-big".to_owned()]);

    let got = client
        .get_action(&u, &a, &big.idempotency_key)
        .await
        .unwrap();
    assert_eq!(got.state, ActionState::ReviewRequired);
    assert_eq!(got.rules[0].rule_id, "review-big");
    assert!(got.created_at.unwrap().unix_seconds().is_some());

    let upd = client
        .update_action(&u, &a, &big.idempotency_key, &ActionState::ReviewSucceeded)
        .await
        .unwrap();
    assert_eq!(upd.state, ActionState::ReviewSucceeded);
    let got = client
        .get_action(&u, &a, &big.idempotency_key)
        .await
        .unwrap();
    assert_eq!(got.state, ActionState::ReviewSucceeded);

    let all = client
        .query_actions(&u, &QueryActionsRequest::new())
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let allowed = client
        .query_actions(
            &u,
            &QueryActionsRequest::new()
                .state(ActionState::Allow)
                .code(a.clone()),
        )
        .await
        .unwrap();
    assert_eq!(allowed.len(), 1);
    assert_eq!(allowed[0].idempotency_key, small.idempotency_key);
    let other = client
        .query_actions(&u, &QueryActionsRequest::new().code(code("signIn")))
        .await
        .unwrap();
    assert!(other.is_empty());

    // 404 for an unknown key, 400 for an unknown state.
    let missing = IdempotencyKey::new("no-such-key").unwrap();
    let err = client.get_action(&u, &a, &missing).await.unwrap_err();
    assert!(
        matches!(&err, Error::NotFound(e) if e.code == "not_found"),
        "{err:?}"
    );
    let err = client
        .update_action(
            &u,
            &a,
            &big.idempotency_key,
            &ActionState::Other("MAYBE".into()),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
    let err = client
        .update_action(&u, &a, &missing, &ActionState::Block)
        .await
        .unwrap_err();
    assert_eq!(auth_core::Classify::http_status(&err), Some(404));
}

#[tokio::test]
async fn rules_block_challenge_and_new_device() {
    let emu = Emulator::start().await.unwrap();
    let client = emu.client().unwrap();
    emu.add_rule(
        Rule::new("bad-ip", RuleOutcome::Block).when(Condition::IpAddress("198.51.100.66".into())),
    );
    emu.add_rule(
        Rule::new("new-device", RuleOutcome::Challenge)
            .for_action("signIn")
            .when(Condition::NewDevice),
    );
    let u = uid("bob");
    let blocked = client
        .track(
            &u,
            &code("signIn"),
            TrackRequest::new().ip_address("198.51.100.66"),
        )
        .await
        .unwrap();
    assert_eq!(blocked.state, ActionState::Block);

    // New device but not enrolled: allowed, not enrolled.
    let d1 = DeviceId::new("device-1").unwrap();
    let r = client
        .track(
            &u,
            &code("signIn"),
            TrackRequest::new().device_id(d1.clone()),
        )
        .await
        .unwrap();
    assert_eq!((r.state, r.is_enrolled), (ActionState::Allow, false));

    client
        .enroll_verified_authenticator(
            &u,
            &EnrollVerifiedAuthenticatorRequest::email_otp("bob@example.com"),
        )
        .await
        .unwrap();
    // Known device: allowed; a new one: challenge.
    let r = client
        .track(
            &u,
            &code("signIn"),
            TrackRequest::new().device_id(d1.clone()),
        )
        .await
        .unwrap();
    assert_eq!(r.state, ActionState::Allow);
    let r = client
        .track(
            &u,
            &code("signIn"),
            TrackRequest::new().device_id(DeviceId::new("device-2").unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(r.state, ActionState::ChallengeRequired);
    assert!(r.is_enrolled);
    assert_eq!(
        r.enrolled_verification_methods,
        vec![VerificationMethod::EmailOtp]
    );
    assert!(r.challenge_url().unwrap().contains("/ui/challenge?token="));
    assert!(r.token.is_some());
    // Other action: the rule is scoped.
    let r = client
        .track(
            &u,
            &code("withdraw"),
            TrackRequest::new().device_id(DeviceId::new("device-3").unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(r.state, ActionState::Allow);

    // Devices.
    let devices = client.get_devices(&u).await.unwrap();
    assert_eq!(devices.len(), 3);
    let inv = client.invalidate_device(&u, &d1).await.unwrap();
    assert!(inv.invalidated_at.is_some());
    let r = client
        .track(
            &u,
            &code("signIn"),
            TrackRequest::new().device_id(d1.clone()),
        )
        .await
        .unwrap();
    assert_eq!(
        r.state,
        ActionState::ChallengeRequired,
        "invalidated device is new again"
    );
    let err = client
        .invalidate_device(&u, &DeviceId::new("nope").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)));

    // Update device (remember it): read back, 404 for an unknown device, bad input refused.
    let until = Timestamp::new("2031-01-02T03:04:05.000Z");
    let d = client.update_device(&u, &d1, &until).await.unwrap();
    assert_eq!(d.remembered_until.as_ref(), Some(&until));
    let listed = client.get_devices(&u).await.unwrap();
    let again = listed.iter().find(|x| x.device_id == d1).unwrap();
    assert_eq!(again.remembered_until.as_ref(), Some(&until));
    let err = client
        .update_device(&u, &DeviceId::new("nope").unwrap(), &until)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    let err = client
        .update_device(&u, &d1, &Timestamp::new("next week"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
}

#[tokio::test]
async fn idempotent_track_returns_the_same_action() {
    let emu = Emulator::start().await.unwrap();
    let client = emu.client().unwrap();
    let (u, a) = (uid("carol"), code("pay"));
    let key = IdempotencyKey::new("order-42").unwrap();
    let first = client
        .track(&u, &a, TrackRequest::new().idempotency_key(key.clone()))
        .await
        .unwrap();
    // A rule added in between must not change the stored decision.
    emu.add_rule(Rule::new("block-all", RuleOutcome::Block));
    let second = client
        .track(&u, &a, TrackRequest::new().idempotency_key(key.clone()))
        .await
        .unwrap();
    assert_eq!(first.idempotency_key, key);
    assert_eq!(second.idempotency_key, key);
    assert_eq!(second.state, first.state);
    assert_eq!(emu.action_count(), 1);
    assert_eq!(emu.track_requests(), 2);
    // Same key, other action: a separate action.
    let other = client
        .track(
            &u,
            &code("refund"),
            TrackRequest::new().idempotency_key(key.clone()),
        )
        .await
        .unwrap();
    assert_eq!(other.state, ActionState::Block);
    assert_eq!(emu.action_count(), 2);
}

#[tokio::test]
async fn users_update_get_query_delete() {
    let emu = Emulator::start().await.unwrap();
    let client = emu.client().unwrap();
    // Unknown user: 200, not enrolled.
    let nobody = client.get_user(&uid("ghost")).await.unwrap();
    assert!(!nobody.is_enrolled);
    assert!(nobody.email.is_none());

    for (i, name) in ["u-a", "u-b", "u-c", "u-d", "u-e"].iter().enumerate() {
        let attrs = client
            .update_user(
                &uid(name),
                &UpdateUserRequest::new()
                    .email(format!("{name}@example.com"))
                    .username(if i % 2 == 0 { "even" } else { "odd" })
                    .custom("tier", i as i64),
            )
            .await
            .unwrap();
        assert_eq!(
            attrs.email.as_deref(),
            Some(&*format!("{name}@example.com"))
        );
    }
    let attrs = client
        .identify(
            &uid("u-a"),
            &UpdateUserRequest::new()
                .display_name("Ada")
                .email_verified(true),
        )
        .await
        .unwrap();
    assert_eq!(attrs.display_name.as_deref(), Some("Ada"));
    assert_eq!(
        attrs.email.as_deref(),
        Some("u-a@example.com"),
        "upsert keeps fields"
    );
    let user = client.get_user(&uid("u-a")).await.unwrap();
    assert!(user.email_verified);
    assert_eq!(user.custom.unwrap()["tier"], 0);

    let evens = client
        .query_users(&QueryUsersRequest::new().username("even"))
        .await
        .unwrap();
    assert_eq!(evens.users.len(), 3);
    let by_mail = client
        .query_users(&QueryUsersRequest::new().email("u-d@example.com"))
        .await
        .unwrap();
    assert_eq!(by_mail.users[0].user_id, uid("u-d"));

    // Pagination.
    let mut seen = Vec::new();
    let mut q = QueryUsersRequest::new().limit(2u32);
    loop {
        let page = client.query_users(&q).await.unwrap();
        seen.extend(page.users.iter().map(|u| u.user_id.clone()));
        match page.last_evaluated_user_id {
            Some(last) => {
                q = QueryUsersRequest::new()
                    .limit(2u32)
                    .last_evaluated_user_id(last)
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);

    // Seed-era URL.
    let with_url = client
        .get_user_with_redirect(&uid("u-a"), "https://app.example/back")
        .await
        .unwrap();
    assert!(
        with_url
            .url
            .unwrap()
            .contains("redirectUrl=https%3A%2F%2Fapp.example%2Fback")
    );
    for bad in ["not a url", "javascript:alert(1)"] {
        let err = client
            .get_user_with_redirect(&uid("u-a"), bad)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{bad}: {err:?}");
    }

    client.delete_user(&uid("u-a")).await.unwrap();
    let gone = client.get_user(&uid("u-a")).await.unwrap();
    assert!(gone.email.is_none() && !gone.is_enrolled);

    // Bad input is rejected before sending.
    let err = client
        .update_user(
            &uid("u-b"),
            &UpdateUserRequest::new().custom("obj", serde_json::json!([1])),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)));
    let err = client
        .query_users(&QueryUsersRequest::new().limit(0u32))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)));
}

#[tokio::test]
async fn path_segments_are_encoded() {
    let emu = Emulator::start().await.unwrap();
    let client = emu.client().unwrap();
    let odd = uid("a/b?c#d %2F..");
    client
        .update_user(&odd, &UpdateUserRequest::new().email("odd@example.com"))
        .await
        .unwrap();
    assert_eq!(
        client.get_user(&odd).await.unwrap().email.as_deref(),
        Some("odd@example.com")
    );
    // A user named "a" is a different user.
    assert!(client.get_user(&uid("a")).await.unwrap().email.is_none());
    let r = client
        .track(&odd, &code("x"), TrackRequest::new())
        .await
        .unwrap();
    client
        .get_action(&odd, &code("x"), &r.idempotency_key)
        .await
        .unwrap();
}

#[tokio::test]
async fn authenticators_enroll_list_delete_batch() {
    let emu = Emulator::start().await.unwrap();
    let client = emu.client().unwrap();
    let u = uid("dave");
    let first = client
        .enroll_verified_authenticator(&u, &EnrollVerifiedAuthenticatorRequest::sms("+64270000002"))
        .await
        .unwrap();
    assert_eq!(
        first.authenticator.verification_method,
        VerificationMethod::Sms
    );
    assert_eq!(
        first.authenticator.phone_number.as_deref(),
        Some("+64270000002")
    );
    assert_eq!(first.recovery_codes.len(), 10);
    assert!(!format!("{first:?}").contains(first.recovery_codes[0].expose_secret()));
    let second = client
        .enroll_verified_authenticator(
            &u,
            &EnrollVerifiedAuthenticatorRequest::email_magic_link("d@example.com"),
        )
        .await
        .unwrap();
    assert!(second.recovery_codes.is_empty());
    let list = client.get_authenticators(&u).await.unwrap();
    assert_eq!(list.len(), 2);
    let user = client.get_user(&u).await.unwrap();
    assert!(user.is_enrolled && user.phone_number_verified);

    client
        .delete_authenticator(&u, &first.authenticator.user_authenticator_id)
        .await
        .unwrap();
    assert_eq!(client.get_authenticators(&u).await.unwrap().len(), 1);
    let err = client
        .delete_authenticator(&u, &first.authenticator.user_authenticator_id)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)));

    // Local validation, then the server's own 400.
    let err = client
        .enroll_verified_authenticator(
            &u,
            &EnrollVerifiedAuthenticatorRequest::new(VerificationMethod::Sms),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)));
    let err = client
        .enroll_verified_authenticator(
            &u,
            &EnrollVerifiedAuthenticatorRequest::new(VerificationMethod::Passkey),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRequest(e) if e.code == "invalid_request"),
        "{err:?}"
    );

    let batch = client
        .batch_enroll_authenticators(&[
            PasskeyImport::new(uid("eve"), "cred-1", "pk-1")
                .name("Laptop")
                .transport("internal"),
            PasskeyImport::new(uid("eve"), "cred-1", "pk-1"),
        ])
        .await
        .unwrap();
    assert_eq!((batch.total, batch.succeeded, batch.failed), (2, 1, 1));
    assert_eq!(
        batch.failures[0].error_code.as_deref(),
        Some("duplicate_credential")
    );
    let eve = client.get_authenticators(&uid("eve")).await.unwrap();
    assert_eq!(eve[0].verification_method, VerificationMethod::Passkey);
    assert_eq!(
        eve[0]
            .webauthn_credential
            .as_ref()
            .unwrap()
            .credential_id
            .as_deref(),
        Some("cred-1")
    );
}

#[tokio::test]
async fn challenge_then_validate() {
    let emu = Emulator::start().await.unwrap();
    emu.add_rule(Rule::new("always", RuleOutcome::Challenge));
    let client = emu.client().unwrap();
    let (u, a) = (uid("frank"), code("signIn"));
    client
        .enroll_verified_authenticator(&u, &EnrollVerifiedAuthenticatorRequest::sms("+64270000003"))
        .await
        .unwrap();
    let t = client.track(&u, &a, TrackRequest::new()).await.unwrap();
    assert_eq!(t.state, ActionState::ChallengeRequired);

    // The fresh track token: not valid yet, state CHALLENGE_REQUIRED.
    let v = client
        .validate_challenge(&ValidateChallengeRequest::new(
            t.token.clone().unwrap(),
            u.clone(),
            a.clone(),
        ))
        .await
        .unwrap();
    assert!(!v.is_valid);
    assert_eq!(v.state, Some(ActionState::ChallengeRequired));
    assert_eq!(v.user_id.as_ref(), Some(&u));

    let token = emu
        .complete_challenge(&u, &a, &t.idempotency_key, VerificationMethod::Sms)
        .unwrap();
    let v = client
        .validate_challenge(&ValidateChallengeRequest::new(
            token.clone(),
            u.clone(),
            a.clone(),
        ))
        .await
        .unwrap();
    assert!(v.is_valid);
    assert_eq!(v.state, Some(ActionState::ChallengeSucceeded));
    assert_eq!(v.verification_method, Some(VerificationMethod::Sms));
    assert_eq!(v.idempotency_key.as_ref(), Some(&t.idempotency_key));
    let got = client.get_action(&u, &a, &t.idempotency_key).await.unwrap();
    assert_eq!(got.verification_method, Some(VerificationMethod::Sms));

    // For another user: not valid (the server refuses), no mismatch leaks through.
    let v = client
        .validate_challenge(&ValidateChallengeRequest::new(
            token.clone(),
            uid("mallory"),
            a.clone(),
        ))
        .await
        .unwrap();
    assert!(!v.is_valid);
    assert!(v.error.is_some());
    // Garbage token.
    let v = client
        .validate_challenge(&ValidateChallengeRequest::token_only(ChallengeToken::new(
            "junk",
        )))
        .await
        .unwrap();
    assert!(!v.is_valid);

    // Failed challenge.
    let t2 = client.track(&u, &a, TrackRequest::new()).await.unwrap();
    let tok2 = emu.fail_challenge(&u, &a, &t2.idempotency_key).unwrap();
    let v = client
        .validate_challenge(&ValidateChallengeRequest::new(tok2, u.clone(), a.clone()))
        .await
        .unwrap();
    assert!(!v.is_valid);
    assert_eq!(v.state, Some(ActionState::ChallengeFailed));
    assert!(emu.fail_challenge(&u, &a, &t2.idempotency_key).is_err());
}

#[tokio::test]
async fn tokens_expire() {
    let (emu, clock) = emulator_on_fake_clock().await;
    emu.add_rule(Rule::new("always", RuleOutcome::Challenge));
    let client = emu.client().unwrap();
    let (u, a) = (uid("gina"), code("signIn"));
    client
        .enroll_verified_authenticator(&u, &EnrollVerifiedAuthenticatorRequest::sms("+64270000004"))
        .await
        .unwrap();
    let t = client.track(&u, &a, TrackRequest::new()).await.unwrap();
    let token = emu
        .complete_challenge(&u, &a, &t.idempotency_key, VerificationMethod::Sms)
        .unwrap();
    clock.advance(Duration::from_secs(601));
    let v = client
        .validate_challenge(&ValidateChallengeRequest::new(token, u, a))
        .await
        .unwrap();
    assert!(!v.is_valid);
    assert!(v.error.unwrap().contains("expired"));
}

#[tokio::test]
async fn otp_challenge_verify_claim_and_get() {
    let emu = Emulator::start().await.unwrap();
    let client = emu.client().unwrap();
    let a = code("signUp");
    let c = client
        .challenge(&ChallengeRequest::sms(a.clone(), "+64270000005").user_id(uid("hank")))
        .await
        .unwrap();
    assert!(c.expires_at.unwrap().0 > 1_700_000_000);

    let got = client
        .get_challenge(&GetChallengeRequest::by_id(c.challenge_id.clone()))
        .await
        .unwrap();
    assert_eq!(got.phone_number.as_deref(), Some("+64270000005"));
    assert_eq!(got.verification_method, Some(VerificationMethod::Sms));
    let latest = client
        .get_challenge(&GetChallengeRequest::latest(
            uid("hank"),
            a.clone(),
            VerificationMethod::Sms,
        ))
        .await
        .unwrap();
    assert_eq!(latest.challenge_id.as_ref(), Some(&c.challenge_id));

    // Claim before verification: 400.
    let err = client
        .claim_challenge(&ClaimRequest::new(c.challenge_id.clone(), uid("hank")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");

    let wrong = client
        .verify(&c.challenge_id, &VerificationCode::new("000000x"))
        .await
        .unwrap();
    assert!(!wrong.is_verified);
    assert_eq!(
        wrong.failure_reason,
        Some(VerifyFailureReason::CodeInvalidOrExpired)
    );
    let right = emu.otp_code(&c.challenge_id).unwrap();
    let ok = client.verify(&c.challenge_id, &right).await.unwrap();
    assert!(ok.is_verified);
    assert_eq!(ok.phone_number.as_deref(), Some("+64270000005"));

    let claim = client
        .claim_challenge(&ClaimRequest::new(c.challenge_id.clone(), uid("hank")))
        .await
        .unwrap();
    assert_eq!(claim.verification_method, Some(VerificationMethod::Sms));
    let v = client
        .validate_challenge(&ValidateChallengeRequest::new(
            claim.token.clone(),
            uid("hank"),
            a.clone(),
        ))
        .await
        .unwrap();
    assert!(v.is_valid);
    assert_eq!(v.idempotency_key, c.idempotency_key);
    let user = client.get_user(&uid("hank")).await.unwrap();
    assert!(user.phone_number_verified);
    // Claimed twice: 400.
    assert!(
        client
            .claim_challenge(&ClaimRequest::new(c.challenge_id.clone(), uid("hank")))
            .await
            .is_err()
    );

    // Max attempts.
    let c2 = client
        .challenge(&ChallengeRequest::email_otp(a.clone(), "i@example.com"))
        .await
        .unwrap();
    for _ in 0..3 {
        let r = client
            .verify(&c2.challenge_id, &VerificationCode::new("bad"))
            .await
            .unwrap();
        assert_eq!(
            r.failure_reason,
            Some(VerifyFailureReason::CodeInvalidOrExpired)
        );
    }
    let right = emu.otp_code(&c2.challenge_id).unwrap();
    let r = client.verify(&c2.challenge_id, &right).await.unwrap();
    assert_eq!(
        r.failure_reason,
        Some(VerifyFailureReason::MaxAttemptsExceeded)
    );

    // Errors.
    let missing = ChallengeId::new("nope").unwrap();
    assert!(matches!(
        client.verify(&missing, &right).await.unwrap_err(),
        Error::NotFound(_)
    ));
    assert!(matches!(
        client
            .get_challenge(&GetChallengeRequest::by_id(missing))
            .await
            .unwrap_err(),
        Error::NotFound(_)
    ));
    assert!(matches!(
        client
            .challenge(&ChallengeRequest::new(VerificationMethod::Sms, a.clone()))
            .await
            .unwrap_err(),
        Error::InvalidInput(_)
    ));
    let err = client
        .challenge(&ChallengeRequest::new(VerificationMethod::Passkey, a).email("x@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
}

#[tokio::test]
async fn sessions_lifecycle() {
    let emu = Emulator::start().await.unwrap();
    let client = emu.client().unwrap();
    let a = code("signIn");
    let u = uid("ivy");
    let c = client
        .challenge(&ChallengeRequest::sms(a.clone(), "+64270000006"))
        .await
        .unwrap();
    client
        .verify(&c.challenge_id, &emu.otp_code(&c.challenge_id).unwrap())
        .await
        .unwrap();
    let claim = client
        .claim_challenge(&ClaimRequest::new(c.challenge_id.clone(), u.clone()))
        .await
        .unwrap();
    let web = ClientId::new("web").unwrap();

    let err = client
        .create_session(
            &CreateSessionRequest::new(web.clone(), claim.token.clone()).action(code("other")),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)));
    let s = client
        .create_session(
            &CreateSessionRequest::new(web.clone(), claim.token.clone()).action(a.clone()),
        )
        .await
        .unwrap();
    let v = client
        .validate_session(&s.access_token, std::slice::from_ref(&web))
        .await
        .unwrap();
    assert_eq!(v.user.user_id, u);
    assert_eq!(
        v.user.attributes.phone_number.as_deref(),
        Some("+64270000006")
    );
    assert_eq!(v.verification_method, Some(VerificationMethod::Sms));
    assert!(
        client
            .validate_session(&s.access_token, &[ClientId::new("mobile").unwrap()])
            .await
            .is_err()
    );

    let s2 = client.refresh_session(&s.refresh_token).await.unwrap();
    assert_ne!(s2.access_token, s.access_token);
    assert!(
        client.validate_session(&s.access_token, &[]).await.is_err(),
        "old token rotated out"
    );
    assert!(
        client.refresh_session(&s.refresh_token).await.is_err(),
        "old refresh token rotated out"
    );
    client
        .validate_session(&s2.access_token, &[])
        .await
        .unwrap();

    client.revoke_session(&s2.access_token).await.unwrap();
    let err = client
        .validate_session(&s2.access_token, &[])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidSession(_)), "{err:?}");

    let s3 = client
        .create_session(&CreateSessionRequest::new(web.clone(), claim.token.clone()))
        .await
        .unwrap();
    let s4 = client
        .create_session(&CreateSessionRequest::new(web, claim.token))
        .await
        .unwrap();
    client.revoke_user_sessions(&u).await.unwrap();
    assert!(
        client
            .validate_session(&s3.access_token, &[])
            .await
            .is_err()
    );
    assert!(
        client
            .validate_session(&s4.access_token, &[])
            .await
            .is_err()
    );
    assert!(!format!("{s3:?}").contains(s3.access_token.expose_secret()));
}

#[tokio::test]
async fn tenants_are_isolated() {
    let emu = Emulator::start().await.unwrap();
    let other_key = SecretKey::new("sk_tenant_two");
    emu.add_tenant(other_key.clone());
    let one = emu.client().unwrap();
    let two = Client::builder(other_key)
        .base_url(emu.base_url())
        .build()
        .unwrap();
    two.update_user(
        &uid("shared-id"),
        &UpdateUserRequest::new().email("two@example.com"),
    )
    .await
    .unwrap();
    assert!(
        one.get_user(&uid("shared-id"))
            .await
            .unwrap()
            .email
            .is_none()
    );
    assert_eq!(
        two.get_user(&uid("shared-id"))
            .await
            .unwrap()
            .email
            .as_deref(),
        Some("two@example.com")
    );
}

#[tokio::test]
async fn call_connect_start_and_finish() {
    use authsignal::call_connect::{
        CallChannel, CallConnect, CallState, FinishCallRequest, StartCallRequest,
    };
    let emu = Emulator::start().await.unwrap();
    let cc =
        CallConnect::from_builder(Client::builder(emu.secret()).base_url(emu.call_connect_url()))
            .unwrap();
    let r = cc
        .start_call(&StartCallRequest::new("call-1").phone_number("+64270000010"))
        .await
        .unwrap();
    assert_eq!(r.channel, Some(CallChannel::Sms));
    assert!(r.message_id.is_some() && r.error.is_none());
    // By user id, with the user's e-mail address.
    emu.client()
        .unwrap()
        .update_user(
            &uid("cc-user"),
            &UpdateUserRequest::new().email("cc@example.com"),
        )
        .await
        .unwrap();
    let r = cc
        .start_call(
            &StartCallRequest::new("call-2")
                .user_id("cc-user")
                .channel(CallChannel::Email),
        )
        .await
        .unwrap();
    assert_eq!(r.email.as_deref(), Some("cc@example.com"));
    // No destination: 200 with an error.
    let r = cc
        .start_call(&StartCallRequest::new("call-3").user_id("nobody"))
        .await
        .unwrap();
    assert_eq!(r.error_code.as_deref(), Some("no_destination"));
    assert!(matches!(
        cc.start_call(&StartCallRequest::new("call-4"))
            .await
            .unwrap_err(),
        Error::InvalidInput(_)
    ));

    let f = cc
        .finish_call(
            &FinishCallRequest::new("call-1", CallState::ChallengeSucceeded)
                .payload("agent", "a-7"),
        )
        .await
        .unwrap();
    assert!(f.success);
    assert_eq!(
        emu.call_state("call-1").as_deref(),
        Some("CHALLENGE_SUCCEEDED")
    );
    let err = cc
        .finish_call(&FinishCallRequest::new(
            "call-unknown",
            CallState::ChallengeFailed,
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)));
    let bad = CallConnect::from_builder(
        Client::builder(SecretKey::new("sk_bad")).base_url(emu.call_connect_url()),
    )
    .unwrap();
    assert!(matches!(
        bad.start_call(&StartCallRequest::new("x").phone_number("+1"))
            .await
            .unwrap_err(),
        Error::Unauthorized(_)
    ));
}

#[tokio::test]
async fn webhook_delivery_failures_stay_queued() {
    let emu = Emulator::start().await.unwrap();
    let client = emu.client().unwrap();
    client
        .enroll_verified_authenticator(
            &uid("q"),
            &EnrollVerifiedAuthenticatorRequest::sms("+64270000011"),
        )
        .await
        .unwrap();
    assert!(matches!(
        emu.deliver_webhooks().await,
        Err(auth_core::emulator::ControlError::Conflict(_))
    ));
    // Nobody listening: delivery fails, the event stays queued.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    emu.set_webhook_url(format!("http://{dead_addr}/hooks"));
    assert!(emu.deliver_webhooks().await.is_err());
    assert_eq!(emu.pending_webhooks().len(), 1);
    // A 500 keeps it queued too; a 200 clears it.
    let receiver = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&receiver)
        .await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    emu.set_webhook_url(receiver.uri());
    assert_eq!(emu.deliver_webhooks().await.unwrap(), vec![500]);
    assert_eq!(emu.pending_webhooks().len(), 1);
    assert_eq!(emu.deliver_webhooks().await.unwrap(), vec![200]);
    assert!(emu.pending_webhooks().is_empty());
}

#[tokio::test]
async fn secrets_never_show_in_debug_or_errors() {
    let emu = Emulator::start().await.unwrap();
    emu.add_rule(Rule::new("c", RuleOutcome::Challenge));
    let secret = emu.secret();
    let key = secret.expose_secret().to_owned();
    let builder = emu.client_builder();
    let client = emu.client().unwrap();
    let u = uid("redact");
    let enrolled = client
        .enroll_verified_authenticator(&u, &EnrollVerifiedAuthenticatorRequest::sms("+64270000012"))
        .await
        .unwrap();
    let track = client
        .track(&u, &code("signIn"), TrackRequest::new())
        .await
        .unwrap();
    let settings = client
        .get_user_with_redirect(&u, "https://app.example/back")
        .await
        .unwrap();
    let settings_url = settings.url.clone().unwrap();
    let settings_token = settings_url
        .split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let c = client
        .challenge(&ChallengeRequest::sms(code("signIn"), "+64270000012"))
        .await
        .unwrap();
    let otp = emu.otp_code(&c.challenge_id).unwrap();
    client.verify(&c.challenge_id, &otp).await.unwrap();
    let claim = client
        .claim_challenge(&ClaimRequest::new(c.challenge_id.clone(), u.clone()))
        .await
        .unwrap();
    let session = client
        .create_session(&CreateSessionRequest::new(
            ClientId::new("web").unwrap(),
            claim.token.clone(),
        ))
        .await
        .unwrap();
    let bad = Client::builder(SecretKey::new("sk_bad_secret_value"))
        .base_url(emu.base_url())
        .build()
        .unwrap();
    let err = bad.get_user(&u).await.unwrap_err();
    let events: Vec<String> = emu
        .pending_webhooks()
        .iter()
        .map(|b| {
            format!(
                "{:?}",
                authsignal::webhook::WebhookPayload::parse(b).unwrap()
            )
        })
        .collect();
    let shown = format!(
        "{client:?} {builder:?} {emu:?} {secret:?} {enrolled:?} {track:?} {claim:?} {session:?} {otp:?} {err} {err:?} {events:?} {bad:?} {settings:?}"
    );
    let secrets = [
        key.clone(),
        "sk_bad_secret_value".to_owned(),
        track.token.as_ref().unwrap().expose_secret().to_owned(),
        claim.token.expose_secret().to_owned(),
        session.access_token.expose_secret().to_owned(),
        session.refresh_token.expose_secret().to_owned(),
        otp.expose_secret().to_owned(),
        enrolled.recovery_codes[0].expose_secret().to_owned(),
        settings_token,
    ];
    for (i, s) in secrets.iter().enumerate() {
        assert!(
            !shown.contains(s.as_str()),
            "secret #{i} leaked into Debug/Display"
        );
    }
    assert!(shown.contains("[redacted]"));
}

#[tokio::test]
async fn own_reqwest_client_and_regions() {
    let emu = Emulator::start().await.unwrap();
    let custom = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("my-app/1.0")
        .build()
        .unwrap();
    let client = emu.client_builder().reqwest_client(custom).build().unwrap();
    assert!(!client.get_user(&uid("x")).await.unwrap().is_enrolled);
    for (region, host) in [
        (Region::Us, "api.authsignal.com"),
        (Region::Au, "au.api.authsignal.com"),
        (Region::Eu, "eu.api.authsignal.com"),
        (Region::Ca, "ca.api.authsignal.com"),
    ] {
        let c = Client::builder(SecretKey::new("k"))
            .region(region)
            .build()
            .unwrap();
        assert_eq!(c.base_url().host(), host);
        assert_eq!(c.base_url().path(), "/v1");
    }
    // UK is only reachable as a custom URL; plain http only on loopback.
    assert!(
        Client::builder(SecretKey::new("k"))
            .base_url("https://uk.api.authsignal.com/v1")
            .build()
            .is_ok()
    );
    assert!(
        Client::builder(SecretKey::new("k"))
            .base_url("http://api.authsignal.com/v1")
            .build()
            .is_err()
    );
}

// ---- the emulator behaves like the platform ---------------------------------------------

/// `authenticator.created` / `authenticator.deleted` carry the documented flat `data`
/// (`userId`, `userAuthenticatorId`, `verificationMethod`, `createdAt` …), not a nested
/// `authenticator` object; the client's typed view reads it.
#[tokio::test]
async fn authenticator_webhooks_have_the_documented_flat_shape() {
    let emu = Emulator::start().await.unwrap();
    let client = emu.client().unwrap();
    let u = uid("flat");
    let enrolled = client
        .enroll_verified_authenticator(&u, &EnrollVerifiedAuthenticatorRequest::sms("+64270000400"))
        .await
        .unwrap();
    let id = enrolled.authenticator.user_authenticator_id.clone();
    client.delete_authenticator(&u, &id).await.unwrap();
    let events: Vec<serde_json::Value> = emu
        .pending_webhooks()
        .iter()
        .map(|b| serde_json::from_slice(b).unwrap())
        .collect();
    assert_eq!(events.len(), 2);
    for (event, kind) in events
        .iter()
        .zip(["authenticator.created", "authenticator.deleted"])
    {
        assert_eq!(event["type"], kind);
        let data = event["data"].as_object().unwrap();
        assert!(!data.contains_key("authenticator"), "{event}");
        assert_eq!(data["userId"], "flat");
        assert_eq!(data["userAuthenticatorId"], id.as_str());
        assert_eq!(data["verificationMethod"], "SMS");
        assert_eq!(data["phoneNumber"], "+64270000400");
        assert!(
            Timestamp::new(data["createdAt"].as_str().unwrap())
                .unix_seconds()
                .is_some()
        );
        assert_eq!(
            data.contains_key("deletedAt"),
            kind == "authenticator.deleted"
        );
    }
    for body in emu.pending_webhooks() {
        let payload = authsignal::webhook::WebhookPayload::parse(&body).unwrap();
        let a = payload.events()[0].authenticator().unwrap().unwrap();
        assert_eq!(a.user_authenticator_id, id);
        assert_eq!(a.verification_method, VerificationMethod::Sms);
        assert_eq!(a.user_id, Some(u.clone()));
        assert_eq!(a.phone_number.as_deref(), Some("+64270000400"));
    }
}

/// A new e-mail address or phone number is not verified: `emailVerified` /
/// `phoneNumberVerified` fall back to false when the value changes (unless the same request
/// says otherwise), and stay as they were when it does not.
#[tokio::test]
async fn changing_email_or_phone_resets_its_verified_flag() {
    let emu = Emulator::start().await.unwrap();
    let client = emu.client().unwrap();
    let u = uid("verif");
    client
        .enroll_verified_authenticator(&u, &EnrollVerifiedAuthenticatorRequest::sms("+64270000401"))
        .await
        .unwrap();
    client
        .update_user(
            &u,
            &UpdateUserRequest::new()
                .email("old@example.com")
                .email_verified(true),
        )
        .await
        .unwrap();
    let user = client.get_user(&u).await.unwrap();
    assert!(user.email_verified && user.phone_number_verified);

    // The same values again: still verified.
    let attrs = client
        .update_user(
            &u,
            &UpdateUserRequest::new()
                .email("old@example.com")
                .phone_number("+64270000401"),
        )
        .await
        .unwrap();
    assert_eq!(attrs.email_verified, Some(true));
    assert_eq!(attrs.phone_number_verified, Some(true));

    // New values: not verified any more.
    let attrs = client
        .update_user(
            &u,
            &UpdateUserRequest::new()
                .email("new@example.com")
                .phone_number("+64270000402"),
        )
        .await
        .unwrap();
    assert_eq!(attrs.email_verified, Some(false));
    assert_eq!(attrs.phone_number_verified, Some(false));
    let user = client.get_user(&u).await.unwrap();
    assert!(!user.email_verified && !user.phone_number_verified);
    let listed = client
        .query_users(&QueryUsersRequest::new().email("new@example.com"))
        .await
        .unwrap();
    assert!(!listed.users[0].email_verified && !listed.users[0].phone_number_verified);

    // A change that says it is verified is taken at its word.
    let attrs = client
        .update_user(
            &u,
            &UpdateUserRequest::new()
                .email("third@example.com")
                .email_verified(true),
        )
        .await
        .unwrap();
    assert_eq!(attrs.email_verified, Some(true));
}

/// The seed era's enrolment (`oobChannel`, Python 0.1.1 / Node 1.x) is answered in the seed
/// era's shape.
#[tokio::test]
async fn seed_era_enrolment_gets_the_seed_era_shape() {
    let emu = Emulator::start().await.unwrap();
    let http = reqwest::Client::new();
    let secret = emu.secret();
    let enrol = |user: &'static str, body: &'static str| {
        http.post(format!("{}/users/{user}/authenticators", emu.base_url()))
            .basic_auth(secret.expose_secret(), Some(""))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let r = enrol(
        "seed-shape",
        r#"{"oobChannel":"SMS","phoneNumber":"+64270000403"}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    let a = &body["authenticator"];
    assert_eq!(a["oobChannel"], "SMS");
    assert_eq!(a["authenticatorType"], "OOB");
    assert_eq!(a["isActive"], true);
    assert_eq!(a["isDefault"], true);
    assert_eq!(a["phoneNumber"], "+64270000403");
    assert_eq!(a["userId"], "seed-shape");
    assert!(a["userAuthenticatorId"].is_string() && a["createdAt"].is_string());
    assert!(a.get("verificationMethod").is_none(), "{a}");
    assert_eq!(body["recoveryCodes"].as_array().unwrap().len(), 10);
    // A second one is not the default; the current API's shape is unchanged.
    let r = enrol(
        "seed-shape",
        r#"{"oobChannel":"EMAIL_MAGIC_LINK","email":"seed@example.com"}"#,
    )
    .await
    .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(body["authenticator"]["isDefault"], false);
    assert_eq!(body["authenticator"]["oobChannel"], "EMAIL_MAGIC_LINK");
    let r = enrol(
        "seed-shape",
        r#"{"verificationMethod":"SMS","phoneNumber":"+64270000404"}"#,
    )
    .await
    .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(body["authenticator"]["verificationMethod"], "SMS");
    assert!(body["authenticator"].get("oobChannel").is_none());
}

/// Every error body carries `message` (the seed-era Python SDK reads `body["message"]` and
/// raises `KeyError` without it), next to `error`, `errorCode` and `errorDescription`.
#[tokio::test]
async fn every_error_body_carries_message() {
    let emu = Emulator::start().await.unwrap();
    let http = reqwest::Client::new();
    let key = emu.secret().expose_secret().to_owned();
    let base = emu.base_url();
    let authed = |rb: reqwest::RequestBuilder| rb.basic_auth(&key, Some(""));
    let mut answers = vec![
        (
            "no key",
            http.get(format!("{base}/users/x")).send().await.unwrap(),
        ),
        (
            "wrong key",
            http.get(format!("{base}/users/x"))
                .basic_auth("sk_wrong", Some(""))
                .send()
                .await
                .unwrap(),
        ),
        (
            "not JSON",
            authed(http.patch(format!("{base}/users/x")))
                .body("not json")
                .send()
                .await
                .unwrap(),
        ),
        (
            "unknown route",
            authed(http.get(format!("{base}/nothing")))
                .send()
                .await
                .unwrap(),
        ),
        (
            "bad action code",
            authed(http.post(format!("{base}/users/x/actions/bad%20code")))
                .send()
                .await
                .unwrap(),
        ),
        (
            "unknown action",
            authed(http.get(format!("{base}/users/x/actions/signIn/nope")))
                .send()
                .await
                .unwrap(),
        ),
        (
            "missing field",
            authed(http.post(format!("{base}/verify")))
                .body("{}")
                .send()
                .await
                .unwrap(),
        ),
        (
            "expired session",
            authed(http.post(format!("{base}/sessions/validate")))
                .body(r#"{"accessToken":"ast_nope"}"#)
                .send()
                .await
                .unwrap(),
        ),
    ];
    for (status, retry_after) in [(429, Some(3)), (503, None), (403, None)] {
        emu.inject(status, retry_after).unwrap();
        let r = authed(http.get(format!("{base}/users/x")))
            .send()
            .await
            .unwrap();
        answers.push(("injected fault", r));
    }
    let mut statuses = Vec::new();
    let mut bodies = Vec::new();
    for (what, r) in answers {
        let status = r.status().as_u16();
        assert!(status >= 400, "{what}: {status}");
        assert_eq!(r.headers()["content-type"], "application/json", "{what}");
        let body: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        bodies.push((what, body));
        statuses.push(status);
    }
    assert_eq!(
        statuses,
        [401, 401, 400, 404, 400, 404, 400, 401, 429, 503, 403]
    );
    for (what, body) in bodies {
        for field in ["message", "error", "errorCode", "errorDescription"] {
            assert!(
                body[field].as_str().is_some_and(|s| !s.is_empty()),
                "{what}: no `{field}` in {body}"
            );
        }
    }
}

/// Writes `request` to the emulator over a raw TCP connection and reads the answer (headers
/// and a JSON body), giving up after 10 s.
async fn raw_exchange(emu: &Emulator, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(emu.local_addr())
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&chunk[..n]);
            if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer within the read timeout");
    String::from_utf8_lossy(&answer).into_owned()
}

/// A body shorter than its `Content-Length` (Python 4.x computes the length before dropping
/// `None` fields) gets a prompt 400 — the connection is neither held open nor dropped — and
/// the emulator keeps serving.
#[tokio::test]
async fn a_body_shorter_than_its_content_length_is_answered_400_promptly() {
    let emu = Emulator::start().await.unwrap();
    let auth = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:", emu.secret().expose_secret()),
    );
    let body = r#"{"token": "tok", "userId": "u1"}"#;
    let request = format!(
        "POST /v1/validate HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        emu.local_addr(),
        body.len() + 20
    );
    let started = std::time::Instant::now();
    let text = raw_exchange(&emu, &request).await;
    let elapsed = started.elapsed();
    // auth-core's server answers it, before the model sees anything.
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("\"message\""), "{text}");
    let limit = auth_core::emulator::BODY_READ_TIMEOUT;
    assert!(elapsed >= limit / 2 && elapsed < limit * 3, "{elapsed:?}");
    // Declared larger than the server reads: refused, not held open either.
    let too_large = raw_exchange(
        &emu,
        &format!(
            "POST /v1/validate HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            auth_core::emulator::MAX_REQUEST_BYTES + 1
        ),
    )
    .await;
    assert!(
        too_large.starts_with("HTTP/1.1 413") || too_large.starts_with("HTTP/1.1 400"),
        "{too_large}"
    );
    // Still serving; the model logged neither (it never saw them).
    let client = emu.client().unwrap();
    assert!(!client.get_user(&uid("after")).await.unwrap().is_enrolled);
    let log = emu.received();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].path, "/v1/users/after");
    assert_eq!(log[0].status, 200);
}

/// What the emulator keeps per request is bounded: the request log is a ring buffer, and
/// settled actions, spent tokens, finished OTP challenges and undelivered webhooks beyond the
/// retention limit are forgotten (expired ones first); pending actions always stay.
#[tokio::test]
async fn what_the_emulator_keeps_is_bounded() {
    let (emu, clock) = emulator_on_fake_clock().await;
    emu.set_retention(8, 5);
    emu.add_rule(Rule::new("c", RuleOutcome::Challenge).for_action("withdraw"));
    let client = emu.client().unwrap();
    let u = uid("bounded");
    client
        .enroll_verified_authenticator(&u, &EnrollVerifiedAuthenticatorRequest::sms("+64270000405"))
        .await
        .unwrap();
    let mut pending = Vec::new();
    for _ in 0..3 {
        let t = client
            .track(&u, &code("withdraw"), TrackRequest::new())
            .await
            .unwrap();
        assert_eq!(t.state, ActionState::ChallengeRequired);
        pending.push(t.idempotency_key);
    }
    let mut settled = Vec::new();
    for _ in 0..40 {
        settled.push(
            client
                .track(&u, &code("signIn"), TrackRequest::new())
                .await
                .unwrap()
                .idempotency_key,
        );
    }
    for i in 0..12 {
        client
            .challenge(&ChallengeRequest::sms(
                code("signIn"),
                format!("+642700005{i:02}"),
            ))
            .await
            .unwrap();
    }
    let stats = emu.stats();
    assert_eq!(stats.pending_actions, 3, "{stats:?}");
    assert_eq!(stats.actions, 3 + 5, "{stats:?}");
    assert_eq!(stats.tokens, 5, "{stats:?}");
    assert_eq!(stats.logged_requests, 8, "{stats:?}");
    assert_eq!(stats.pending_webhooks, 5, "{stats:?}");
    // Unclaimed OTP challenges are pending until they expire, then forgotten.
    assert_eq!(stats.challenges, 12, "{stats:?}");
    clock.advance(std::time::Duration::from_secs(601));
    client.get_user(&u).await.unwrap();
    let stats = emu.stats();
    assert_eq!(stats.challenges, 5, "{stats:?}");
    assert_eq!(stats.tokens, 0, "expired tokens go first: {stats:?}");
    // The pending actions and the newest settled ones are still there; the oldest are not.
    for key in &pending {
        client.get_action(&u, &code("withdraw"), key).await.unwrap();
    }
    client
        .get_action(&u, &code("signIn"), settled.last().unwrap())
        .await
        .unwrap();
    let err = client
        .get_action(&u, &code("signIn"), &settled[0])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    // The log holds the last 8 requests, oldest first, without queries or bodies.
    let log = emu.received();
    assert_eq!(log.len(), 8);
    assert_eq!(log.last().unwrap().status, 404);
    assert!(log.iter().all(|r| !r.path.contains("token=ey")), "{log:?}");
    // The defaults are large but finite.
    assert_eq!(authsignal::emulator::DEFAULT_LOG_CAPACITY, 1000);
    assert_eq!(authsignal::emulator::DEFAULT_SETTLED_CAPACITY, 1000);
}

/// An answer the server has not read yet is never lost to the retention limit: thousands of
/// step-ups approved at once stay readable until each is read once (or until
/// `UNREAD_ANSWER_TTL`); only read ones count against the limit.
#[tokio::test]
async fn an_answer_nobody_has_read_outlives_the_retention_limit() {
    let (emu, clock) = emulator_on_fake_clock().await;
    emu.set_retention(1000, 2);
    emu.add_rule(Rule::new("c", RuleOutcome::Challenge).for_action("withdraw"));
    let client = emu.client().unwrap();
    let u = uid("unread");
    client
        .enroll_verified_authenticator(&u, &EnrollVerifiedAuthenticatorRequest::sms("+64270000406"))
        .await
        .unwrap();
    let withdraw = code("withdraw");
    let mut keys = Vec::new();
    for _ in 0..6 {
        keys.push(
            client
                .track(&u, &withdraw, TrackRequest::new())
                .await
                .unwrap()
                .idempotency_key,
        );
    }
    for key in &keys {
        emu.complete_challenge(&u, &withdraw, key, VerificationMethod::Sms)
            .unwrap();
    }
    // Six settled, none read: a request that prunes forgets none of them.
    client.get_user(&u).await.unwrap();
    assert_eq!(emu.stats().actions, 6);
    for key in &keys[..4] {
        let a = client.get_action(&u, &withdraw, key).await.unwrap();
        assert_eq!(a.state, ActionState::ChallengeSucceeded);
    }
    // Four read: the oldest two read ones go, the two unread stay.
    client.get_user(&u).await.unwrap();
    assert_eq!(emu.stats().actions, 4);
    for key in &keys[4..] {
        client.get_action(&u, &withdraw, key).await.unwrap();
    }
    let err = client
        .get_action(&u, &withdraw, &keys[0])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    // An unread answer is kept only until its time to live.
    let late = client
        .track(&u, &withdraw, TrackRequest::new())
        .await
        .unwrap()
        .idempotency_key;
    emu.complete_challenge(&u, &withdraw, &late, VerificationMethod::Sms)
        .unwrap();
    emu.set_retention(1000, 0);
    client.get_user(&u).await.unwrap();
    assert_eq!(emu.stats().actions, 1, "only the unread answer is left");
    clock.advance(Duration::from_secs(
        u64::try_from(authsignal::emulator::UNREAD_ANSWER_TTL).unwrap(),
    ));
    client.get_user(&u).await.unwrap();
    assert_eq!(emu.stats().actions, 0, "past its time to live");
    // Unread answers are bounded too: never more than the pending limit.
    emu.set_pending_limit(2);
    let mut unread = Vec::new();
    for _ in 0..4 {
        let key = client
            .track(&u, &withdraw, TrackRequest::new())
            .await
            .unwrap()
            .idempotency_key;
        emu.complete_challenge(&u, &withdraw, &key, VerificationMethod::Sms)
            .unwrap();
        unread.push(key);
    }
    client.get_user(&u).await.unwrap();
    assert_eq!(emu.stats().actions, 2, "the two newest unread answers");
    client.get_action(&u, &withdraw, &unread[3]).await.unwrap();
}
