//! Speed of the per-request work of the crate that does not wait on the network: webhook
//! verification (`X-Signature-V2`, one and five signatures, accepted and rejected), parsing the
//! signature header on its own, and serializing a track request.
//!
//! Two reference points sit next to `webhook_verify/signature_and_parse/1_sig` so the cost of
//! our parsing is visible as a ratio: `webhook_reference/hmac_only` (one HMAC-SHA256 over
//! `"<t>.<body>"` with a prepared key, nothing else) and `webhook_reference/plain_serde_parse`
//! (`serde_json::from_slice::<Value>` of the same body). The goal: a full `verify` costs at most
//! twice `signature_only/1_sig` + `plain_serde_parse`.
//!
//! `cargo bench -p authsignal` (quick look: `cargo bench -p authsignal -- --warm-up-time 0.2
//! --measurement-time 1`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench setup

use std::hint::black_box;
use std::sync::Arc;

use auth_core::FakeClock;
use authsignal::webhook::{SignatureHeader, WebhookVerifier, sign_header, signature};
use authsignal::{DeviceId, IdempotencyKey, Scope, SecretKey, TrackRequest};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// The spec's worked example (§9): 430 bytes.
const BODY: &[u8] = br#"{"version":1,"id":"bc1598bc-e5d6-4c69-9afb-1a6fe3469d6e","source":"https://authsignal.com","time":"2025-02-20T01:51:56.070Z","tenantId":"7752d28e-e627-4b1b-bb81-b45d68d617bc","type":"email.created","data":{"to":"not-a-real-email@authsignal.com","code":"157743","userId":"b9f74d36-fcfc-4efc-87f1-3664ab5a7fb0","actionCode":"accountRecovery","idempotencyKey":"ba8c1a7c-775d-4dff-9abe-be798b7b8bb9","verificationMethod":"EMAIL_OTP"}}"#;
const SECRET: &str = "YOUR_AUTHSIGNAL_SECRET_KEY";
const T: i64 = 1_740_016_316;

fn verifier() -> WebhookVerifier {
    WebhookVerifier::new(SecretKey::new(SECRET)).clock(Arc::new(FakeClock::at_unix(T as u64)))
}

/// A header with `n` signatures, the valid one last (the worst case for a match): the others
/// are made with unrelated secrets, as during a rotation with stale keys.
fn header_with(n: usize) -> String {
    let others: Vec<SecretKey> = (1..n)
        .map(|i| SecretKey::new(format!("whsec_other_{i}")))
        .collect();
    let mut keys: Vec<&SecretKey> = others.iter().collect();
    let right = SecretKey::new(SECRET);
    keys.push(&right);
    sign_header(&keys, T, BODY)
}

