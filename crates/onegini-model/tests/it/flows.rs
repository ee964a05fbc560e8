//! More flows and the edges of each: storage across restarts, concurrency, failing server calls,
//! tampered redirects, the Token Server model's own checks (PKCE, single-use codes and DCR
//! registrations, client authentication), and the authenticator rules.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use async_trait::async_trait;
use auth_core::emulator::testing::unique;
use auth_core::{
    FakeClock, HttpClient, HttpConfig, HttpRequest, HttpResponse, ReqwestClient, TransportError,
    TransportErrorKind,
};
use onegini_model::emulator::{Consent, EmulatedBrowser};
use onegini_model::hazmat::pkce_s256;
use onegini_model::testing::{Prompt, ScriptedFingerprint, ScriptedUser};
use onegini_model::{
    Authenticator, BrowserRegistrationAnswer, BrowserRegistrationHandler, Client, ClientConfig,
    CreatePinHandler, Error, FileStorage, FingerprintScan, MemoryKeystore, MemoryStorage,
    PinAnswer, PinValidationError, Storage, UserProfile, wire,
};
use url::Url;

/// One reqwest client per test thread (building one loads the root certificates: slow); a
/// test's runtime lives on its thread, so the client's connections never outlive it.
fn http() -> ReqwestClient {
    thread_local! {
        static CLIENT: ReqwestClient = ReqwestClient::new(&HttpConfig::default()).unwrap();
    }
    CLIENT.with(Clone::clone)
}

async fn post(
    url: String,
    content_type: &str,
    body: String,
    basic: Option<(&str, &str)>,
) -> (u16, serde_json::Value) {
    let mut req = http::Request::builder()
        .method("POST")
        .uri(url)
        .header("content-type", content_type);
    if let Some((id, secret)) = basic {
        use base64::Engine;
        let b = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        req = req.header("authorization", format!("Basic {b}"));
    }
    let resp = http()
        .execute(req.body(body.into_bytes()).unwrap())
        .await
        .unwrap();
    let json = serde_json::from_slice(resp.body()).unwrap_or(serde_json::Value::Null);
    (resp.status().as_u16(), json)
}

