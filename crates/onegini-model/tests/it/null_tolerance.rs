//! Tolerant reading: `null` is the same as absent for every optional field and every list of
//! every response type, as the official SDKs read it.
//!
//! The responses come from two places: the recorded transcripts under
//! `fixtures/onegini-model/transcripts/`, and what the Token Server model answers over real HTTP
//! while a client runs a representative set of flows (recorded by a pass-through
//! [`HttpClient`]). Each JSON response is decoded with the wire type the client decodes it with,
//! once with each field set to `null` in turn (`auth_core::json::null_variants`).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use crate::common::*;
use async_trait::async_trait;
use auth_core::{
    HttpClient, HttpConfig, HttpRequest, HttpResponse, ReqwestClient, SharedClock, TransportError,
};
use onegini_model::emulator::VersionStatus;
use onegini_model::testing::ScriptedUser;
use onegini_model::{Client, MemoryStorage, Storage, wire};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The fields a response cannot do without, by wire type: `null` (like absent) must fail to
/// decode for these, and only for these.
///
/// * `DcrChallenge.registration_id`, `.challenge`: the DCR round 2 cannot be made without them.
/// * `DcrCredentials.client_id`, `.client_secret`: they are the result of DCR.
/// * `DcrCredentials.pin_policy.pin_length`: a policy that is sent must say the PIN length (a
///   policy that is absent or `null` as a whole is the default policy).
/// * `TokenResponse.access_token`, `.token_type`: RFC 6749 §5.1 (spec §9 #9).
/// * `TokenError.error`: RFC 6749 §5.2.
/// * `AuthenticatorRegistration.refresh_token`: the result of the registration.
/// * `UserResource.user_id`: the resource itself.
const REQUIRED: &[(&str, &str)] = &[
    ("DcrChallenge", "registration_id"),
    ("DcrChallenge", "challenge"),
    ("DcrCredentials", "client_id"),
    ("DcrCredentials", "client_secret"),
    ("DcrCredentials", "pin_policy.pin_length"),
    ("TokenResponse", "access_token"),
    ("TokenResponse", "token_type"),
    ("TokenError", "error"),
    ("AuthenticatorRegistration", "refresh_token"),
    ("UserResource", "user_id"),
];

/// One JSON response: where it came from, the request path and the status.
struct Recorded {
    origin: String,
    path: String,
    status: u16,
    body: Value,
}

/// Passes requests to reqwest and records every JSON response.
struct Recorder {
    http: ReqwestClient,
    seen: Arc<Mutex<Vec<Recorded>>>,
}

#[async_trait]
impl HttpClient for Recorder {
    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let path = request.uri().path().to_owned();
        let response = self.http.execute(request).await?;
        if let Ok(body) = serde_json::from_slice::<Value>(response.body()) {
            self.seen.lock().unwrap().push(Recorded {
                origin: "Token Server model".into(),
                path,
                status: response.status().as_u16(),
                body,
            });
        }
        Ok(response)
    }
}

fn recording_client(
    w: &World,
    storage: Arc<dyn Storage>,
    signature: &str,
    seen: &Arc<Mutex<Vec<Recorded>>>,
) -> Client {
    let config = client_config(signature)
        .pbkdf2_iterations(1_000)
        .fingerprint_sensor()
        .build()
        .unwrap();
    let clock: SharedClock = Arc::new(w.device_clock.clone());
    Client::builder(config, storage)
        .base_url(w.base_url())
        .keystore(Arc::new(onegini_model::MemoryKeystore::new()))
        .clock(clock)
        .http_client(Arc::new(Recorder {
            http: ReqwestClient::new(&HttpConfig::default()).unwrap(),
            seen: seen.clone(),
        }))
        .build()
        .unwrap()
}

/// Runs flows that make the Token Server model send each kind of answer, and returns them.
async fn model_responses() -> Vec<Recorded> {
    let w = World::new().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let client = recording_client(&w, Arc::new(MemoryStorage::new()), SIGNATURE, &seen);
    // DCR (both rounds) and the code exchange.
    let profile = client
        .register_user(&["read"], &w.browser("alice"), &ScriptedUser::typing([PIN]))
        .await
        .unwrap();
    // Fingerprint registration, the user resource, the start-up status.
    client.register_fingerprint().await.unwrap();
    client.fetch_user_resource().await.unwrap();
    client.start().await.unwrap();
    // A wrong PIN (the counter fields), then the right one (a rotated refresh token).
    client
        .authenticate_user(&profile, &ScriptedUser::typing([OTHER_PIN, PIN]), None)
        .await
        .unwrap();
    // A fingerprint token revoked on its own: `authenticator_deregistered`.
    w.server.revoke_fingerprint_tokens("alice");
    let err = client
        .authenticate_user_with(
            &profile,
            onegini_model::Authenticator::Fingerprint,
            &ScriptedUser::default(),
            Some(&onegini_model::testing::ScriptedFingerprint::scanning([
                onegini_model::FingerprintScan::Match,
            ])),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), 9022);
    // Attempts exhausted: `user_deregistered`.
    let err = client
        .authenticate_user(
            &profile,
            &ScriptedUser::typing([OTHER_PIN, OTHER_PIN, OTHER_PIN]),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), 9003);
    // DCR refused (a wrong signature) and an application version that may not register.
    let stranger = recording_client(&w, Arc::new(MemoryStorage::new()), "wrong", &seen);
    assert_eq!(stranger.pin_policy().await.unwrap_err().code(), 9008);
    w.server
        .set_version_status(VERSION, PLATFORM, VersionStatus::Disabled);
    let late = recording_client(&w, Arc::new(MemoryStorage::new()), SIGNATURE, &seen);
    assert_eq!(late.pin_policy().await.unwrap_err().code(), 9004);
    std::mem::take(&mut *seen.lock().unwrap())
}

