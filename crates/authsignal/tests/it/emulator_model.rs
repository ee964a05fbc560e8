//! The emulator as a protocol model: auth-core's `Model` trait and control vocabulary, the
//! pending step-ups, the challenge page, and the model with no socket at all.

use std::sync::Arc;

use auth_core::emulator::{Control, ControlError, InProcess, LogEntry, PendingStepUp};
use auth_core::{StepUp, StepUpRequest};
use authsignal::emulator::{Emulator, Model, Rule, RuleOutcome};
use authsignal::*;
use serde_json::{Value, json};

use crate::common::{code, emulator_on_fake_clock, uid};

fn assert_model<M: auth_core::emulator::Model>() {}

/// `Send + Sync + 'static`, usable as `Arc<dyn auth_core::emulator::Model>`, built and driven
/// without a runtime, and answering through `InProcess` on a runtime with no I/O driver (no
/// sockets exist for it to use).
#[test]
fn the_model_needs_no_socket() {
    assert_model::<Model>();
    let model = Arc::new(Model::new());
    let as_dyn: Arc<dyn auth_core::emulator::Model> = model.clone();
    assert_eq!(as_dyn.provider(), "authsignal");
    model
        .control(Control::SetRules {
            rules: json!([{"id": "c", "outcome": "CHALLENGE", "action": "pay"}]),
        })
        .unwrap();
    model
        .control(Control::AddUser {
            user: "ada".into(),
            details: json!({"email": "ada@example.com"}),
        })
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let client = Client::builder(model.secret())
        .base_url("http://127.0.0.1:9/v1")
        .http_client(Arc::new(InProcess::new(as_dyn)))
        .build()
        .unwrap();
    let t = runtime
        .block_on(client.track(&uid("ada"), &code("pay"), TrackRequest::new()))
        .unwrap();
    assert_eq!(t.state, ActionState::ChallengeRequired);
    // The page link points where the request went.
    assert!(
        t.challenge_url()
            .unwrap()
            .starts_with("http://127.0.0.1:9/ui/challenge?token="),
        "{:?}",
        t.challenge_url()
    );
    assert_eq!(model.pending().len(), 1);
}