/// The client credentials the client stored (read back from the storage's JSON).
fn credentials(storage: &MemoryStorage) -> (String, String) {
    let v: serde_json::Value = serde_json::from_str(&storage.raw().unwrap()).unwrap();
    (
        v["credentials"]["client_id"].as_str().unwrap().to_owned(),
        v["credentials"]["client_secret"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

#[tokio::test]
async fn profiles_survive_a_restart_with_file_storage() {
    let w = World::new().await;
    let dir = std::env::temp_dir().join(unique("onegini-model-flow"));
    std::fs::create_dir_all(&dir).unwrap();
    let storage = Arc::new(FileStorage::new(dir.join("device.json")));
    let first = w.client_on(storage.clone(), &w.device_clock, SIGNATURE, false);
    let profile = first
        .register_user(&[], &w.browser("alice"), &ScriptedUser::typing([PIN]))
        .await
        .unwrap();
    drop(first);
    // "The app restarts": a new client over the same file. Not authenticated (the access token
    // was only in memory), the profile is there, the PIN unlocks it.
    let second = w.client_on(storage.clone(), &w.device_clock, SIGNATURE, false);
    assert_eq!(second.authenticated_user_profile(), None);
    assert_eq!(second.user_profiles().unwrap(), [profile.clone()].into());
    second
        .authenticate_user(&profile, &ScriptedUser::typing([PIN]), None)
        .await
        .unwrap();
    let file = std::fs::read_to_string(storage.path()).unwrap();
    assert!(!file.contains(PIN));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Sends through reqwest and keeps every request and response body as text.
#[derive(Clone, Default)]
struct Tap {
    requests: Arc<Mutex<Vec<String>>>,
    responses: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl HttpClient for Tap {
    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.requests
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(request.body()).into_owned());
        let response = http().execute(request).await?;
        self.responses
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(response.body()).into_owned());
        Ok(response)
    }
}

fn device(
    w: &World,
    storage: Arc<FileStorage>,
    keystore: Arc<MemoryKeystore>,
    tap: &Tap,
) -> Client {
    let config = client_config(SIGNATURE)
        .pbkdf2_iterations(1_000)
        .fingerprint_sensor()
        .build()
        .unwrap();
    Client::builder(config, storage)
        .base_url(w.base_url())
        .keystore(keystore)
        .clock(Arc::new(w.device_clock.clone()))
        .http_client(Arc::new(tap.clone()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_fingerprint_token_is_sealed_under_a_key_the_storage_file_does_not_hold() {
    let w = World::new().await;
    let dir = std::env::temp_dir().join(unique("onegini-model-keystore"));
    std::fs::create_dir_all(&dir).unwrap();
    let file_a = Arc::new(FileStorage::new(dir.join("device-a.json")));
    let keystore_a = Arc::new(MemoryKeystore::new());
    let tap_a = Tap::default();
    let a = device(&w, file_a.clone(), keystore_a.clone(), &tap_a);
    let profile = a
        .register_user(&[], &w.browser("alice"), &ScriptedUser::typing([PIN]))
        .await
        .unwrap();
    a.register_fingerprint().await.unwrap();
    a.set_preferred_authenticator(Authenticator::Fingerprint)
        .unwrap();
    drop(a);
    // The app restarts on the same device (same file, same keystore): the finger unlocks it.
    let a = device(&w, file_a.clone(), keystore_a.clone(), &tap_a);
    let no_pin = ScriptedUser::default();
    a.authenticate_user(
        &profile,
        &no_pin,
        Some(&ScriptedFingerprint::scanning([FingerprintScan::Match])),
    )
    .await
    .unwrap();
    assert!(no_pin.prompts().is_empty());
    // Every refresh token the server issued (PIN and fingerprint, before and after rotation):
    // none is in the file, neither whole nor its secret part.
    let issued: Vec<String> = tap_a
        .responses
        .lock()
        .unwrap()
        .iter()
        .filter_map(|b| serde_json::from_str::<serde_json::Value>(b).ok())
        .filter_map(|v| v["refresh_token"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        issued.len(),
        3,
        "code exchange, fingerprint registration, rotation"
    );
    let file = std::fs::read_to_string(file_a.path()).unwrap();
    assert!(file.contains("\"fingerprint\""), "{file}");
    for token in &issued {
        let secret = token.split_once('.').unwrap().1;
        assert!(!file.contains(secret), "{token} is in the file");
    }

    // The file copied to another device, which has its own keystore: the fingerprint token
    // cannot be opened, so it is never sent; the authenticator is gone (9022), the profile
    // stays, and the PIN works.
    let file_b = Arc::new(FileStorage::new(dir.join("device-b.json")));
    std::fs::copy(file_a.path(), file_b.path()).unwrap();
    let tap_b = Tap::default();
    let b = device(&w, file_b.clone(), Arc::new(MemoryKeystore::new()), &tap_b);
    let err = b
        .authenticate_user(
            &profile,
            &ScriptedUser::default(),
            Some(&ScriptedFingerprint::scanning([FingerprintScan::Match])),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), 9022, "{err}");
    assert!(
        !tap_b
            .requests
            .lock()
            .unwrap()
            .iter()
            .any(|body| body.contains("grant_type=refresh_token")),
        "the copy never sent a refresh grant"
    );
    assert_eq!(b.user_profiles().unwrap(), [profile.clone()].into());
    assert_eq!(
        b.registered_authenticators(&profile).unwrap(),
        [Authenticator::Pin].into()
    );
    // The copy gave the token it could not use back to the server (by its public id), so the
    // server honours it nowhere; the first device learns it at its next fingerprint login.
    assert_eq!(w.server.active_refresh_tokens("alice"), (1, 0));
    let err = a
        .authenticate_user(
            &profile,
            &ScriptedUser::default(),
            Some(&ScriptedFingerprint::scanning([FingerprintScan::Match])),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), 9022, "{err}");
    a.authenticate_user(&profile, &ScriptedUser::typing([PIN]), None)
        .await
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A PIN handler that tries to start another flow while asked for a PIN.
struct Impatient {
    client: Mutex<Option<Client>>,
    seen: Mutex<Vec<u16>>,
}

#[async_trait]
impl CreatePinHandler for Impatient {
    async fn start_pin_creation(&self, _: &UserProfile, _: usize) -> PinAnswer {
        let client = self.client.lock().unwrap().clone().unwrap();
        let err = client.logout().await.unwrap_err();
        self.seen.lock().unwrap().push(err.code());
        PinAnswer::Accept(onegini_model::Pin::new(PIN))
    }
    async fn on_next_pin_creation_attempt(&self, _: &PinValidationError) -> PinAnswer {
        PinAnswer::Deny
    }
}

#[tokio::test]
async fn a_second_flow_while_one_runs_is_action_already_in_progress() {
    let w = World::new().await;
    let handler = Impatient {
        client: Mutex::new(Some(w.client.clone())),
        seen: Mutex::new(Vec::new()),
    };
    w.client
        .register_user(&[], &w.browser("alice"), &handler)
        .await
        .unwrap();
    assert_eq!(*handler.seen.lock().unwrap(), vec![9007]);
    // Once the flow is over, calls work again.
    w.client.logout().await.unwrap();
}

/// Sends through reqwest, except that revocation requests fail as if the network dropped.
struct NoRevocation(ReqwestClient);

#[async_trait]
impl HttpClient for NoRevocation {
    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        if request.uri().path().ends_with("/revoke") {
            return Err(TransportError::new(
                TransportErrorKind::Connect,
                "network down",
            ));
        }
        self.0.execute(request).await
    }
}

#[tokio::test]
async fn failed_revocations_still_log_out_and_deregister_locally() {
    let w = World::new().await;
    let config = client_config(SIGNATURE)
        .pbkdf2_iterations(1_000)
        .build()
        .unwrap();
    let client = Client::builder(config, Arc::new(MemoryStorage::new()))
        .base_url(w.base_url())
        .clock(Arc::new(w.device_clock.clone()))
        .http_client(Arc::new(NoRevocation(http())))
        .build()
        .unwrap();
    let profile = client
        .register_user(&[], &w.browser("alice"), &ScriptedUser::typing([PIN]))
        .await
        .unwrap();
    let err = client.logout().await.unwrap_err();
    assert_eq!(err.code(), 10009);
    match &err {
        Error::LocalLogout { source } => assert_eq!(source.code(), 9000, "{source}"),
        other => panic!("{other}"),
    }
    assert_eq!(client.authenticated_user_profile(), None);
    assert_eq!(
        w.server.active_access_tokens("alice"),
        1,
        "the server never heard of it"
    );

    let err = client.deregister_user(&profile).await.unwrap_err();
    assert_eq!(err.code(), 10003);
    assert!(client.user_profiles().unwrap().is_empty());
    assert!(client.client_id().unwrap().is_some());
}

/// Runs the emulated browser, then hands the app a tampered redirect.
struct Tamper {
    browser: EmulatedBrowser,
    change: fn(Url) -> Url,
}

#[async_trait]
impl BrowserRegistrationHandler for Tamper {
    async fn start_registration(&self, url: Url) -> BrowserRegistrationAnswer {
        let callback = self.browser.run(&url).await.unwrap();
        BrowserRegistrationAnswer::Callback((self.change)(callback))
    }
}

#[tokio::test]
async fn a_redirect_with_the_wrong_state_or_target_is_refused() {
    let w = World::new().await;
    let changes: [fn(Url) -> Url; 3] = [
        |mut u| {
            let code = u
                .query_pairs()
                .find(|(k, _)| k == "code")
                .unwrap()
                .1
                .into_owned();
            u.set_query(Some(&format!("code={code}&state=forged")));
            u
        },
        |mut u| {
            let code = u
                .query_pairs()
                .find(|(k, _)| k == "code")
                .unwrap()
                .1
                .into_owned();
            u.set_query(Some(&format!("code={code}")));
            u
        },
        |u| {
            Url::parse(
                &u.as_str()
                    .replace("oneginiexample://loginsuccess", "evil://elsewhere"),
            )
            .unwrap()
        },
    ];
    for change in changes {
        let tamper = Tamper {
            browser: w.browser("alice"),
            change,
        };
        let err = w
            .client
            .register_user(&[], &tamper, &ScriptedUser::typing([PIN]))
            .await
            .unwrap_err();
        assert_eq!(err.code(), 10015, "{err}");
    }
    assert_eq!(w.server.active_refresh_tokens("alice"), (0, 0));
}

/// Runs the browser, then waits `delay` on the server's clock before handing the code over.
struct Slow {
    browser: EmulatedBrowser,
    clock: FakeClock,
    delay: Duration,
}

#[async_trait]
impl BrowserRegistrationHandler for Slow {
    async fn start_registration(&self, url: Url) -> BrowserRegistrationAnswer {
        let callback = self.browser.run(&url).await.unwrap();
        self.clock.advance(self.delay);
        BrowserRegistrationAnswer::Callback(callback)
    }
}

#[tokio::test]
async fn an_authorization_code_expires_after_the_grant_validity() {
    let w = World::new().await;
    let slow = Slow {
        browser: w.browser("alice"),
        clock: w.server_clock.clone(),
        delay: Duration::from_secs(31),
    };
    let err = w
        .client
        .register_user(&[], &slow, &ScriptedUser::typing([PIN]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), 10000, "{err}");
    let slow = Slow {
        browser: w.browser("alice"),
        clock: w.server_clock.clone(),
        delay: Duration::from_secs(29),
    };
    w.client
        .register_user(&[], &slow, &ScriptedUser::typing([PIN]))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unknown_scope_or_a_wrong_idp_password_fails_the_registration() {
    let w = World::new().await;
    let err = w
        .client
        .register_user(
            &["admin"],
            &w.browser("alice"),
            &ScriptedUser::typing([PIN]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), 10000, "{err}");

    let browser = w.browser_with("alice", "wrong", Consent::Allow);
    let err = w
        .client
        .register_user(&[], &browser, &ScriptedUser::typing([PIN]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), 9006);
    assert!(
        browser
            .trail()
            .iter()
            .any(|t| t.contains("refused the login"))
    );
    assert!(!format!("{browser:?}").contains("wrong"));
}

#[tokio::test]
async fn the_token_server_enforces_pkce_and_single_use_codes() {
    let w = World::new().await;
    w.client.pin_policy().await.unwrap(); // DCR only
    let (client_id, secret) = credentials(&w.storage);
    let verifier = "M25iVXpKU3puUjFaYWg3T1NDTDQtcW1ROUY5YXlwalNoc0hhakxifmZHag";
    let mut url = Url::parse(&format!(
        "{}{}",
        w.base_url().as_str(),
        wire::AUTHORIZE_PATH
    ))
    .unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("state", "s1")
        .append_pair("code_challenge", &pkce_s256(verifier))
        .append_pair("code_challenge_method", "S256");
    let callback = w.browser("alice").run(&url).await.unwrap();
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    assert!(
        callback
            .query_pairs()
            .any(|(k, v)| k == "state" && v == "s1")
    );
    let token_url = format!("{}{}", w.base_url().as_str(), wire::TOKEN_PATH);
    let exchange = |v: &str| {
        wire::form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", v),
        ])
    };
    let form = "application/x-www-form-urlencoded";
    // Wrong client secret: invalid_client.
    let (status, body) = post(
        token_url.clone(),
        form,
        exchange(verifier),
        Some((&client_id, "nope")),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // Wrong verifier: refused, and the code is spent.
    let (status, body) = post(
        token_url.clone(),
        form,
        exchange("wrong-verifier"),
        Some((&client_id, &secret)),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = post(
        token_url.clone(),
        form,
        exchange(verifier),
        Some((&client_id, &secret)),
    )
    .await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (400, Some("code already used"))
    );
    // Unsupported grant, form client authentication.
    let body = wire::form(&[
        ("grant_type", "password"),
        ("client_id", &client_id),
        ("client_secret", &secret),
    ]);
    let (status, json) = post(token_url.clone(), form, body, None).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    // Revoking an unknown token is fine (RFC 7009).
    let revoke = format!("{}/oauth/v1/revoke", w.base_url().as_str());
    let (status, _) = post(
        revoke,
        form,
        wire::form(&[("token", "unknown")]),
        Some((&client_id, &secret)),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn dcr_registrations_are_single_use_and_short_lived() {
    use onegini_model::hazmat::ocra::{OcraInputs, OcraSuite};
    let w = World::new().await;
    let dcr_url = format!("{}{}", w.base_url().as_str(), wire::DCR_PATH);
    let ask = serde_json::json!({
        "application_identifier": APP, "application_platform": PLATFORM, "application_version": VERSION
    })
    .to_string();
    let suite: OcraSuite = "OCRA-1:HOTP-SHA256-8:QH64-T1M".parse().unwrap();
    let answer = |challenge: &serde_json::Value, reg: &serde_json::Value, unix: i64| {
        let t = suite.timestamp().unwrap().counter_for_unix(unix).unwrap();
        let q = challenge.as_str().unwrap().to_owned();
        let r = suite
            .compute(SIGNATURE.as_bytes(), &OcraInputs::new(&q).timestamp(t))
            .unwrap();
        serde_json::json!({"registration_id": reg, "ocra_response": r}).to_string()
    };
    let json = "application/json";
    let (status, c) = post(dcr_url.clone(), json, ask.clone(), None).await;
    assert_eq!(status, 200);
    assert_eq!(c["challenge"].as_str().unwrap().len(), 64);
    let body = answer(&c["challenge"], &c["registration_id"], T0 as i64);
    let (status, creds) = post(dcr_url.clone(), json, body.clone(), None).await;
    assert_eq!(status, 200);
    assert_eq!(creds["client_id"].as_str().unwrap().len(), 64);
    // Replaying the same answer: the registration is spent.
    let (status, e) = post(dcr_url.clone(), json, body, None).await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_dcr")));
    // A registration older than five minutes is gone, even with a fresh, correct answer.
    let (_, c) = post(dcr_url.clone(), json, ask, None).await;
    w.server_clock.advance(Duration::from_secs(301));
    let body = answer(&c["challenge"], &c["registration_id"], T0 as i64 + 301);
    let (status, e) = post(dcr_url.clone(), json, body, None).await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_dcr")));
    // Garbage is a typed OAuth error, not a crash.
    let (status, e) = post(dcr_url, json, "{not json".into(), None).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn authenticator_rules() {
    let w = World::new().await;
    // A device without a fingerprint sensor.
    let storage = Arc::new(MemoryStorage::new());
    let plain = w.client_on(storage, &w.device_clock, SIGNATURE, false);
    let profile = plain
        .register_user(&[], &w.browser("alice"), &ScriptedUser::typing([PIN]))
        .await
        .unwrap();
    assert!(
        plain
            .not_registered_authenticators(&profile)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        plain.register_fingerprint().await.unwrap_err().code(),
        10006
    );
    assert_eq!(
        plain
            .deregister_authenticator(&profile, Authenticator::Pin)
            .await
            .unwrap_err()
            .code(),
        10008
    );
    assert_eq!(
        plain
            .deregister_authenticator(&profile, Authenticator::Fingerprint)
            .await
            .unwrap_err()
            .code(),
        10007
    );
    let sensor = ScriptedFingerprint::scanning([FingerprintScan::Match]);
    let err = plain
        .authenticate_user_with(
            &profile,
            Authenticator::Fingerprint,
            &ScriptedUser::default(),
            Some(&sensor),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), 10007);
    assert_eq!(
        plain
            .set_preferred_authenticator(Authenticator::Fingerprint)
            .unwrap_err()
            .code(),
        9010,
        "not authenticated any more after the failed attempt logged the user out"
    );
    // Not authenticated: no fingerprint registration.
    assert_eq!(
        w.client.register_fingerprint().await.unwrap_err().code(),
        9010
    );
}

#[tokio::test]
async fn fingerprint_lockout_cancel_and_deregistration() {
    let w = World::new().await;
    let (profile, _) = w.register("alice").await;
    w.client.register_fingerprint().await.unwrap();
    w.client
        .set_preferred_authenticator(Authenticator::Fingerprint)
        .unwrap();
    // Cancel.
    let sensor = ScriptedFingerprint::scanning([FingerprintScan::Canceled]);
    let err = w
        .client
        .authenticate_user(&profile, &ScriptedUser::default(), Some(&sensor))
        .await
        .unwrap_err();
    assert_eq!(err.code(), 9006);
    // Five wrong fingers: the OS locks out, fingerprint is revoked, the PIN is used.
    let sensor = ScriptedFingerprint::scanning([FingerprintScan::NoMatch; 5]);
    let pins = ScriptedUser::typing([PIN]);
    w.client
        .authenticate_user(&profile, &pins, Some(&sensor))
        .await
        .unwrap();
    assert_eq!(sensor.scans_requested(), 5);
    assert_eq!(w.server.active_refresh_tokens("alice"), (1, 0));
    assert_eq!(w.server.failed_pin_attempts("alice"), Some(0));
    // Register again, then deregister it explicitly: only the fingerprint token is revoked.
    w.client.register_fingerprint().await.unwrap();
    assert_eq!(w.server.active_refresh_tokens("alice"), (1, 1));
    w.client
        .deregister_authenticator(&profile, Authenticator::Fingerprint)
        .await
        .unwrap();
    assert_eq!(w.server.active_refresh_tokens("alice"), (1, 0));
    assert_eq!(w.client.authenticated_user_profile(), Some(profile.clone()));
    assert!(w.client.fetch_user_resource().await.is_ok());
}

#[tokio::test]
async fn a_full_user_revocation_is_9003_with_every_token_of_the_user_revoked() {
    let w = World::new().await;
    let (bob, _) = w.register("bob").await;
    let (profile, _) = w.register("alice").await;
    w.client.register_fingerprint().await.unwrap();
    assert_eq!(w.server.active_refresh_tokens("alice"), (1, 1));
    w.server.revoke_user_tokens("alice");
    let sensor = ScriptedFingerprint::scanning([FingerprintScan::Match]);
    let err = w
        .client
        .authenticate_user_with(
            &profile,
            Authenticator::Fingerprint,
            &ScriptedUser::default(),
            Some(&sensor),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), 9003);
    assert_eq!(err.removed_profile(), Some(&profile));
    assert_eq!(w.client.user_profiles().unwrap(), [bob.clone()].into());
    // Nothing of Alice's is left on the server; Bob's tokens are untouched.
    assert_eq!(w.server.active_refresh_tokens("alice"), (0, 0));
    assert_eq!(w.server.active_access_tokens("alice"), 0);
    assert_eq!(w.server.active_refresh_tokens("bob"), (1, 0));
    w.client
        .authenticate_user(&bob, &ScriptedUser::typing([PIN]), None)
        .await
        .unwrap();
}

/// Sends through reqwest; when armed, forwards the next token request and then loses the
/// answer (the connection drops after the server acted).
struct LoseTokenAnswer {
    http: ReqwestClient,
    armed: Arc<std::sync::atomic::AtomicBool>,
}

#[async_trait]
impl HttpClient for LoseTokenAnswer {
    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let token = request.uri().path() == wire::TOKEN_PATH;
        let response = self.http.execute(request).await?;
        if token && self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return Err(TransportError::new(
                TransportErrorKind::Other,
                "connection reset before the answer arrived",
            ));
        }
        Ok(response)
    }
}

#[tokio::test]
async fn a_lost_fingerprint_answer_costs_the_fingerprint_not_the_profile() {
    let w = World::new().await;
    let armed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let config = client_config(SIGNATURE)
        .pbkdf2_iterations(1_000)
        .fingerprint_sensor()
        .build()
        .unwrap();
    let client = Client::builder(config, Arc::new(MemoryStorage::new()))
        .base_url(w.base_url())
        .keystore(Arc::new(onegini_model::MemoryKeystore::new()))
        .clock(Arc::new(w.device_clock.clone()))
        .http_client(Arc::new(LoseTokenAnswer {
            http: http(),
            armed: armed.clone(),
        }))
        .build()
        .unwrap();
    let profile = client
        .register_user(&[], &w.browser("alice"), &ScriptedUser::typing([PIN]))
        .await
        .unwrap();
    client.register_fingerprint().await.unwrap();
    // The server rotates the fingerprint token, the answer never arrives: the client keeps
    // the old one.
    armed.store(true, std::sync::atomic::Ordering::SeqCst);
    let match_once = || ScriptedFingerprint::scanning([FingerprintScan::Match]);
    let err = client
        .authenticate_user_with(
            &profile,
            Authenticator::Fingerprint,
            &ScriptedUser::default(),
            Some(&match_once()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), 9001, "{err}");
    // The old token is no longer honoured: only the fingerprint authenticator goes.
    let err = client
        .authenticate_user_with(
            &profile,
            Authenticator::Fingerprint,
            &ScriptedUser::default(),
            Some(&match_once()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), 9022, "{err}");
    assert_eq!(client.user_profiles().unwrap(), [profile.clone()].into());
    assert_eq!(
        client.registered_authenticators(&profile).unwrap(),
        [Authenticator::Pin].into()
    );
    // The rotated fingerprint token nobody holds was revoked with it; the PIN token lives.
    assert_eq!(w.server.active_refresh_tokens("alice"), (1, 0));
    client
        .authenticate_user(&profile, &ScriptedUser::typing([PIN]), None)
        .await
        .unwrap();
}

#[tokio::test]
async fn denying_the_new_pin_in_change_pin_keeps_the_old_one() {
    let w = World::new().await;
    let (profile, _) = w.register("alice").await;
    let new = ScriptedUser::default();
    new.then_deny();
    let err = w
        .client
        .change_pin(&ScriptedUser::typing([PIN]), &new)
        .await
        .unwrap_err();
    assert_eq!(err.code(), 9006);
    w.client.logout().await.unwrap();
    let pins = ScriptedUser::typing([PIN]);
    w.client
        .authenticate_user(&profile, &pins, None)
        .await
        .unwrap();
    assert!(
        !pins
            .prompts()
            .iter()
            .any(|p| matches!(p, Prompt::WrongPin(_)))
    );
}

#[tokio::test]
async fn authenticating_an_unknown_profile_is_an_invalid_request() {
    let w = World::new().await;
    let err = w
        .client
        .authenticate_user(
            &UserProfile::new("NOPE00"),
            &ScriptedUser::typing([PIN]),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), 10015);
    assert_eq!(err.name(), "INVALID_REQUEST");
}

#[tokio::test]
async fn no_network_is_network_connectivity_problem_9000() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let config = client_config(SIGNATURE).build().unwrap();
    let client = Client::builder(config, Arc::new(MemoryStorage::new()))
        .base_url(auth_core::BaseUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap())
        .build()
        .unwrap();
    // A closed port: no connection can be made.
    let err = client.pin_policy().await.unwrap_err();
    assert_eq!(err.code(), 9000, "{err}");
    assert_eq!(err.name(), "NETWORK_CONNECTIVITY_PROBLEM");
    assert!(auth_core::Classify::is_retryable(&err));
    assert_eq!(
        auth_core::Classify::kind(&err),
        auth_core::ErrorKind::Transport
    );
    // `start` reports it too (the SDK's start error the app may ignore for offline use).
    let storage = Arc::new(MemoryStorage::new());
    let w = World::new().await;
    let online = w.client_on(storage.clone(), &w.device_clock, SIGNATURE, false);
    online
        .register_user(&[], &w.browser("alice"), &ScriptedUser::typing([PIN]))
        .await
        .unwrap();
    let config = client_config(SIGNATURE).build().unwrap();
    let offline = Client::builder(config, storage)
        .base_url(auth_core::BaseUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap())
        .build()
        .unwrap();
    let err = offline.start().await.unwrap_err();
    assert_eq!(err.code(), 9000, "{err}");
    assert_eq!(offline.user_profiles().unwrap().len(), 1, "nothing removed");
}

#[tokio::test]
async fn garbage_at_every_endpoint_is_a_client_error_never_a_crash() {
    let w = World::new().await;
    let (profile, _) = w.register("alice").await;
    let (client_id, secret) = credentials(&w.storage);
    let base = w.base_url().as_str();
    let form = "application/x-www-form-urlencoded";
    let bodies = [
        "",
        "{",
        "\u{0}",
        "a=b&&&=",
        "grant_type=refresh_token&refresh_token=...",
        "refresh_token=zz.zz&grant_type=refresh_token",
    ];
    for path in [
        wire::DCR_PATH,
        "/oauth/token",
        wire::TOKEN_PATH,
        "/oauth/revoke",
        wire::FINGERPRINT_PATH,
        "/idp/login",
        "/oauth/v1/consent",
        "/nowhere",
    ] {
        for body in bodies {
            for auth in [None, Some((client_id.as_str(), secret.as_str()))] {
                let (status, _) = post(format!("{base}{path}"), form, body.to_owned(), auth).await;
                assert!((200..500).contains(&status), "{path} {body:?} -> {status}");
            }
        }
    }
    for query in [
        "",
        "?client_id=x",
        "?session=nope",
        "?response_type=code&client_id=&redirect_uri=x",
    ] {
        for path in [
            wire::AUTHORIZE_PATH,
            "/idp/login",
            "/oauth/v1/consent",
            wire::USER_RESOURCE_PATH,
        ] {
            let req = http::Request::builder()
                .uri(format!("{base}{path}{query}"))
                .body(Vec::new())
                .unwrap();
            let status = http().execute(req).await.unwrap().status().as_u16();
            assert!((200..500).contains(&status), "{path}{query} -> {status}");
        }
    }
    // The server still works afterwards.
    w.client.logout().await.unwrap();
    w.client
        .authenticate_user(&profile, &ScriptedUser::typing([PIN]), None)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_dcr_suite_is_configurable_on_both_sides() {
    let mut app = app_config();
    app.dcr_suite = "OCRA-1:HOTP-SHA512-10:QH64-S016-T30S".parse().unwrap();
    // The client keeps the default suite: a configuration mismatch, reported as such.
    let w = World::with(app.clone(), 0).await;
    assert_eq!(w.client.pin_policy().await.unwrap_err().code(), 10001);
    // Session information is not part of the model's DCR inputs: that suite cannot be answered.
    let w = World::with(app, 0).await;
    let config = client_config(SIGNATURE)
        .dcr_suite("OCRA-1:HOTP-SHA512-10:QH64-S016-T30S")
        .build()
        .unwrap();
    let client = Client::builder(config, Arc::new(MemoryStorage::new()))
        .base_url(w.base_url())
        .clock(Arc::new(w.device_clock.clone()))
        .build()
        .unwrap();
    assert_eq!(client.pin_policy().await.unwrap_err().code(), 9008);

    // Another suite both sides agree on works, with its own time step (30 s: ±10 steps = ±5 min).
    let mut app = app_config();
    app.dcr_suite = "OCRA-1:HOTP-SHA1-10:QH64-T30S".parse().unwrap();
    for (offset, ok) in [(290, true), (-290, true), (330, false)] {
        let w = World::with(app.clone(), offset).await;
        let config = client_config(SIGNATURE)
            .dcr_suite("OCRA-1:HOTP-SHA1-10:QH64-T30S")
            .build()
            .unwrap();
        let client = Client::builder(config, Arc::new(MemoryStorage::new()))
            .base_url(w.base_url())
            .clock(Arc::new(w.device_clock.clone()))
            .build()
            .unwrap();
        assert_eq!(client.pin_policy().await.is_ok(), ok, "offset {offset}");
    }
    assert!(
        client_config(SIGNATURE)
            .dcr_suite("OCRA-1:HOTP-SHA1-10:QX64")
            .build()
            .is_err()
    );
}

#[tokio::test]
async fn broken_storage_is_data_storage_not_available() {
    let w = World::new().await;
    let storage = Arc::new(MemoryStorage::new());
    let client = w.client_on(storage.clone(), &w.device_clock, SIGNATURE, false);
    client.pin_policy().await.unwrap();
    let missing_dir = std::env::temp_dir()
        .join(unique("onegini-model-missing"))
        .join("nested")
        .join("device.json");
    let config = client_config(SIGNATURE).build().unwrap();
    let on_missing_dir = Client::builder(config.clone(), Arc::new(FileStorage::new(&missing_dir)))
        .base_url(w.base_url())
        .clock(Arc::new(w.device_clock.clone()))
        .build()
        .unwrap();
    let err = on_missing_dir.pin_policy().await.unwrap_err();
    assert_eq!(err.code(), 9024, "{err}");

    let corrupt = std::env::temp_dir().join(format!("{}.json", unique("onegini-model-corrupt")));
    std::fs::write(&corrupt, b"not json").unwrap();
    let err = Client::builder(config, Arc::new(FileStorage::new(&corrupt)))
        .base_url(w.base_url())
        .build()
        .unwrap_err();
    assert_eq!(err.code(), 9024);
    std::fs::remove_file(&corrupt).unwrap();
}

#[test]
fn the_client_and_its_futures_are_send_and_sync() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: T) {}
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let w = World::new().await;
        send_sync(&w.client);
        let pins = ScriptedUser::typing([PIN]);
        let browser = w.browser("alice");
        send(w.client.register_user(&[], &browser, &pins));
        send(
            w.client
                .authenticate_user(&UserProfile::new("X"), &pins, None),
        );
        send(w.client.logout());
        send(w.client.deregister_user(&UserProfile::new("X")));
        send(w.client.change_pin(&pins, &pins));
        send(w.client.register_fingerprint());
        // A whole registration on another task.
        let client = w.client.clone();
        let handle = tokio::spawn(async move {
            client
                .register_user(&[], &browser, &pins)
                .await
                .map(|p| p.profile_id().to_owned())
        });
        assert_eq!(handle.await.unwrap().unwrap().len(), 6);
    });
}