/// Every JSON response of every recorded transcript.
fn fixture_responses() -> Vec<Recorded> {
    let dir = format!(
        "{}/../../fixtures/onegini-model/transcripts",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no transcripts in {dir}");
    for file in files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for (i, x) in doc["exchanges"].as_array().unwrap().iter().enumerate() {
            let body = &x["response"]["json"];
            if body.is_null() {
                continue;
            }
            out.push(Recorded {
                origin: format!("{} exchange {i}", file.display()),
                path: x["request"]["path"].as_str().unwrap().to_owned(),
                status: u16::try_from(x["response"]["status"].as_u64().unwrap()).unwrap(),
                body: body.clone(),
            });
        }
    }
    out
}

fn decodes<T: DeserializeOwned>(value: Value) -> Result<(), String> {
    auth_core::json::from_value::<T>("response", value)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Decodes a JSON value as one wire type.
type Decoder = fn(Value) -> Result<(), String>;

/// The wire type the client decodes this response with, and a decoder for it.
fn wire_type(r: &Recorded) -> (&'static str, Decoder) {
    if r.status != 200 {
        return ("TokenError", decodes::<wire::TokenError>);
    }
    match r.path.as_str() {
        wire::DCR_PATH if r.body.get("challenge").is_some() => {
            ("DcrChallenge", decodes::<wire::DcrChallenge>)
        }
        wire::DCR_PATH => ("DcrCredentials", decodes::<wire::DcrCredentials>),
        "/oauth/token" | wire::TOKEN_PATH => ("TokenResponse", decodes::<wire::TokenResponse>),
        wire::FINGERPRINT_PATH => (
            "AuthenticatorRegistration",
            decodes::<wire::AuthenticatorRegistration>,
        ),
        wire::USER_RESOURCE_PATH => ("UserResource", decodes::<wire::UserResource>),
        wire::CLIENT_STATUS_PATH => (
            "ClientStatusResponse",
            decodes::<wire::ClientStatusResponse>,
        ),
        other => panic!("{}: no wire type for a 200 answer at {other}", r.origin),
    }
}

#[tokio::test]
async fn null_is_the_same_as_absent_in_every_response() {
    let mut responses = fixture_responses();
    responses.extend(model_responses().await);
    let mut types_seen = BTreeSet::new();
    let mut required_seen = BTreeSet::new();
    let mut failures = Vec::new();
    for r in &responses {
        let (name, decode) = wire_type(r);
        types_seen.insert(name);
        if let Err(e) = decode(r.body.clone()) {
            failures.push(format!(
                "{} ({name}) does not decode as recorded: {e}",
                r.origin
            ));
            continue;
        }
        for (path, variant) in auth_core::json::null_variants(&r.body) {
            let required = REQUIRED.contains(&(name, path.as_str()));
            match (decode(variant), required) {
                (Ok(()), false) | (Err(_), true) => {}
                (Err(e), false) => failures.push(format!(
                    "{} ({name}): `{path}: null` must read as absent: {e}",
                    r.origin
                )),
                (Ok(()), true) => failures.push(format!(
                    "{} ({name}): `{path}` is listed as required but `null` decodes",
                    r.origin
                )),
            }
            if required {
                required_seen.insert((name, path));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every response type was seen, and every exemption was exercised (the list stays honest).
    assert_eq!(
        types_seen,
        BTreeSet::from([
            "AuthenticatorRegistration",
            "ClientStatusResponse",
            "DcrChallenge",
            "DcrCredentials",
            "TokenError",
            "TokenResponse",
            "UserResource",
        ])
    );
    for (name, path) in REQUIRED {
        assert!(
            required_seen.contains(&(*name, (*path).to_owned())),
            "{name}.{path} never occurred in a recorded response"
        );
    }
}

#[test]
fn null_fields_read_as_their_absent_defaults() {
    let creds: wire::DcrCredentials = serde_json::from_str(
        r#"{"client_id":"C","client_secret":"s","pin_policy":null,"max_pin_failures":null,
            "fingerprint_allowed":null}"#,
    )
    .unwrap();
    assert_eq!(creds.pin_policy, onegini_model::PinPolicy::default());
    assert_eq!(creds.max_pin_failures, None);
    assert!(!creds.fingerprint_allowed);
    let policy: onegini_model::PinPolicy = serde_json::from_str(
        r#"{"pin_length":6,"max_similar_digits":null,"sequences_allowed":null,"blocklist":null}"#,
    )
    .unwrap();
    assert_eq!(
        (
            policy.pin_length,
            policy.max_similar_digits,
            policy.sequences_allowed
        ),
        (6, None, false)
    );
    assert!(policy.blocklist.is_empty());
    let status: wire::ClientStatusResponse = serde_json::from_str(r#"{"revoked":null}"#).unwrap();
    assert!(status.revoked.is_empty());
    let resource: wire::UserResource =
        serde_json::from_str(r#"{"user_id":"u","scopes":null}"#).unwrap();
    assert!(resource.scopes.is_empty());
}
