//! Our own clients against the server: each provider's main flow, the user played through
//! the control API (LaunchKey's is in `control` and `binary`).

use std::sync::Arc;

use oob_auth_emulator::{Options, Provider};
use serde_json::json;

use crate::common::{answer, authsignal_client, challenge_withdrawals, get, post, start, unique};

fn only(providers: &[Provider]) -> Options {
    let mut options = Options::ephemeral();
    options.only = providers.to_vec();
    options
}

#[tokio::test(flavor = "multi_thread")]
async fn authsignal_a_challenge_approved_on_the_phone_validates() {
    use authsignal::{ActionCode, TrackRequest, UserId, ValidateChallengeRequest};
    let server = start(only(&[Provider::Authsignal])).await;
    let c = server.control_url();
    let client = authsignal_client(server.info());
    let user = unique("ada");
    let (status, _) = post(
        &format!("{c}/authsignal/users"),
        Some(json!({"user": user})),
    )
    .await;
    assert_eq!(status, 200);
    challenge_withdrawals(c).await;

    let (user_id, action) = (
        UserId::new(user.as_str()).unwrap(),
        ActionCode::new("withdraw").unwrap(),
    );
    let decision = client
        .track(&user_id, &action, TrackRequest::new())
        .await
        .unwrap();
    assert_eq!(decision.state.as_str(), "CHALLENGE_REQUIRED");
    let key = decision.idempotency_key.as_str().to_owned();
    let (_, pending) = get(&format!("{c}/pending")).await;
    assert!(
        pending
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == key.as_str()),
        "{pending}"
    );

    let done = answer(c, "authsignal", &key, "approve").await;
    let token = authsignal::ChallengeToken::new(done["token"].as_str().unwrap());
    let valid = client
        .validate_challenge(&ValidateChallengeRequest::new(token, user_id, action))
        .await
        .unwrap();
    assert!(valid.is_valid);
}

#[tokio::test(flavor = "multi_thread")]
async fn airlock_a_one_touch_push_approved_on_the_phone_finishes_the_flow() {
    use airlock_iam::Password;
    let server = start(only(&[Provider::AirlockIam])).await;
    let c = server.control_url();
    let client = airlock_iam::Client::builder(server.api_url(Provider::AirlockIam).unwrap())
        .build()
        .unwrap();
    let flow = client.flow();
    flow.check_password("alice", &Password::new("password1"))
        .await
        .unwrap();
    let (_, pending) = get(&format!("{c}/airlock-iam/pending")).await;
    assert!(
        pending
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["user"] == "alice"),
        "{pending}"
    );
    let id = pending[0]["id"].as_str().unwrap().to_owned();
    answer(c, "airlock-iam", &id, "approve").await;
    assert!(flow.wait().await.unwrap().is_done());
}

#[tokio::test(flavor = "multi_thread")]
async fn logonbox_over_tls_with_the_written_certificate() {
    let dir = std::env::temp_dir().join(unique("oob-emu-lbx"));
    let mut options = only(&[Provider::Logonbox]);
    options.tls = true;
    options.dir = Some(dir.clone());
    let server = start(options).await;
    let user = format!("{}@example.com", unique("lee"));
    // The control API is https too: a client that trusts the certificate.
    let pem = std::fs::read(server.info()["tls"]["certificate"].as_str().unwrap()).unwrap();
    let trusting = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let added = trusting
        .post(format!("{}/logonbox/users", server.control_url()))
        .body(json!({"user": user}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 200);

    let http =
        auth_core::ReqwestClient::with_client(trusting.clone(), &auth_core::HttpConfig::default());
    let client = logonbox::Client::builder(server.api_url(Provider::Logonbox).unwrap())
        .http_client(Arc::new(http))
        .build()
        .unwrap();
    // The user answers by hand (the default for users made without details): the signing
    // request waits on the phone until the control API approves it.
    let signing = tokio::spawn({
        let user = user.clone();
        async move { client.authenticate(user.as_str()).await }
    });
    let pending = loop {
        let r = trusting
            .get(format!("{}/logonbox/pending", server.control_url()))
            .send()
            .await
            .unwrap();
        let listed = crate::common::json_of(r).await;
        if let Some(p) = listed.as_array().and_then(|a| a.first()).cloned() {
            break p;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(pending["user"], user.as_str());
    assert!(
        pending["message"].as_str().unwrap().contains(user.as_str()),
        "{pending}"
    );
    let id = pending["id"].as_str().unwrap();
    let approved = trusting
        .post(format!(
            "{}/logonbox/step-ups/{id}/approve",
            server.control_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 200);
    let approval = signing.await.unwrap().unwrap();
    assert_eq!(approval.key().key_type(), logonbox::KeyType::Ed25519);
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}