#[tokio::test]
async fn pkce_is_enforced_only_when_the_request_had_a_challenge() {
    let w = World::new().await;
    w.client.pin_policy().await.unwrap();
    let (client_id, secret) = credentials(&w.storage);
    let mut url = Url::parse(&format!("{}/oauth/authorize", w.base_url().as_str())).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", REDIRECT);
    let callback = w.browser("bob").run(&url).await.unwrap();
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let body = wire::form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("client_id", &client_id),
        ("client_secret", &secret),
    ]);
    let (status, tokens) = post(
        format!("{}/oauth/token", w.base_url().as_str()),
        "application/x-www-form-urlencoded",
        body,
        None,
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(
        tokens["scope"], "read",
        "empty scope means the default scopes"
    );
    // A plain-method challenge is refused before the login.
    let mut url = Url::parse(&format!("{}/oauth/authorize", w.base_url().as_str())).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("state", "s2")
        .append_pair("code_challenge", "abc")
        .append_pair("code_challenge_method", "plain");
    let callback = w.browser("bob").run(&url).await.unwrap();
    assert!(
        callback
            .query_pairs()
            .any(|(k, v)| k == "error" && v == "invalid_request")
    );
    assert!(
        callback
            .query_pairs()
            .any(|(k, v)| k == "state" && v == "s2")
    );
}

