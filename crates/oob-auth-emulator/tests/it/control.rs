//! The control API: pending step-ups across providers, approve / deny / expire, users, rules,
//! faults, the clock, the request log, errors.

use launchkey::{AuthorizationPoll, AuthorizationRequest};
use oob_auth_emulator::{Options, Provider, UserSeed};
use serde_json::{Value, json};

use crate::common::{
    add_user, answer, get, json_of, launchkey_client, poll, post, start, start_default, unique,
    with_json,
};

#[tokio::test(flavor = "multi_thread")]
async fn every_provider_is_served_and_described() {
    let server = start_default().await;
    let info = server.info();
    let (status, served) = get(&format!("{}/providers", server.control_url())).await;
    assert_eq!(status, 200);
    assert_eq!(&served, info);
    for provider in Provider::ALL {
        let p = &info["providers"][provider.name()];
        let base = p["base_url"].as_str().unwrap();
        assert!(base.starts_with("http://127.0.0.1:"), "{provider}: {base}");
        assert!(p["api_url"].as_str().unwrap().starts_with(base));
        // Something answers HTTP there (any status: each speaks its own protocol).
        let r = crate::common::http().get(base).send().await.unwrap();
        assert!(r.status().as_u16() >= 200, "{provider}");
    }
    assert_eq!(server.providers(), Provider::ALL.to_vec());
    assert!(
        info["providers"]["authsignal"]["api_url"]
            .as_str()
            .unwrap()
            .ends_with("/v1")
    );
    assert!(
        info["providers"]["launchkey"]["service_private_key_pem"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
}

/// The shared commands get the same answer from every provider.
#[tokio::test(flavor = "multi_thread")]
async fn every_provider_answers_the_shared_commands_alike() {
    let server = start_default().await;
    let control = server.control_url();
    for provider in Provider::ALL {
        let command = |body: Value| {
            let url = format!("{control}/{}/control", provider.name());
            async move { post(&url, Some(body)).await }
        };
        let (status, body) = command(json!({"command": "inject_fault", "fault": {
            "status": 503, "path_contains": "/nothing-asks-this", "times": 2,
        }}))
        .await;
        assert_eq!(
            (status, &body),
            (200, &json!({"injected": 2})),
            "{provider}"
        );
        let (status, body) = command(json!({"command": "read_log", "limit": 1})).await;
        assert_eq!(status, 200, "{provider}: {body}");
        assert!(
            body.as_array().is_some_and(|a| a.len() <= 1),
            "{provider}: {body}"
        );
        let (status, body) = command(json!({"command": "list_pending"})).await;
        assert_eq!(status, 200, "{provider}: {body}");
        assert!(body.is_array(), "{provider}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_launchkey_step_up_waits_on_the_phone_until_approved() {
    let server = start_default().await;
    let control = server.control_url();
    let client = launchkey_client(server.info());
    let alice = unique("alice");
    add_user(control, "launchkey", &alice).await;

    let created = client
        .authorize(&AuthorizationRequest::new(alice.as_str()).context("Pay 10.00 EUR"))
        .await
        .unwrap();
    let id = created.id.as_str().to_owned();
    let (status, pending) = get(&format!("{control}/pending")).await;
    assert_eq!(status, 200);
    let mine: Vec<&Value> = pending
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["id"] == id)
        .collect();
    assert_eq!(mine.len(), 1, "{pending}");
    assert_eq!(mine[0]["provider"], "launchkey");
    assert_eq!(mine[0]["user"], alice.as_str());
    assert!(mine[0]["created_at"].as_f64().unwrap() > 1.6e9);
    assert!(matches!(
        client
            .get_authorization_response(&created.id)
            .await
            .unwrap(),
        AuthorizationPoll::Pending
    ));

    answer(control, "launchkey", &id, "approve").await;
    let answer = client
        .wait_for_response(&created.id, &poll())
        .await
        .unwrap();
    assert!(answer.authorized);
    let (_, pending) = get(&format!("{control}/launchkey/pending")).await;
    assert!(!pending.as_array().unwrap().iter().any(|p| p["id"] == id));
    // Approving twice is a conflict, not a second answer.
    let (status, body) = post(&format!("{control}/launchkey/step-ups/{id}/approve"), None).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "conflict");
}

#[tokio::test(flavor = "multi_thread")]
async fn deny_as_fraud_and_expire_reach_the_client() {
    let server = start_default().await;
    let control = server.control_url();
    let client = launchkey_client(server.info());

    let bob = unique("bob");
    add_user(control, "launchkey", &bob).await;
    let created = client
        .authorize(&AuthorizationRequest::new(bob.as_str()))
        .await
        .unwrap();
    let (status, _) = post(
        &format!("{control}/launchkey/step-ups/{}/deny", created.id.as_str()),
        Some(json!({"fraud": true})),
    )
    .await;
    assert_eq!(status, 200);
    let answer = client
        .wait_for_response(&created.id, &poll())
        .await
        .unwrap();
    assert!(!answer.authorized && answer.fraud);

    let carol = unique("carol");
    add_user(control, "launchkey", &carol).await;
    let created = client
        .authorize(&AuthorizationRequest::new(carol.as_str()))
        .await
        .unwrap();
    let (status, _) = post(
        &format!("{control}/launchkey/control"),
        Some(json!({"command": "expire", "id": created.id.as_str()})),
    )
    .await;
    assert_eq!(status, 200);
    assert!(matches!(
        client
            .get_authorization_response(&created.id)
            .await
            .unwrap(),
        AuthorizationPoll::TimedOut
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn control_errors_are_json_with_a_status_that_says_why() {
    let server = start_default().await;
    let c = server.control_url();
    let (status, body) = post(&format!("{c}/okta/users"), Some(json!({"user": "x"}))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("unknown_provider"))
    );
    assert!(
        body["message"].as_str().unwrap().contains("launchkey"),
        "{body}"
    );

    let unknown = uuid::Uuid::new_v4();
    let (status, body) = post(&format!("{c}/launchkey/step-ups/{unknown}/approve"), None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );

    let (status, body) = post(&format!("{c}/launchkey/step-ups/{unknown}/shrug"), None).await;
    assert_eq!(status, 404, "{body}");

    let r = crate::common::http()
        .post(format!("{c}/launchkey/control"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let (status, body) = post(
        &format!("{c}/launchkey/control"),
        Some(json!({"command": "explode"})),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid")),
        "{body}"
    );
    let (status, _) = post(&format!("{c}/launchkey/users"), Some(json!({}))).await;
    assert_eq!(status, 400);

    // Rules are Authsignal's: another provider says it does not have them.
    let (status, body) = post(&format!("{c}/onegini-model/rules"), Some(json!([]))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (501, Some("unsupported")),
        "{body}"
    );
    let (status, _) = get(&format!("{c}/no/such/route")).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_request_log_is_a_ring_of_the_configured_size() {
    let mut options = Options::ephemeral();
    options.log_capacity = 3;
    options.only = vec![Provider::Launchkey];
    let server = start(options).await;
    let base = server.api_url(Provider::Launchkey).unwrap().to_owned();
    for i in 0..10 {
        let r = crate::common::http()
            .get(format!("{base}/public/v3/public-key/k{i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "an unknown kid");
    }
    let (status, log) = get(&format!("{}/launchkey/log", server.control_url())).await;
    assert_eq!(status, 200);
    let paths: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/public/v3/public-key/k7",
            "/public/v3/public-key/k8",
            "/public/v3/public-key/k9"
        ]
    );
    assert_eq!(log[0]["method"], "GET");
    assert_eq!(log[0]["status"], 404);
    let (_, last) = get(&format!("{}/launchkey/log?limit=1", server.control_url())).await;
    assert_eq!(last.as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_clock_moves_for_every_provider() {
    let mut options = Options::ephemeral();
    options.only = vec![Provider::Launchkey, Provider::Authsignal];
    let server = start(options).await;
    let c = server.control_url();
    let base = server.api_url(Provider::Launchkey).unwrap().to_owned();
    let api_time = || async {
        let (_, ping) = get(&format!("{base}/public/v3/ping")).await;
        ping["api_time"].as_str().unwrap().to_owned()
    };
    let before = api_time().await;
    let (status, moved) = post(
        &format!("{c}/clock/advance"),
        Some(json!({"seconds": 86_400 * 400})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, now) = get(&format!("{c}/clock")).await;
    assert!((now["now"].as_f64().unwrap() - moved["now"].as_f64().unwrap()).abs() < 5.0);
    let after = api_time().await;
    // 400 days later: another year in the platform's own time stamp.
    assert_ne!(before[..4], after[..4], "{before} -> {after}");

    // advance_clock through one provider moves the same clock.
    let (status, _) = post(
        &format!("{c}/authsignal/control"),
        Some(json!({"command": "advance_clock", "seconds": 60})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, later) = get(&format!("{c}/clock")).await;
    assert!(later["now"].as_f64().unwrap() >= now["now"].as_f64().unwrap() + 60.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_injected_fault_answers_the_next_request_only() {
    let mut options = Options::ephemeral();
    options.only = vec![Provider::Authsignal];
    let server = start(options).await;
    let info = server.info();
    let api = info["providers"]["authsignal"]["api_url"].as_str().unwrap();
    let secret = info["providers"]["authsignal"]["secret_key"]
        .as_str()
        .unwrap();
    let (status, _) = post(
        &format!("{}/authsignal/faults", server.control_url()),
        Some(json!({"status": 503})),
    )
    .await;
    assert_eq!(status, 200);
    let get_user = || async {
        crate::common::http()
            .get(format!("{api}/users/ada"))
            .basic_auth(secret, Some(""))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(get_user().await, 503);
    assert_eq!(get_user().await, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn users_and_rules_from_the_options_are_there_at_start() {
    let mut options = Options::ephemeral();
    options.only = vec![Provider::Authsignal, Provider::Launchkey];
    options.users = vec!["everyone".into()];
    let a = options.provider_mut(Provider::Authsignal);
    a.users.push(UserSeed::new("ada"));
    a.rules = Some(json!([{"id": "r1", "action": "withdraw", "outcome": "CHALLENGE"}]));
    let server = start(options).await;
    let info = server.info();
    assert!(info["providers"]["launchkey"]["users"]["everyone"]["service_user_hash"].is_string());
    assert!(info["providers"]["authsignal"]["users"]["ada"].is_object());

    // The seeded rule and enrolled user make a track a challenge.
    let api = info["providers"]["authsignal"]["api_url"].as_str().unwrap();
    let secret = info["providers"]["authsignal"]["secret_key"]
        .as_str()
        .unwrap();
    let request = crate::common::http()
        .post(format!("{api}/users/ada/actions/withdraw"))
        .basic_auth(secret, Some(""));
    let track = json_of(with_json(request, &json!({})).send().await.unwrap()).await;
    assert_eq!(track["state"], "CHALLENGE_REQUIRED", "{track}");
    let (_, pending) = get(&format!(
        "{}/pending?provider=authsignal",
        server.control_url()
    ))
    .await;
    assert_eq!(pending[0]["id"], track["idempotencyKey"]);
    assert_eq!(pending[0]["user"], "ada");
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_lists_the_newest_with_a_limit_and_counts_them_all() {
    let mut options = Options::ephemeral();
    options.only = vec![Provider::Launchkey];
    let server = start(options).await;
    let client = launchkey_client(server.info());
    let mut ids = Vec::new();
    for _ in 0..3 {
        let user = unique("u");
        add_user(server.control_url(), "launchkey", &user).await;
        ids.push(
            client
                .authorize(&AuthorizationRequest::new(user.as_str()))
                .await
                .unwrap()
                .id,
        );
    }
    let r = crate::common::http()
        .get(format!("{}/pending?limit=2", server.control_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-total-count"], "3");
    let listed = json_of(r).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let (_, page) = get(&format!("{}/", server.control_url())).await;
    assert_eq!(page, Value::Null, "the page is HTML, not JSON");
    let html = crate::common::http()
        .get(format!("{}/", server.control_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<title>") && html.contains("/pending?limit=50"));
}
