//! Speed of the JOSE work the client does per call and per webhook, on the fixture keys
//! (RSA-2048): JWE encrypt/decrypt (RSA-OAEP and RSA-OAEP-256 with A256CBC-HS512), JWS
//! sign/verify (RS256, RS512), and a whole webhook handled with the API key cached (verify the
//! JWT, check method/path/hash, decrypt the core package and the device package inside it).
//!
//! `cargo bench -p launchkey --bench jose` (quick look: add `-- --warm-up-time 0.2
//! --measurement-time 1`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench setup

use std::hint::black_box;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use launchkey::hazmat::jwe::{self, ParsedJwe};
use launchkey::hazmat::jws::UnverifiedJws;
use launchkey::{
    Client, JweAlgorithm, JwsAlgorithm, RsaPublicKey, ServiceId, ServicePrivateKey, WebhookPackage,
};
use serde_json::json;

const SERVICE_PEM: &str = include_str!("../../../fixtures/launchkey/keys/service-a-pkcs1.pem");
const API_PEM: &str = include_str!("../../../fixtures/launchkey/keys/api.pem");

fn service_key() -> ServicePrivateKey {
    ServicePrivateKey::from_pem(SERVICE_PEM).unwrap()
}

const METHODS: [&str; 7] = [
    "PIN_CODE",
    "CIRCLE_CODE",
    "GEOFENCING",
    "LOCATIONS",
    "WEARABLES",
    "FINGERPRINT",
    "FACE",
];

/// A device-package-sized JSON payload (about 1 KiB).
fn payload() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "type": "AUTHORIZED", "reason": "APPROVED", "denial_reason": null,
        "auth_request": "a5f1d5b6-3af0-11e7-9b43-0469f8dc10a5",
        "device_id": "c07a4ec2-3af0-11e7-9b43-0469f8dc10a5",
        "service_pins": ["1234", "3456", "5678"],
        "auth_policy": {"requirement": "types", "amount": 0, "types": ["KNOWLEDGE", "INHERENCE"],
            "geofences": [{"name": "office", "latitude": 36.12, "longitude": -115.17, "radius": 150.0}]},
        "auth_methods": METHODS.iter().map(|m| json!({"method": m, "set": true, "active": true,
            "allowed": true, "supported": true, "user_required": false, "passed": true, "error": false}))
            .collect::<Vec<_>>(),
    }))
    .unwrap()
}

fn bench_jwe(c: &mut Criterion) {
    let key = service_key();
    let public = RsaPublicKey::from_der(key.public_key_der()).unwrap();
    let plain = payload();
    let mut g = c.benchmark_group("jwe");
    g.throughput(Throughput::Bytes(plain.len() as u64));
    for (name, alg) in [
        ("RSA-OAEP", JweAlgorithm::RsaOaep),
        ("RSA-OAEP-256", JweAlgorithm::RsaOaep256),
    ] {
        g.bench_function(format!("encrypt {name} A256CBC-HS512 rsa2048"), |b| {
            b.iter(|| jwe::encrypt_to(alg, &public, Some("kid"), None, black_box(&plain)).unwrap())
        });
        let token = jwe::encrypt_to(alg, &public, Some("kid"), None, &plain).unwrap();
        g.bench_function(format!("decrypt {name} A256CBC-HS512 rsa2048"), |b| {
            b.iter(|| {
                ParsedJwe::parse(black_box(&token))
                    .unwrap()
                    .decrypt_with_key(&key)
                    .unwrap()
            })
        });
    }
    g.finish();
}

fn bench_jws(c: &mut Criterion) {
    let key = service_key();
    let claims = serde_json::to_vec(&json!({
        "iss": "svc:9e4a2c8b-5d3f-4b1a-8c7e-6f5d4c3b2a19", "sub": "svc:9e4a2c8b-5d3f-4b1a-8c7e-6f5d4c3b2a19",
        "aud": "lka", "iat": 1_700_000_000, "nbf": 1_700_000_000, "exp": 1_700_000_005,
        "jti": "5b1c0b5e-3d7e-4a8e-9c4b-0a1b2c3d4e5f",
        "request": {"meth": "POST", "path": "/service/v3/auths", "func": "S256",
            "hash": "e806a291cfc3e61f83b98d344ee57e3e8933cccece4fb45e1481f1f560e70eb1"},
    }))
    .unwrap();
    let mut g = c.benchmark_group("jws");
    for (name, alg) in [
        ("RS256", JwsAlgorithm::RS256),
        ("RS512", JwsAlgorithm::RS512),
    ] {
        g.bench_function(format!("sign {name} rsa2048"), |b| {
            b.iter(|| key.sign_jws(alg, black_box(&claims)).unwrap())
        });
        let token = key.sign_jws(alg, &claims).unwrap();
        g.bench_function(format!("verify {name} rsa2048"), |b| {
            b.iter(|| {
                UnverifiedJws::parse(black_box(&token))
                    .unwrap()
                    .verify(key.public_key_der())
                    .unwrap()
                    .len()
            })
        });
    }
    g.finish();
}