/// A Token Server that answers with whatever a test wants: for checking that the client turns
/// hostile or broken answers into typed errors, never a panic.
#[derive(Clone)]
struct Hostile {
    challenge: String,
    credentials: String,
    code_grant: (u16, String),
    refresh_grant: (u16, String),
}

impl Default for Hostile {
    fn default() -> Self {
        let tokens = format!(
            r#"{{"access_token":"at-1","token_type":"bearer","expires_in":900,"refresh_token":"0011223344556677.{}"}}"#,
            "ab".repeat(32)
        );
        Hostile {
            challenge: format!(
                r#"{{"registration_id":"r-1","challenge":"{}"}}"#,
                "5f".repeat(32)
            ),
            credentials: r#"{"client_id":"CID","client_secret":"cs","max_pin_failures":3,
                "pin_policy":{"pin_length":5,"sequences_allowed":false}}"#
                .into(),
            code_grant: (200, tokens.clone()),
            refresh_grant: (200, tokens),
        }
    }
}

impl Hostile {
    fn answer(&self, request: &HttpRequest) -> HttpResponse {
        let body = String::from_utf8_lossy(request.body());
        let raw = |status: u16, text: &str| respond(status, Some("application/json"), text);
        match request.uri().path() {
            wire::DCR_PATH if body.contains("registration_id") => raw(200, &self.credentials),
            wire::DCR_PATH => raw(200, &self.challenge),
            wire::TOKEN_PATH if body.contains("grant_type=refresh_token") => {
                raw(self.refresh_grant.0, &self.refresh_grant.1)
            }
            wire::TOKEN_PATH => raw(self.code_grant.0, &self.code_grant.1),
            _ => respond(200, None, Vec::new()),
        }
    }
}

