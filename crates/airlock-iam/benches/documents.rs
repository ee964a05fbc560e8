//! Micro-benchmarks of the per-call client work that does not depend on the network: parsing
//! Loginapp JSON:API documents, parsing `Set-Cookie` headers into a flow's jar, and building the
//! `Cookie` header for a request (jar lookup).
//!
//! Run: `cargo bench -p airlock-iam` (quick: `-- --warm-up-time 0.2 --measurement-time 1`).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use airlock_iam::{CookieJar, Device, ErrorDocument, MobileOnlyChallenge, StepResponse};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use url::Url;

/// The step response of the observed transcript (mobile-only, password checked).
const STEP: &[u8] = br#"{"meta":{"type":"jsonapi.metadata.document","timestamp":"2024-05-01T10:00:00.000+02:00"},"data":{"type":"authentication.session","id":"551431015764101535","attributes":{"nextAuthStep":"AIRLOCK_2FA_MOBILE_ONLY_CHALLENGE_RETRIEVAL_REQUIRED"}}}"#;

/// The finished flow (empty attributes).
const DONE: &[u8] = br#"{"meta":{"type":"jsonapi.metadata.document","timestamp":"2024-05-01T10:00:09.000+02:00"},"data":{"type":"authentication.session","id":"551431015764101535","attributes":{}}}"#;

/// The wrong-password error document with both timestamps and the next step.
const ERROR: &[u8] = br#"{"meta":{"type":"jsonapi.metadata.document","timestamp":"2024-05-01T10:00:00.000+02:00","nextAuthStep":"PASSWORD_REQUIRED","temporaryLockExpiry":"2024-05-01T10:00:03.000+02:00"},"errors":[{"id":"5112:9070","status":400,"code":"USERNAME_PASSWORD_WRONG"}]}"#;

/// The mobile-only challenge (the `mobileAuthUri` is parsed too).
const CHALLENGE: &[u8] = br#"{"meta":{"type":"jsonapi.metadata.document","timestamp":"2024-05-01T10:00:01.000+02:00"},"data":{"type":"authentication.airlock-2fa.mobile-only.challenge","id":"886213471502345678","attributes":{"mobileAuthUri":"airlock2fa://auth?session_token=kq9XbT2mZr8sW1pN&user_id=8c3d3ad0-6d3b-4f2e-9a3c-2d1f0e9b7a61"}}}"#;

/// A device list of `n` devices.
fn devices(n: usize) -> Vec<u8> {
    let items: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"type":"authentication.airlock-2fa.device","id":"device-{i}","attributes":{{"displayName":"Phone {i}","capabilities":["ONE_TOUCH","TOTP","QR_CODE"],"type":"IOS","appVersion":"3.4.{i}","appVersionSupported":true}}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"meta":{{"type":"jsonapi.metadata.document"}},"data":[{}]}}"#,
        items.join(",")
    )
    .into_bytes()
}

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_714_550_400)
}

fn parse_documents(c: &mut Criterion) {
    let mut g = c.benchmark_group("airlock_parse");
    for (name, body) in [("step", STEP), ("done", DONE)] {
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| StepResponse::from_json(black_box(body)).unwrap())
        });
    }
    g.throughput(Throughput::Bytes(ERROR.len() as u64));
    g.bench_function("error_document", |b| {
        b.iter(|| ErrorDocument::from_json(400, black_box(ERROR)).unwrap())
    });
    g.throughput(Throughput::Bytes(CHALLENGE.len() as u64));
    g.bench_function("mobile_only_challenge", |b| {
        b.iter(|| MobileOnlyChallenge::from_json(black_box(CHALLENGE)).unwrap())
    });
    let html = b"<html><body>Request blocked by the gateway</body></html>";
    g.bench_function("not_a_document", |b| {
        b.iter(|| ErrorDocument::from_json(403, black_box(html)).is_none())
    });
    for n in [1usize, 10] {
        let body = devices(n);
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_with_input(BenchmarkId::new("device_list", n), &body, |b, body| {
            b.iter(|| Device::list_from_json(black_box(body)).unwrap())
        });
    }
    g.finish();
}

fn set_cookie(c: &mut Criterion) {
    let url = Url::parse("https://iam.example.com/auth/rest/public/authentication/password/check/")
        .unwrap();
    let mut g = c.benchmark_group("airlock_set_cookie");
    let headers = [
        (
            "session",
            "JSESSIONID=8F0C2D7B41E3A95C6B1D0E2F3A4B5C6D; Path=/; Secure; HttpOnly",
        ),
        (
            "gateway_full",
            "AL_SESS-S=AaBbCcDdEeFfGgHhIiJjKkLlMmNnOoPp; Domain=.example.com; Path=/auth; \
             Expires=Wed, 21 Oct 2037 07:28:00 GMT; Max-Age=3600; Secure; HttpOnly; SameSite=Lax",
        ),
        ("junk", "this is not a cookie"),
    ];
    for (name, header) in headers {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut jar = CookieJar::new();
                jar.store(black_box(header), &url, now());
                jar
            })
        });
    }
    // Replacing a cookie in a jar that already holds 10.
    let mut full = CookieJar::new();
    for i in 0..10 {
        full.store(&format!("c{i}=v{i}; Path=/"), &url, now());
    }
    g.bench_function("replace_in_10", |b| {
        b.iter_batched_ref(
            || full.clone(),
            |jar| jar.store(black_box("c5=new; Path=/"), &url, now()),
            criterion::BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn jar_lookup(c: &mut Criterion) {
    let from = Url::parse("https://iam.example.com/auth/rest/public/x").unwrap();
    let to = Url::parse(
        "https://iam.example.com/auth/rest/public/authentication/airlock-2fa/status/poll/",
    )
    .unwrap();
    let elsewhere = Url::parse("https://other.example.org/auth/rest/public/x").unwrap();
    let mut g = c.benchmark_group("airlock_cookie_header");
    for n in [1usize, 10, 50] {
        let mut jar = CookieJar::new();
        for i in 0..n {
            let path = if i % 2 == 0 { "/" } else { "/auth/rest" };
            jar.store(
                &format!("cookie{i}=value-{i:08}; Path={path}"),
                &from,
                now(),
            );
        }
        assert_eq!(jar.len(), n);
        g.bench_with_input(BenchmarkId::new("matching", n), &jar, |b, jar| {
            b.iter(|| jar.cookie_header(black_box(&to), now()).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("other_host", n), &jar, |b, jar| {
            b.iter(|| jar.cookie_header(black_box(&elsewhere), now()).is_none())
        });
    }
    g.finish();
}

criterion_group!(benches, parse_documents, set_cookie, jar_lookup);
criterion_main!(benches);