/// Every command of the vocabulary Authsignal has, through `control`.
#[tokio::test]
async fn the_control_vocabulary() {
    let (emu, clock) = emulator_on_fake_clock().await;
    let client = emu.client().unwrap();
    // set_rules (replaces), then add_user enrols a verified authenticator.
    let r = emu
        .control(Control::SetRules {
            rules: json!([
                {"id": "c", "outcome": "CHALLENGE", "action": "pay", "name": "Payments"},
                {"id": "r", "outcome": "REVIEW", "action": "payout"},
                {"id": "b", "outcome": "BLOCK", "when": {"ip_address": "198.51.100.1"}},
            ]),
        })
        .unwrap();
    assert_eq!(r["rules"], 3);
    assert!(matches!(
        emu.control(Control::SetRules {
            rules: json!({"id": "x"})
        }),
        Err(ControlError::Invalid(_))
    ));
    let r = emu
        .control(Control::AddUser {
            user: "bo".into(),
            details: json!({"phone_number": "+64270000777"}),
        })
        .unwrap();
    assert_eq!(r["authenticator"]["verificationMethod"], "SMS");
    assert!(client.get_user(&uid("bo")).await.unwrap().is_enrolled);
    assert!(matches!(
        emu.control(Control::AddUser {
            user: String::new(),
            details: Value::Null
        }),
        Err(ControlError::Invalid(_))
    ));

    // approve: the challenge passes; the answer carries the redirect token.
    let t = client
        .track(&uid("bo"), &code("pay"), TrackRequest::new())
        .await
        .unwrap();
    assert_eq!(t.state, ActionState::ChallengeRequired);
    let id = t.idempotency_key.to_string();
    let r = emu.control(Control::Approve { id: id.clone() }).unwrap();
    assert_eq!(r["state"], "CHALLENGE_SUCCEEDED");
    let v = client
        .validate_challenge(&ValidateChallengeRequest::new(
            ChallengeToken::new(r["token"].as_str().unwrap()),
            uid("bo"),
            code("pay"),
        ))
        .await
        .unwrap();
    assert!(v.is_valid);
    assert_eq!(v.verification_method, Some(VerificationMethod::Sms));
    assert!(matches!(
        emu.control(Control::Approve { id: id.clone() }),
        Err(ControlError::Conflict(_))
    ));
    assert!(matches!(
        emu.control(Control::Approve { id: "nope".into() }),
        Err(ControlError::NotFound { .. })
    ));

    // deny and fail: the challenge fails.
    for command in [
        |id| Control::Deny {
            id,
            fraud: true,
            reason: None,
        },
        |id| Control::Fail {
            id,
            reason: Some("no signal".into()),
        },
    ] {
        let t = client
            .track(&uid("bo"), &code("pay"), TrackRequest::new())
            .await
            .unwrap();
        let r = emu.control(command(t.idempotency_key.to_string())).unwrap();
        assert_eq!(r["state"], "CHALLENGE_FAILED");
        let a = client
            .get_action(&uid("bo"), &code("pay"), &t.idempotency_key)
            .await
            .unwrap();
        assert_eq!(a.state, ActionState::ChallengeFailed);
    }

    // approve a review: the operator's decision.
    let t = client
        .track(&uid("bo"), &code("payout"), TrackRequest::new())
        .await
        .unwrap();
    let r = emu
        .control(Control::Approve {
            id: t.idempotency_key.to_string(),
        })
        .unwrap();
    assert_eq!(r["state"], "REVIEW_SUCCEEDED");

    // expire: the tokens run out, the action stays challenged.
    let t = client
        .track(&uid("bo"), &code("pay"), TrackRequest::new())
        .await
        .unwrap();
    let r = emu
        .control(Control::Expire {
            id: t.idempotency_key.to_string(),
        })
        .unwrap();
    assert_eq!(r["expired_tokens"], 1);
    let v = client
        .validate_challenge(&ValidateChallengeRequest::new(
            t.token.clone().unwrap(),
            uid("bo"),
            code("pay"),
        ))
        .await
        .unwrap();
    assert!(
        !v.is_valid && v.error.as_deref() == Some("The token has expired."),
        "{v:?}"
    );
    let a = client
        .get_action(&uid("bo"), &code("pay"), &t.idempotency_key)
        .await
        .unwrap();
    assert_eq!(a.state, ActionState::ChallengeRequired);

    // advance_clock: the model's time moves (a fresh token expires 10 minutes later).
    let t = client
        .track(&uid("bo"), &code("pay"), TrackRequest::new())
        .await
        .unwrap();
    emu.control(Control::AdvanceClock { seconds: 601 }).unwrap();
    let v = client
        .validate_challenge(&ValidateChallengeRequest::new(
            t.token.clone().unwrap(),
            uid("bo"),
            code("pay"),
        ))
        .await
        .unwrap();
    assert_eq!(v.error.as_deref(), Some("The token has expired."));

    // inject_fault: auth-core's Fault, Authsignal's error body.
    emu.control(Control::InjectFault {
        fault: serde_json::from_value(
            json!({"status": 503, "path_contains": "/users/", "times": 2}),
        )
        .unwrap(),
    })
    .unwrap();
    let once = emu
        .client_builder()
        .retry(auth_core::RetryPolicy::none())
        .build()
        .unwrap();
    // `/v1/users` does not contain `/users/`: served.
    once.query_users(&QueryUsersRequest::new()).await.unwrap();
    for _ in 0..2 {
        let err = once.get_user(&uid("bo")).await.unwrap_err();
        assert!(
            matches!(&err, Error::Server(e) if e.status == 503 && e.code == "internal_error"),
            "{err:?}"
        );
    }
    assert!(once.get_user(&uid("bo")).await.is_ok(), "used up");

    // rotate_keys: webhooks are signed with a new secret as well.
    let r = emu.control(Control::RotateKeys).unwrap();
    let new_secret = SecretKey::new(r["webhook_secret"].as_str().unwrap());
    emu.control(Control::Provider {
        body: json!({"webhook_url": "https://hooks.example/authsignal"}),
    })
    .unwrap();
    let taken = emu
        .control(Control::Provider {
            body: json!({"take_webhooks": true}),
        })
        .unwrap();
    let hooks = taken.as_array().unwrap();
    assert_eq!(hooks.len(), 1, "{taken}");
    assert_eq!(hooks[0]["url"], "https://hooks.example/authsignal");
    let header = hooks[0]["headers"]["x-signature-v2"].as_str().unwrap();
    let verifier = authsignal::webhook::WebhookVerifier::new(new_secret)
        .clock(Arc::new(clock.clone()))
        .insecure_disable_timestamp_check();
    let body = hooks[0]["body"].as_str().unwrap();
    let payload = verifier.verify(body.as_bytes(), Some(header)).unwrap();
    assert_eq!(
        payload.events()[0].event_type,
        authsignal::webhook::EventType::AuthenticatorCreated
    );
    assert!(emu.pending_webhooks().is_empty(), "taken, not copied");

    // read_log: method, path (query values redacted), status; never bodies.
    let log: Vec<LogEntry> =
        serde_json::from_value(emu.control(Control::ReadLog { limit: Some(3) }).unwrap()).unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!(
        log.iter().map(|e| e.status).collect::<Vec<_>>(),
        [503, 503, 200]
    );
    assert!(
        log.iter()
            .all(|e| e.path == "/v1/users/bo" && e.method == "GET")
    );

    // list_pending is pending(); provider commands answer or explain themselves.
    let listed: Vec<PendingStepUp> =
        serde_json::from_value(emu.control(Control::ListPending).unwrap()).unwrap();
    assert_eq!(listed, emu.pending());
    let stats = emu
        .control(Control::Provider {
            body: json!({"stats": true}),
        })
        .unwrap();
    assert_eq!(stats["users"], 1);
    assert!(matches!(
        emu.control(Control::Provider {
            body: json!({"explode": true})
        }),
        Err(ControlError::Invalid(_))
    ));
}