/// Skips the IdP: answers with a code and the request's own `state`.
struct CodeBrowser;

#[async_trait]
impl BrowserRegistrationHandler for CodeBrowser {
    async fn start_registration(&self, url: Url) -> BrowserRegistrationAnswer {
        let state = url
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        BrowserRegistrationAnswer::Callback(
            Url::parse(&format!("{REDIRECT}?code=c-1&state={state}")).unwrap(),
        )
    }
}

async fn hostile_client(hostile: Hostile) -> (auth_core::emulator::Server, Client) {
    let (server, _) = StandIn::serve(move |request| hostile.answer(request)).await;
    let config = client_config(SIGNATURE)
        .pbkdf2_iterations(1_000)
        .build()
        .unwrap();
    let client = Client::builder(config, Arc::new(MemoryStorage::new()))
        .base_url(server.base_url())
        .clock(Arc::new(FakeClock::at_unix(T0)))
        .build()
        .unwrap();
    (server, client)
}

#[tokio::test]
async fn hostile_token_server_answers_are_typed_errors_never_a_panic() {
    let tokens_with = |refresh: &str, expires_in: &str| {
        (
            200,
            format!(
                r#"{{"access_token":"at-1","token_type":"bearer","expires_in":{expires_in},"refresh_token":"{refresh}"}}"#
            ),
        )
    };
    let good_rt = format!("0011223344556677.{}", "ab".repeat(32));
    let cases: Vec<(&str, Hostile, Option<u16>)> = vec![
        (
            "non-hex challenge",
            Hostile {
                challenge: r#"{"registration_id":"r-1","challenge":"zz"}"#.into(),
                ..Hostile::default()
            },
            Some(9008),
        ),
        (
            "oversized challenge",
            Hostile {
                challenge: format!(
                    r#"{{"registration_id":"r-1","challenge":"{}"}}"#,
                    "a".repeat(100_000)
                ),
                ..Hostile::default()
            },
            Some(9008),
        ),
        (
            "unusable PIN policy",
            Hostile {
                credentials: r#"{"client_id":"CID","client_secret":"cs","max_pin_failures":3,
                    "pin_policy":{"pin_length":100000,"sequences_allowed":false}}"#
                    .into(),
                ..Hostile::default()
            },
            Some(10001),
        ),
        (
            "credentials without a secret",
            Hostile {
                credentials: r#"{"client_id":"CID"}"#.into(),
                ..Hostile::default()
            },
            Some(10000),
        ),
        (
            "expires_in beyond the clock's range",
            Hostile {
                code_grant: tokens_with(&good_rt, "18446744073709551615"),
                ..Hostile::default()
            },
            None,
        ),
        (
            "negative expires_in",
            Hostile {
                code_grant: tokens_with(&good_rt, "-1"),
                ..Hostile::default()
            },
            Some(10000),
        ),
        (
            "refresh token without an id",
            Hostile {
                code_grant: tokens_with("no-dot-at-all", "900"),
                ..Hostile::default()
            },
            Some(10000),
        ),
        (
            "refresh token with a non-hex secret",
            Hostile {
                code_grant: tokens_with("id.zz", "900"),
                ..Hostile::default()
            },
            Some(10000),
        ),
        (
            "refresh token with a short secret",
            Hostile {
                code_grant: tokens_with(&format!("id.{}", "ab".repeat(31)), "900"),
                ..Hostile::default()
            },
            Some(10000),
        ),
        (
            "token endpoint answering text",
            Hostile {
                code_grant: (200, "<html>hello</html>".into()),
                ..Hostile::default()
            },
            Some(10000),
        ),
        (
            "token endpoint answering 500",
            Hostile {
                code_grant: (500, "{".into()),
                ..Hostile::default()
            },
            Some(10000),
        ),
        (
            "absurd wrong-PIN counter on the code grant",
            Hostile {
                code_grant: (
                    400,
                    r#"{"error":"invalid_grant","remaining_attempts":4294967295,"max_attempts":0}"#
                        .into(),
                ),
                ..Hostile::default()
            },
            Some(10000),
        ),
    ];
    for (name, hostile, expected) in cases {
        let (_server, client) = hostile_client(hostile).await;
        let result = client
            .register_user(&["read"], &CodeBrowser, &ScriptedUser::typing([PIN]))
            .await;
        match (expected, result) {
            (None, Ok(profile)) => {
                assert_eq!(client.authenticated_user_profile(), Some(profile), "{name}");
            }
            (Some(code), Err(e)) => assert_eq!(e.code(), code, "{name}: {e}"),
            (want, got) => panic!("{name}: expected {want:?}, got {got:?}"),
        }
    }

    // A wrong-PIN answer with an absurd counter: the user is asked again, nothing overflows.
    let (_server, client) = hostile_client(Hostile {
        refresh_grant: (
            400,
            r#"{"error":"invalid_grant","remaining_attempts":4294967295,"max_attempts":0}"#.into(),
        ),
        ..Hostile::default()
    })
    .await;
    let profile = client
        .register_user(&["read"], &CodeBrowser, &ScriptedUser::typing([PIN]))
        .await
        .unwrap();
    client.logout().await.unwrap();
    let pins = ScriptedUser::typing([PIN, PIN]);
    let err = client
        .authenticate_user(&profile, &pins, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), 9006, "the script ran out: denied");
    let wrong = pins
        .prompts()
        .iter()
        .filter(|p| matches!(p, Prompt::WrongPin(_)))
        .count();
    assert_eq!(wrong, 2);
}

