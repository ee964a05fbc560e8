//! Webhooks delivered by the server itself to the configured URL after requests and control
//! commands: Authsignal's, signed as Authsignal signs them, and LaunchKey's authorization
//! webhooks, each verified by our own client's verifier.

use std::time::{Duration, Instant};

use authsignal::webhook::{EventType, WebhookEvent, WebhookVerifier};
use authsignal::{ActionCode, SecretKey, TrackRequest, UserId, ValidateChallengeRequest};
use oob_auth_emulator::{Options, Provider};
use serde_json::{Value, json};

use crate::common::{
    Received, Receiver, add_user, authsignal_client, challenge_withdrawals, get, post, start,
    unique,
};

fn options(settings: Value) -> Options {
    let mut options = Options::ephemeral();
    options.only = vec![Provider::Authsignal];
    options.provider_mut(Provider::Authsignal).settings = settings;
    options
}

/// The events of a received webhook, its signature checked with `verifier`.
fn events(verifier: &WebhookVerifier, r: &Received) -> Vec<WebhookEvent> {
    let header = r.headers.get("x-signature-v2").map(|v| v.to_str().unwrap());
    verifier
        .verify(&r.body, header)
        .unwrap_or_else(|e| panic!("the webhook verifies: {e}"))
        .events()
        .to_vec()
}

/// Whether `r` carries an `authenticator.created` event for `user` (signature unchecked).
fn enrols(r: &Received, user: &str) -> bool {
    let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    body["type"] == "authenticator.created" && body["data"]["userId"] == user
}