/// What the user would see: auth-core's `StepUp::start` sends the title and the message,
/// the challenge page (and `pending()`) shows them.
#[tokio::test]
async fn pending_step_ups_carry_what_the_user_sees() {
    let emu = Emulator::builder()
        .rule(Rule::new("all", RuleOutcome::Challenge))
        .start()
        .await
        .unwrap();
    emu.control(Control::AddUser {
        user: "cy".into(),
        details: Value::Null,
    })
    .unwrap();
    let client = emu.client().unwrap();
    let started = client
        .start(StepUpRequest::new(
            "cy",
            "Confirm payment",
            "Pay 120 EUR to ACME?",
        ))
        .await
        .unwrap();
    let handle = started.handle();
    let pending = emu.pending();
    assert_eq!(pending.len(), 1);
    let p = &pending[0];
    assert_eq!(
        (p.provider.as_str(), p.id.as_str(), p.user.as_str()),
        ("authsignal", handle.id.as_str(), "cy")
    );
    assert_eq!(p.title, "Confirm payment");
    assert_eq!(p.message, "Pay 120 EUR to ACME?");
    assert_eq!(p.page.as_deref(), started.redirect_url());
    assert!(p.expires_at.is_some_and(|e| e > p.created_at));
    // A plain track shows the UI's own text.
    let t = client
        .track(&uid("cy"), &code("withdraw"), TrackRequest::new())
        .await
        .unwrap();
    let p = emu
        .pending()
        .into_iter()
        .find(|p| p.id == t.idempotency_key.as_str())
        .unwrap();
    assert_eq!(p.message, "Verify it's you to continue: withdraw");
    // Settled challenges are not pending.
    emu.control(Control::Approve {
        id: handle.id.clone(),
    })
    .unwrap();
    assert_eq!(emu.pending().len(), 1);
}

/// Sends `request` with a plain reqwest client that does not follow redirects.
async fn browse(request: reqwest::RequestBuilder) -> (u16, Option<String>, String) {
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    (status, location, r.text().await.unwrap())
}