#[tokio::test]
async fn the_emulated_browser_stays_on_the_token_server() {
    let w = World::new().await;
    let browser = w.browser("alice");
    // Another origin (scheme, host or port) is refused before any request is sent.
    let port = w.base_url().url().port().unwrap();
    for elsewhere in [
        "http://example.com/oauth/v1/authorize".to_owned(),
        format!(
            "http://127.0.0.1:{}/oauth/v1/authorize",
            port.wrapping_add(1)
        ),
        format!("https://127.0.0.1:{port}/oauth/v1/authorize"),
    ] {
        let err = browser
            .run(&Url::parse(&elsewhere).unwrap())
            .await
            .unwrap_err();
        assert!(
            matches!(err, onegini_model::emulator::BrowserError::Unexpected(_)),
            "{elsewhere}: {err}"
        );
    }
    assert!(browser.trail().iter().all(|t| t.starts_with("GET ")));
    assert!(w.server.received_bodies().is_empty());
}

#[tokio::test]
async fn logout_or_deregistration_against_a_deleted_client_reports_device_deregistered() {
    let w = World::new().await;
    w.register("alice").await;
    w.register("bob").await;
    w.server
        .delete_client(&w.client.client_id().unwrap().unwrap());
    // Not "LOCAL_LOGOUT": the server said the whole device registration is gone.
    let err = w.client.logout().await.unwrap_err();
    assert_eq!(err.code(), 9002, "{err}");
    assert!(w.client.user_profiles().unwrap().is_empty());
    assert_eq!(w.client.client_id().unwrap(), None);

    let w = World::new().await;
    let (alice2, _) = w.register("alice").await;
    let (bob, _) = w.register("bob").await;
    w.server
        .delete_client(&w.client.client_id().unwrap().unwrap());
    let err = w.client.deregister_user(&alice2).await.unwrap_err();
    assert_eq!(err.code(), 9002, "{err}");
    assert!(!w.client.is_user_registered(&bob).unwrap());
    assert_eq!(w.client.client_id().unwrap(), None);
}