#[tokio::test(flavor = "multi_thread")]
async fn authsignal_webhooks_are_posted_signed_after_a_control_api_approval() {
    let first = Receiver::start(200).await;
    let hooks = format!("{}/authsignal/hooks", first.base);
    let server = start(options(json!({ "webhook_url": hooks }))).await;
    let control = server.control_url();
    let sig = &server.info()["providers"]["authsignal"];
    assert_eq!(sig["webhook_url"].as_str(), Some(hooks.as_str()));
    let secret = sig["secret_key"].as_str().unwrap().to_owned();
    let client = authsignal_client(server.info());

    // The back office enrols the user (an SMS authenticator) and asks for a challenge; the
    // user approves it on the phone, through the control API.
    let user = unique("wes");
    add_user(control, "authsignal", &user).await;
    challenge_withdrawals(control).await;
    let (user_id, action) = (
        UserId::new(user.as_str()).unwrap(),
        ActionCode::new("withdraw").unwrap(),
    );
    let decision = client
        .track(&user_id, &action, TrackRequest::new())
        .await
        .unwrap();
    let key = decision.idempotency_key.as_str().to_owned();
    let (status, done) = post(
        &format!("{control}/authsignal/step-ups/{key}/approve"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{done}");
    let token = authsignal::ChallengeToken::new(done["token"].as_str().unwrap());
    let valid = client
        .validate_challenge(&ValidateChallengeRequest::new(token, user_id, action))
        .await
        .unwrap();
    assert!(valid.is_valid);

    // The enrolment's event reached the webhook URL, signed with the tenant's secret key.
    let verifier = WebhookVerifier::new(SecretKey::new(secret.as_str()));
    let hook = first.next_matching(|r| enrols(r, &user)).await;
    assert_eq!(hook.path, "/authsignal/hooks");
    let got = events(&verifier, &hook);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].event_type, EventType::AuthenticatorCreated);
    assert_eq!(got[0].data["userId"].as_str(), Some(user.as_str()));
    assert_eq!(
        got[0].tenant_id.as_deref(),
        sig["tenant_id"].as_str(),
        "the printed tenant"
    );
    let mut tampered = hook.body.clone();
    tampered.push(b' ');
    let header = hook
        .headers
        .get("x-signature-v2")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(verifier.verify(&tampered, Some(header)).is_err());
    let other = WebhookVerifier::new(SecretKey::new("sk_not_the_tenants"));
    assert!(other.verify(&hook.body, Some(header)).is_err());

    // A new secret (two signatures while both are valid) and a new URL, both set through the
    // control API: the next event goes to the new URL and verifies with either secret.
    let (status, rotated) = post(&format!("{control}/authsignal/rotate-keys"), None).await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["webhook_secret"].as_str().unwrap();
    let second = Receiver::start(202).await;
    let moved = format!("{}/elsewhere", second.base);
    let (status, body) = post(
        &format!("{control}/authsignal/control"),
        Some(json!({"command": "provider", "body": {"webhook_url": moved}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let next_user = unique("wen");
    add_user(control, "authsignal", &next_user).await;
    let hook = second.next_matching(|r| enrols(r, &next_user)).await;
    let header = hook
        .headers
        .get("x-signature-v2")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(header.matches("v2=").count(), 2, "{header}");
    events(&verifier, &hook);
    events(&WebhookVerifier::new(SecretKey::new(new_secret)), &hook);
    assert!(
        first.drain().await.iter().all(|r| !enrols(r, &next_user)),
        "the old URL gets nothing more"
    );

    // The record: where each went and how it was answered; never bodies or signatures.
    let (status, record) = get(&format!("{control}/authsignal/deliveries")).await;
    assert_eq!(status, 200);
    let recent = record["recent"].as_array().unwrap();
    assert!(
        recent
            .iter()
            .any(|d| d["url"] == hooks.as_str() && d["status"] == 200),
        "{record}"
    );
    assert!(
        recent
            .iter()
            .any(|d| d["url"] == moved.as_str() && d["status"] == 202),
        "{record}"
    );
    assert!(!record.to_string().contains("v2="));
}

#[tokio::test(flavor = "multi_thread")]
async fn authsignal_events_wait_for_a_webhook_url_and_a_flush_answers_their_statuses() {
    let receiver = Receiver::start(200).await;
    let server = start(options(Value::Null)).await;
    let control = server.control_url();
    let command = |body: Value| {
        let url = format!("{control}/authsignal/control");
        async move { post(&url, Some(json!({"command": "provider", "body": body}))).await }
    };
    // No URL yet: the event stays with the model.
    let user = unique("wai");
    add_user(control, "authsignal", &user).await;
    let (_, record) = get(&format!("{control}/authsignal/deliveries")).await;
    assert_eq!(record["recent"], json!([]), "{record}");

    // Delivery off, then a URL: still nothing goes until the flush, which answers statuses.
    command(json!({"auto_deliver": false})).await;
    let url = format!("{}/hooks", receiver.base);
    let (status, _) = command(json!({"webhook_url": url})).await;
    assert_eq!(status, 200);
    let (_, record) = get(&format!("{control}/authsignal/deliveries")).await;
    assert_eq!(record["recent"], json!([]), "{record}");
    let (status, flushed) = command(json!({"deliver_webhooks": true})).await;
    assert_eq!(status, 200, "{flushed}");
    assert_eq!(flushed["delivered"], json!([200]), "{flushed}");
    assert_eq!(flushed["failed"], json!([]));
    let hook = receiver.next().await;
    assert!(enrols(&hook, &user));
    // A second flush has nothing left to send.
    let (_, flushed) = command(json!({"deliver_webhooks": true})).await;
    assert_eq!(flushed["delivered"], json!([]), "{flushed}");
    let (status, body) = command(json!({"auto_deliver": "yes"})).await;
    assert_eq!(status, 400, "{body}");
}

/// The delivery record's attempts of the deliveries to `path`, once there are `n` (fails after
/// 20 s): (attempt, status, at).
async fn attempts(control: &str, path: &str, n: usize) -> Vec<(u64, u64, f64)> {
    for _ in 0..200 {
        let (status, record) = get(&format!("{control}/authsignal/deliveries")).await;
        assert_eq!(status, 200, "{record}");
        let mine: Vec<(u64, u64, f64)> = record["recent"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["url"].as_str().is_some_and(|u| u.ends_with(path)))
            .map(|d| {
                (
                    d["attempt"].as_u64().unwrap(),
                    d["status"].as_u64().unwrap_or(0),
                    d["at"].as_f64().unwrap(),
                )
            })
            .collect();
        if mine.len() >= n {
            return mine;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {n} attempts recorded for {path}");
}

/// As the real tenant does, an authenticator event that fails is sent again, unchanged, after
/// the retry delay, until it is taken, and at most three times more.
#[tokio::test(flavor = "multi_thread")]
async fn authsignal_a_failed_authenticator_event_is_sent_again_until_it_is_taken() {
    let flaky = Receiver::answering(&[503, 500, 204]).await;
    let down = Receiver::answering(&[500]).await;
    let server = start(options(json!({
        "webhook_url": format!("{}/flaky", flaky.base),
        "webhook_retry_seconds": 1,
    })))
    .await;
    let control = server.control_url();
    let info = &server.info()["providers"]["authsignal"];
    assert_eq!(info["webhook_retry_seconds"], 1);
    let secret = info["secret_key"].as_str().unwrap();
    let verifier = WebhookVerifier::new(SecretKey::new(secret));

    let user = unique("ret");
    add_user(control, "authsignal", &user).await;
    let tries = [flaky.next().await, flaky.next().await, flaky.next().await];
    for t in &tries {
        assert_eq!(t.body, tries[0].body, "sent again unchanged");
        assert_eq!(
            t.headers.get("x-signature-v2"),
            tries[0].headers.get("x-signature-v2")
        );
    }
    let taken = events(&verifier, &tries[2]);
    assert_eq!(taken[0].event_type, EventType::AuthenticatorCreated);
    let record = attempts(control, "/flaky", 3).await;
    assert_eq!(
        record.iter().map(|(a, s, _)| (*a, *s)).collect::<Vec<_>>(),
        [(1, 503), (2, 500), (3, 204)]
    );
    for pair in record.windows(2) {
        assert!(
            pair[1].2 - pair[0].2 >= 0.9,
            "a retry came early: {record:?}"
        );
    }

    // An endpoint that is down gets the first attempt and three retries, then no more.
    let (status, body) = post(
        &format!("{control}/authsignal/control"),
        Some(
            json!({"command": "provider", "body": {"webhook_url": format!("{}/down", down.base)}}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    add_user(control, "authsignal", &unique("ret")).await;
    for _ in 0..4 {
        down.next().await;
    }
    let record = attempts(control, "/down", 4).await;
    assert_eq!(
        record.iter().map(|(a, s, _)| (*a, *s)).collect::<Vec<_>>(),
        [(1, 500), (2, 500), (3, 500), (4, 500)]
    );
    // Two retry delays later, nothing more came.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(down.drain().await.is_empty());
    assert!(flaky.drain().await.is_empty());
}

/// A flush answers for the first attempts it sent, and says how many retries still wait.
#[tokio::test(flavor = "multi_thread")]
async fn a_flush_says_how_many_retries_wait() {
    let down = Receiver::answering(&[500]).await;
    let server = start(options(json!({
        "webhook_url": format!("{}/down", down.base),
        "webhook_retry_seconds": 60,
    })))
    .await;
    let control = server.control_url();
    let command = |body: Value| {
        let url = format!("{control}/authsignal/control");
        async move { post(&url, Some(json!({"command": "provider", "body": body}))).await }
    };
    command(json!({"auto_deliver": false})).await;
    add_user(control, "authsignal", &unique("fl")).await;
    let (status, flushed) = command(json!({"deliver_webhooks": true})).await;
    assert_eq!(status, 200, "{flushed}");
    assert_eq!(flushed["delivered"], json!([500]), "{flushed}");
    assert_eq!(flushed["retrying"], 1, "{flushed}");
    let (_, record) = get(&format!("{control}/authsignal/deliveries")).await;
    assert_eq!(record["retrying"], 1, "{record}");
    assert_eq!(record["recent"][0]["attempt"], 1, "{record}");

    // A retry delay past what a signature stays valid for is refused at start.
    let err = oob_auth_emulator::Server::start(options(json!({"webhook_retry_seconds": 3600})))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("webhook_retry_seconds"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_endpoint_that_never_answers_holds_up_no_answer() {
    // Accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let server = start(options(json!({ "webhook_url": url }))).await;
    let control = server.control_url();
    for _ in 0..3 {
        let started = Instant::now();
        add_user(control, "authsignal", &unique("sly")).await;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "an answer waited for its webhook: {:?}",
            started.elapsed()
        );
    }
    let (status, _) = get(&format!("{control}/authsignal/pending")).await;
    assert_eq!(status, 200);
    held.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn providers_that_send_nothing_say_so() {
    let server = start(Options::ephemeral()).await;
    let control = server.control_url();
    for name in ["airlock-iam", "logonbox", "onegini-model"] {
        let (status, body) = get(&format!("{control}/{name}/deliveries")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (501, Some("unsupported")),
            "{name}"
        );
    }
    for name in ["launchkey", "authsignal", "ciba"] {
        let (status, body) = get(&format!("{control}/{name}/deliveries")).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body["auto"], true);
    }
    let (status, _) = get(&format!("{control}/nobody/deliveries")).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn launchkey_answers_given_on_the_phone_are_posted_to_the_services_webhook_url() {
    use launchkey::{AuthorizationRequest, WebhookPackage};
    let receiver = Receiver::start(200).await;
    let url = format!("{}/launchkey/webhook?tenant=7", receiver.base);
    let mut options = Options::ephemeral();
    options.only = vec![Provider::Launchkey];
    options.provider_mut(Provider::Launchkey).settings = json!({ "webhook_url": url });
    let server = start(options).await;
    let control = server.control_url();
    assert_eq!(
        server.info()["providers"]["launchkey"]["webhook_url"].as_str(),
        Some(url.as_str())
    );
    let client = crate::common::launchkey_client(server.info());
    let user = unique("lew");
    add_user(control, "launchkey", &user).await;

    for approve in [true, false] {
        let created = client
            .authorize(&AuthorizationRequest::new(user.as_str()).context("Pay 5 EUR?"))
            .await
            .unwrap();
        let action = if approve { "approve" } else { "deny" };
        let (status, body) = post(
            &format!(
                "{control}/launchkey/step-ups/{}/{action}",
                created.id.as_str()
            ),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let hook = receiver.next().await;
        assert_eq!(hook.path, "/launchkey/webhook");
        let mut request = http::Request::post(hook.path.as_str())
            .body(hook.body.clone())
            .unwrap();
        *request.headers_mut() = hook.headers.clone();
        let WebhookPackage::AuthorizationResponse(answer) =
            client.handle_webhook(&request).await.unwrap()
        else {
            panic!("an authorization response");
        };
        assert_eq!(answer.authorization_request_id, created.id.as_str());
        assert_eq!(answer.authorized, approve);
        // Signed for the path it was sent to: at another path it is refused.
        *request.uri_mut() = "/elsewhere".parse().unwrap();
        assert!(client.handle_webhook(&request).await.is_err());
    }

    // No URL: answers are not posted.
    let (status, body) = post(
        &format!("{control}/launchkey/control"),
        Some(json!({"command": "provider", "body": {"webhook_url": null}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let created = client
        .authorize(&AuthorizationRequest::new(user.as_str()))
        .await
        .unwrap();
    post(
        &format!(
            "{control}/launchkey/step-ups/{}/approve",
            created.id.as_str()
        ),
        None,
    )
    .await;
    let (_, flushed) = post(
        &format!("{control}/launchkey/control"),
        Some(json!({"command": "provider", "body": {"deliver_webhooks": true}})),
    )
    .await;
    assert_eq!(flushed["delivered"], json!([]), "{flushed}");
    assert!(receiver.drain().await.is_empty());
    let (status, body) = post(
        &format!("{control}/launchkey/control"),
        Some(json!({"command": "provider", "body": {"webhook_url": "/relative"}})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}