fn bench_verify(c: &mut Criterion) {
    let v = verifier();
    let mut g = c.benchmark_group("webhook_verify");
    g.throughput(Throughput::Bytes(BODY.len() as u64));
    for n in [1usize, 5] {
        let header = header_with(n);
        assert!(v.verify(BODY, Some(&header)).is_ok());
        g.bench_function(format!("signature_only/{n}_sig"), |b| {
            b.iter(|| v.verify_signature(black_box(BODY), black_box(Some(header.as_str()))))
        });
        g.bench_function(format!("signature_and_parse/{n}_sig"), |b| {
            b.iter(|| v.verify(black_box(BODY), black_box(Some(header.as_str()))))
        });
        let mut tampered = BODY.to_vec();
        tampered[200] ^= 1;
        assert!(v.verify(&tampered, Some(&header)).is_err());
        g.bench_function(format!("rejected_tampered/{n}_sig"), |b| {
            b.iter(|| v.verify_signature(black_box(&tampered), black_box(Some(header.as_str()))))
        });
    }
    // Two secrets configured on our side (rotation), five signatures, none matching.
    let rotating = verifier().also_accept(SecretKey::new("whsec_next"));
    let header = header_with(5).replace(&signature(&SecretKey::new(SECRET), T, BODY), "AAAA");
    assert!(rotating.verify(BODY, Some(&header)).is_err());
    g.bench_function("rejected_two_secrets/5_sig", |b| {
        b.iter(|| rotating.verify_signature(black_box(BODY), black_box(Some(header.as_str()))))
    });
    g.finish();

    // A 64 KiB body: the cost is one HMAC pass per configured secret.
    let big: Vec<u8> = {
        let mut b =
            br#"{"version":1,"id":"big","type":"action.log_created","data":{"pad":""#.to_vec();
        b.resize(64 * 1024 - 3, b'x');
        b.extend_from_slice(br#""}}"#);
        b
    };
    let header = sign_header(&[&SecretKey::new(SECRET)], T, &big);
    let mut g = c.benchmark_group("webhook_verify_64KiB");
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("signature_only/1_sig", |b| {
        b.iter(|| v.verify_signature(black_box(&big), black_box(Some(header.as_str()))))
    });
    g.finish();
}

/// The floor under `verify`: the HMAC alone, and one plain JSON parse of the same body.
fn bench_reference(c: &mut Criterion) {
    use aws_lc_rs::hmac;
    let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET.as_bytes());
    let t = T.to_string();
    let mut g = c.benchmark_group("webhook_reference");
    g.throughput(Throughput::Bytes(BODY.len() as u64));
    g.bench_function("hmac_only", |b| {
        b.iter(|| {
            let mut ctx = hmac::Context::with_key(&key);
            ctx.update(black_box(t.as_bytes()));
            ctx.update(b".");
            ctx.update(black_box(BODY));
            ctx.sign()
        })
    });
    g.bench_function("plain_serde_parse", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(BODY)).unwrap())
    });
    g.finish();
}

fn bench_header_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("signature_header_parse");
    for n in [1usize, 5] {
        let header = header_with(n);
        g.bench_function(format!("{n}_sig"), |b| {
            b.iter(|| SignatureHeader::parse(black_box(&header)))
        });
    }
    // Hostile: just under the length limit, a thousand unknown entries.
    let junk = format!("t={T},{}v2=AAAA", "x=1,".repeat(1000));
    g.bench_function("1000_unknown_entries", |b| {
        b.iter(|| SignatureHeader::parse(black_box(&junk)))
    });
    // Hostile: over the length limit, refused before splitting.
    let huge = "v2=AAAA,".repeat(3000);
    g.bench_function("over_length_limit", |b| {
        b.iter(|| SignatureHeader::parse(black_box(&huge)))
    });
    g.finish();
}

fn bench_track_serialize(c: &mut Criterion) {
    let full = TrackRequest::new()
        .idempotency_key(IdempotencyKey::new("ba8c1a7c-775d-4dff-9abe-be798b7b8bb9").unwrap())
        .redirect_url("https://bank.example/withdraw/done")
        .email("ada@example.com")
        .phone_number("+64270000000")
        .device_id(DeviceId::new("c07a4ec2-3af0-11e7-9b43-0469f8dc10a5").unwrap())
        .user_agent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)")
        .ip_address("203.0.113.7")
        .scope(Scope::ReadAuthenticators)
        .custom("amount", 5000)
        .custom("currency", "EUR")
        .custom("beneficiaryIsNew", true);
    let empty = TrackRequest::new();
    let mut g = c.benchmark_group("track_request");
    g.bench_function("serialize/full", |b| {
        b.iter(|| serde_json::to_vec(black_box(&full)).unwrap())
    });
    g.bench_function("serialize/empty", |b| {
        b.iter(|| serde_json::to_vec(black_box(&empty)).unwrap())
    });
    g.bench_function("validate_and_serialize/full", |b| {
        b.iter(|| {
            black_box(&full).validate().unwrap();
            serde_json::to_vec(black_box(&full)).unwrap()
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_verify,
    bench_reference,
    bench_header_parse,
    bench_track_serialize
);
criterion_main!(benches);