#[tokio::test]
async fn the_token_server_model_keeps_a_bounded_record_of_requests() {
    use onegini_model::emulator::{LOG_CAPACITY, LOGGED_REQUEST_LIMIT};
    let w = World::new().await;
    let (profile, _) = w.register("alice").await;
    w.client.register_fingerprint().await.unwrap();
    // Many logins and fingerprint re-registrations: every rotated refresh token and every
    // replaced access token is dropped, a fingerprint leaves one retired entry at most.
    for _ in 0..40 {
        w.client
            .authenticate_user(&profile, &ScriptedUser::typing([PIN]), None)
            .await
            .unwrap();
        w.client
            .deregister_authenticator(&profile, Authenticator::Fingerprint)
            .await
            .unwrap();
        w.client.register_fingerprint().await.unwrap();
    }
    let c = w.server.record_counts();
    assert_eq!(
        (c.refresh_tokens, c.retired_fingerprints, c.access_tokens),
        (2, 1, 1),
        "{c:?}"
    );

    // A flood of DCR round 1 requests (a pending registration and an event each), login
    // sessions and unused codes.
    let base = w.base_url().as_str();
    let flood = LOG_CAPACITY + 100;
    for i in 0..flood {
        let body = serde_json::json!({
            "application_identifier": APP, "application_platform": PLATFORM,
            "application_version": VERSION, "device_name": format!("flood-{i}."),
        });
        let (status, _) = post(
            format!("{base}{}", wire::DCR_PATH),
            "application/json",
            body.to_string(),
            None,
        )
        .await;
        assert_eq!(status, 200);
    }
    let (client_id, _) = credentials(&w.storage);
    let authorize = Url::parse(&format!(
        "{base}/oauth/v1/authorize?response_type=code&client_id={client_id}&redirect_uri={REDIRECT}"
    ))
    .unwrap();
    for _ in 0..3 {
        let back = w.browser("alice").run(&authorize).await.unwrap();
        assert!(back.query_pairs().any(|(k, _)| k == "code"), "{back}");
    }
    for _ in 0..50 {
        let request = http::Request::get(authorize.as_str())
            .body(Vec::new())
            .unwrap();
        assert_eq!(http().execute(request).await.unwrap().status(), 302);
    }
    let (status, _) = post(
        format!("{base}{}", wire::TOKEN_PATH),
        "application/x-www-form-urlencoded",
        "x".repeat(100_000),
        None,
    )
    .await;
    assert_eq!(status, 401);

    let c = w.server.record_counts();
    assert_eq!(c.pending_dcr, flood);
    assert_eq!(c.login_sessions, 50);
    assert!(c.codes >= 3, "{c:?}");
    // The logs keep the newest entries only, each request cut to the limit.
    assert_eq!((c.events, c.requests), (LOG_CAPACITY, LOG_CAPACITY));
    assert_eq!(w.server.events().len(), LOG_CAPACITY);
    let requests = w.server.received_bodies();
    assert_eq!(requests.len(), LOG_CAPACITY);
    assert!(requests.iter().all(|r| r.len() <= LOGGED_REQUEST_LIMIT));
    assert!(requests.last().unwrap().starts_with("POST "));
    assert!(!requests.iter().any(|r| r.contains("flood-0.")));
    assert!(
        requests
            .iter()
            .any(|r| r.contains(&format!("flood-{}.", flood - 1)))
    );

    // Time passes: every pending DCR, session, code and access token is forgotten at the next
    // request; registration state (client, live refresh tokens) stays.
    w.server_clock.advance(Duration::from_secs(1000));
    let (status, _) = post(format!("{base}/nothing"), "text/plain", String::new(), None).await;
    assert_eq!(status, 404);
    let c = w.server.record_counts();
    assert_eq!(
        (c.pending_dcr, c.login_sessions, c.codes, c.access_tokens),
        (0, 0, 0, 0),
        "{c:?}"
    );
    assert_eq!(
        (c.clients, c.refresh_tokens, c.retired_fingerprints),
        (1, 2, 1)
    );
}