/// The pre-built UI is a real HTML page on the emulator's port: the browser follows track's
/// `url`, the user approves (or denies), and the browser is sent back to the redirect URL
/// with a token that `/validate` accepts (or calls not valid).
#[tokio::test]
async fn the_challenge_page_is_a_real_page() {
    let emu = Emulator::builder()
        .rule(Rule::new("all", RuleOutcome::Challenge))
        .start()
        .await
        .unwrap();
    emu.control(Control::AddUser {
        user: "di".into(),
        details: json!({"email": "di@example.com"}),
    })
    .unwrap();
    let client = emu.client().unwrap();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (decision, valid, state) in [
        ("approve", true, ActionState::ChallengeSucceeded),
        ("deny", false, ActionState::ChallengeFailed),
    ] {
        let t = client
            .track(
                &uid("di"),
                &code("pay"),
                TrackRequest::new()
                    .redirect_url("https://shop.example/back?order=7")
                    .custom("title", "Pay <ACME>")
                    .custom("message", "Pay 120 EUR & more?"),
            )
            .await
            .unwrap();
        let url = t.challenge_url().unwrap().to_owned();
        let (status, _, page) = browse(browser.get(&url)).await;
        assert_eq!(status, 200);
        assert!(page.starts_with("<!doctype html>"), "{page}");
        assert!(page.contains("<h1>Pay &lt;ACME&gt;</h1>"), "{page}");
        assert!(page.contains("Pay 120 EUR &amp; more?"), "{page}");
        let token = url.split("token=").nth(1).unwrap();
        let form = format!("token={token}&decision={decision}");
        let (status, location, _) = browse(
            browser
                .post(format!("{}/ui/challenge", emu.call_connect_url()))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form),
        )
        .await;
        assert_eq!(status, 303, "{decision}");
        let back = url::Url::parse(&location.unwrap()).unwrap();
        assert_eq!(
            (back.host_str(), back.path()),
            (Some("shop.example"), "/back")
        );
        let q: std::collections::HashMap<_, _> = back.query_pairs().into_owned().collect();
        assert_eq!(q["order"], "7");
        let v = client
            .validate_challenge(&ValidateChallengeRequest::new(
                ChallengeToken::new(q["token"].as_str()),
                uid("di"),
                code("pay"),
            ))
            .await
            .unwrap();
        assert_eq!((v.is_valid, v.state), (valid, Some(state)), "{decision}");
        if valid {
            assert_eq!(v.verification_method, Some(VerificationMethod::EmailOtp));
        }
        // The page of a finished challenge says so.
        let (status, _, page) = browse(browser.get(&url)).await;
        assert_eq!(status, 200);
        assert!(page.contains("already finished"), "{page}");
    }
    // Unknown or expired tokens get an HTML answer, not a JSON error.
    let (status, _, page) = browse(browser.get(format!(
        "{}/ui/challenge?token=forged",
        emu.call_connect_url()
    )))
    .await;
    assert_eq!(status, 404);
    assert!(page.contains("not valid"), "{page}");
    // No redirect URL: the page itself tells the user.
    let t = client
        .track(&uid("di"), &code("pay"), TrackRequest::new())
        .await
        .unwrap();
    let token = t.token.unwrap();
    let (status, location, page) = browse(
        browser
            .post(format!("{}/ui/challenge", emu.call_connect_url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={}&decision=approve", token.expose_secret())),
    )
    .await;
    assert_eq!((status, location), (200, None));
    assert!(
        page.contains("data-state=\"CHALLENGE_SUCCEEDED\""),
        "{page}"
    );
}

/// Nothing grows per request beyond the limits: pending actions and users without
/// authenticators beyond the pending limit go, oldest first.
#[tokio::test]
async fn pending_records_and_bare_users_are_bounded_too() {
    let emu = Emulator::builder()
        .rule(Rule::new("all", RuleOutcome::Challenge).for_action("pay"))
        .pending_limit(4)
        .start()
        .await
        .unwrap();
    emu.control(Control::AddUser {
        user: "ed".into(),
        details: Value::Null,
    })
    .unwrap();
    let client = emu
        .client_builder()
        .http_client(emu.in_process())
        .build()
        .unwrap();
    let mut keys = Vec::new();
    for _ in 0..10 {
        let t = client
            .track(&uid("ed"), &code("pay"), TrackRequest::new())
            .await
            .unwrap();
        assert_eq!(t.state, ActionState::ChallengeRequired);
        keys.push(t.idempotency_key);
    }
    for i in 0..30 {
        client
            .track(
                &uid(&format!("drive-by-{i}")),
                &code("look"),
                TrackRequest::new(),
            )
            .await
            .unwrap();
    }
    let stats = emu.stats();
    assert_eq!(stats.pending_actions, 4, "{stats:?}");
    assert_eq!(
        stats.users,
        1 + 4,
        "the enrolled user and the 4 newest bare ones: {stats:?}"
    );
    assert_eq!(emu.pending().len(), 4);
    // The newest pending ones stayed, the oldest went.
    client
        .get_action(&uid("ed"), &code("pay"), keys.last().unwrap())
        .await
        .unwrap();
    assert!(matches!(
        client.get_action(&uid("ed"), &code("pay"), &keys[0]).await,
        Err(Error::NotFound(_))
    ));
    assert!(client.get_user(&uid("ed")).await.unwrap().is_enrolled);
}

/// The same model over the socket and in process: one state, two ways in.
#[tokio::test]
async fn the_socket_and_in_process_clients_share_one_model() {
    let emu = Emulator::start().await.unwrap();
    let over_socket = emu.client().unwrap();
    let in_process = emu
        .client_builder()
        .http_client(emu.in_process())
        .build()
        .unwrap();
    over_socket
        .update_user(
            &uid("fi"),
            &UpdateUserRequest::new().email("fi@example.com"),
        )
        .await
        .unwrap();
    let u = in_process.get_user(&uid("fi")).await.unwrap();
    assert_eq!(u.email.as_deref(), Some("fi@example.com"));
    let direct = emu
        .in_process()
        .execute(
            http::Request::get(format!("{}/users/fi", emu.base_url()))
                .header(
                    "authorization",
                    format!(
                        "Basic {}",
                        base64::Engine::encode(
                            &base64::engine::general_purpose::STANDARD,
                            format!("{}:", emu.secret().expose_secret())
                        )
                    ),
                )
                .body(Vec::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(direct.status(), 200);
    assert_eq!(direct.headers()["content-type"], "application/json");
    assert_eq!(emu.received().len(), 3);
}