/// An authorization-response webhook as the platform sends it, signed by the API key and
/// valid for an hour (so that a long run never sees it expire).
fn webhook(service_id: ServiceId, api: &ServicePrivateKey) -> (http::HeaderMap, Vec<u8>) {
    let service = service_key();
    let to_service = RsaPublicKey::from_der(service.public_key_der()).unwrap();
    let kid = Some(service.kid().as_str());
    let device =
        jwe::encrypt_to(JweAlgorithm::RsaOaep, &to_service, kid, None, &payload()).unwrap();
    let core = serde_json::to_vec(&json!({
        "type": "AUTHORIZATION_RESPONSE", "auth": null, "auth_jwe": device,
        "service_user_hash": "Dl8eWkAeqLCGsD6ctpkCVPvSqWqAsnEkAEsYjXtUGoX",
        "org_user_hash": "Dl8eWkAeqLCGsD6ctpkCVPvSqWqAsnEkAEsYjXtUGoX",
        "user_push_id": "3a3d0e7b-3af1-11e7-9b43-0469f8dc10a5",
        "public_key_id": service.kid().as_str(),
    }))
    .unwrap();
    let body = jwe::encrypt_to(
        JweAlgorithm::RsaOaep,
        &to_service,
        kid,
        Some("application/json"),
        &core,
    )
    .unwrap()
    .into_bytes();
    let hash: String = digest::digest(&digest::SHA256, &body)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let entity = service_id.entity();
    let claims = json!({
        "iss": "lka", "aud": entity, "sub": entity, "iat": now, "nbf": now, "exp": now + 3600,
        "jti": "0f3c5a5e-3af1-11e7-9b43-0469f8dc10a5",
        "request": {"meth": "POST", "path": "/launchkey/webhook", "func": "S256", "hash": hash},
    });
    let token = api
        .sign_jws(JwsAlgorithm::RS256, &serde_json::to_vec(&claims).unwrap())
        .unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("x-iov-jwt", token.parse().unwrap());
    headers.insert("content-type", "application/jose".parse().unwrap());
    (headers, body)
}

fn bench_webhook(c: &mut Criterion) {
    let api = ServicePrivateKey::from_pem(API_PEM).unwrap();
    let service_id = ServiceId::parse("9e4a2c8b-5d3f-4b1a-8c7e-6f5d4c3b2a19").unwrap();
    // The HTTP client serves the API key, current and by kid (it is cached after the first
    // webhook); nothing else.
    let kid = api.kid().as_str().to_owned();
    let key_path = format!("/public/v3/public-key/{kid}");
    let pem = api.public_key_pem();
    let http = move |req: auth_core::HttpRequest| {
        let path = req.uri().path();
        let found = path == key_path || path == "/public/v3/public-key";
        let (pem, kid) = (pem.clone(), kid.clone());
        async move {
            Ok(http::Response::builder()
                .status(if found { 200 } else { 404 })
                .header("x-iov-key-id", kid)
                .body(if found { pem.into_bytes() } else { Vec::new() })
                .unwrap())
        }
    };
    let client = Client::builder(service_id, service_key())
        .base_url("http://127.0.0.1:9")
        .http_client(Arc::new(http))
        .build()
        .unwrap();
    let (headers, body) = webhook(service_id, &api);
    let mut request = http::Request::post("/launchkey/webhook")
        .body(body)
        .unwrap();
    *request.headers_mut() = headers;
    // The transport wraps every request in a timeout: the runtime needs its timer (and IO).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let handle = || rt.block_on(client.handle_webhook(&request)).unwrap();
    assert!(matches!(handle(), WebhookPackage::AuthorizationResponse(r) if r.authorized));
    let mut g = c.benchmark_group("webhook");
    g.throughput(Throughput::Bytes(request.body().len() as u64));
    g.bench_function("handle authorization response (key cached)", |b| {
        b.iter(|| black_box(handle()))
    });
    g.finish();
}

criterion_group!(benches, bench_jwe, bench_jws, bench_webhook);
criterion_main!(benches);