/// Sends through reqwest and keeps each request's user agent.
#[derive(Clone, Default)]
struct UserAgents(Arc<Mutex<Vec<String>>>);

#[async_trait]
impl HttpClient for UserAgents {
    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let ua = request
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        self.0.lock().unwrap().push(ua);
        http().execute(request).await
    }
}

#[tokio::test]
async fn one_shared_config_gives_the_client_its_transport_and_clock() {
    let w = World::new().await;
    let agents = UserAgents::default();
    // What an application builds once for every provider.
    let shared = auth_core::Config::new()
        .http_client(Arc::new(agents.clone()))
        .clock(Arc::new(w.device_clock.clone()))
        .application("my-bank/2.1")
        .timeout(Duration::from_secs(5));
    let config = client_config(SIGNATURE)
        .pbkdf2_iterations(1_000)
        .build()
        .unwrap();
    let client = Client::builder(config, Arc::new(MemoryStorage::new()))
        .config(&shared)
        .base_url(w.base_url())
        .build()
        .unwrap();
    let profile = client
        .register_user(&[], &w.browser("alice"), &ScriptedUser::typing([PIN]))
        .await
        .unwrap();
    let agents = agents.0.lock().unwrap().clone();
    assert!(agents.len() >= 3, "{agents:?}");
    assert!(
        agents
            .iter()
            .all(|ua| ua.starts_with("my-bank/2.1 onegini-model/")),
        "{agents:?}"
    );
    // The shared clock is the client's: the access token expires on it (900 s).
    assert_eq!(client.authenticated_user_profile(), Some(profile));
    w.device_clock.advance(Duration::from_secs(901));
    assert_eq!(client.authenticated_user_profile(), None);
}

#[test]
fn the_builders_name_what_is_missing() {
    let complete = || client_config(SIGNATURE);
    assert!(complete().build().is_ok());
    let missing = [
        (
            "application identifier",
            complete().app_identifier("").build(),
        ),
        (
            "application signature",
            ClientConfig::builder()
                .app_identifier(APP)
                .app_platform(PLATFORM)
                .app_version(VERSION)
                .redirect_uri(REDIRECT)
                .build(),
        ),
        ("redirect URI", complete().redirect_uri("not a uri").build()),
        ("pbkdf2", complete().pbkdf2_iterations(0).build()),
        ("pbkdf2", complete().pbkdf2_iterations(u32::MAX).build()),
        (
            "suite",
            complete().dcr_suite("OCRA-1:HOTP-MD5-6:QN08").build(),
        ),
    ];
    for (what, result) in missing {
        let err = result.unwrap_err();
        assert_eq!(err.code(), 10001, "{what}: {err}");
    }
    // No base URL: Onegini has no default Token Server.
    let err = Client::builder(complete().build().unwrap(), Arc::new(MemoryStorage::new()))
        .build()
        .unwrap_err();
    assert_eq!(err.code(), 10001, "{err}");
    assert!(err.to_string().contains("base URL"), "{err}");
    // Plain http only to loopback.
    let err = Client::builder(complete().build().unwrap(), Arc::new(MemoryStorage::new()))
        .base_url("http://token-server.example.com")
        .build()
        .unwrap_err();
    assert_eq!(err.code(), 10001, "{err}");
}

#[tokio::test]
async fn a_stored_client_id_is_validated_when_read() {
    let w = World::new().await;
    w.register("alice").await;
    let id = w.client.client_id().unwrap().unwrap();
    assert_eq!(id.to_string(), id.as_str());
    // A storage whose client id was emptied is corrupt, not an empty id.
    let mut state = w.storage.load().unwrap();
    if let Some(creds) = state.credentials.as_mut() {
        creds.client_id = String::new();
    }
    w.storage.save(&state).unwrap();
    let err = w.client.client_id().unwrap_err();
    assert_eq!(err.code(), 9024, "{err}");
}
