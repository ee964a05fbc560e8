//! Speed of the work a LogonBox verifier does per sign-in, on the published vectors
//! (fixtures/logonbox/vectors.json): parsing a key listing, verifying an Ed25519 and an
//! RSA-3072/SHA-512 signature, and building/parsing the redirect request blob.
//!
//! `cargo bench -p logonbox` (quick look: `cargo bench -p logonbox -- --warm-up-time 0.2
//! --measurement-time 1`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench setup

use std::hint::black_box;

use base64::Engine;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use logonbox::{AuthorizedKey, Fingerprint, KeyListing, PendingRequest, RequestBlob, ResponseBlob};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/logonbox/vectors.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn signature(v: &Value, key: &str, payload: &str) -> Vec<u8> {
    let s = v["direct_signatures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key && s["payload"] == payload)
        .unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(s["signature"].as_str().unwrap())
        .unwrap()
}

fn listing(c: &mut Criterion) {
    let v = vectors();
    let ed = v["keys"]["ed25519"].as_str().unwrap();
    let rsa = v["keys"]["rsa"].as_str().unwrap();
    // What a server answers for a user with both keys, plus lines that are skipped.
    let text = format!(
        "# Authorized keys for lee@logonbox.com\r\n\r\n# Some other comment\r\n{ed}\r\n{rsa}\r\n\
         ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBA== phone\r\n\
         ssh-rsa not-base64!! junk\r\n"
    );
    assert_eq!(KeyListing::parse(&text).unwrap().keys().len(), 2);
    let mut g = c.benchmark_group("listing");
    g.bench_function("parse_line_ed25519", |b| {
        b.iter(|| AuthorizedKey::parse_line(black_box(ed)).unwrap())
    });
    g.bench_function("parse_line_rsa3072", |b| {
        b.iter(|| AuthorizedKey::parse_line(black_box(rsa)).unwrap())
    });
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("parse_ed25519_rsa3072_and_2_skipped", |b| {
        b.iter(|| KeyListing::parse(black_box(&text)).unwrap())
    });
    g.finish();
}

fn verify(c: &mut Criterion) {
    let v = vectors();
    let ed = AuthorizedKey::parse_line(v["keys"]["ed25519"].as_str().unwrap()).unwrap();
    let rsa = AuthorizedKey::parse_line(v["keys"]["rsa"].as_str().unwrap()).unwrap();
    let payload = [0u8; 128];
    let ed_sig = signature(&v, "ed25519", "zero");
    let rsa_sig = signature(&v, "rsa", "zero");
    ed.verify(0, &payload, &ed_sig).unwrap();
    rsa.verify(4, &payload, &rsa_sig).unwrap();
    let mut g = c.benchmark_group("verify");
    g.bench_function("ed25519_128_byte_payload", |b| {
        b.iter(|| {
            ed.verify(0, black_box(&payload), black_box(&ed_sig))
                .unwrap()
        })
    });
    g.bench_function("rsa3072_sha512_128_byte_payload", |b| {
        b.iter(|| {
            rsa.verify(4, black_box(&payload), black_box(&rsa_sig))
                .unwrap()
        })
    });
    let mut bad = rsa_sig.clone();
    bad[7] ^= 1;
    g.bench_function("rsa3072_sha512_bad_signature", |b| {
        b.iter(|| {
            rsa.verify(4, black_box(&payload), black_box(&bad))
                .unwrap_err()
        })
    });
    g.finish();
}

fn redirect_blobs(c: &mut Criterion) {
    let v = vectors();
    let encoded = v["redirect_request"]["encoded"].as_str().unwrap();
    let blob = RequestBlob {
        principal: "test".into(),
        fingerprint: Fingerprint::new(v["fingerprints"]["rsa"].as_str().unwrap()).unwrap(),
        remote_name: "LogonBox Authenticator API".into(),
        prompt_text:
            "{username} wants to authenticate from {remoteName} using your {hostname} credentials."
                .into(),
        authorize_text: "Authorize".into(),
        flags: 4,
        nonce: [0; 4],
        redirect_url: "https://localhost/app/ui/authenticator-finish?response={response}".into(),
        noise: vec![0; 16],
    };
    let bytes = blob.to_bytes();
    assert_eq!(
        base64::engine::general_purpose::URL_SAFE.encode(&bytes),
        encoded
    );
    let response = ResponseBlob::Signed {
        username: "test".into(),
        fingerprint: blob.fingerprint.clone(),
        flags: 4,
        signature: signature(&v, "rsa", "zero"),
    }
    .to_bytes();
    let mut g = c.benchmark_group("redirect_blob");
    g.bench_function("request_build_287_bytes", |b| {
        b.iter(|| black_box(&blob).to_bytes())
    });
    g.bench_function("request_parse_287_bytes", |b| {
        b.iter(|| RequestBlob::parse(black_box(&bytes)).unwrap())
    });
    g.bench_function("pending_from_encoded_base64url", |b| {
        b.iter(|| PendingRequest::from_encoded(black_box(encoded), 0).unwrap())
    });
    g.bench_function("response_parse_rsa3072", |b| {
        b.iter(|| ResponseBlob::parse(black_box(&response)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, listing, verify, redirect_blobs);
criterion_main!(benches);
