//! Criterion benchmarks: OCRA (suite parsing and computation for a few RFC 6287 suites, the
//! DCR window check) and the PIN-protected refresh token (seal/open, dominated by PBKDF2).
//!
//! `cargo bench -p onegini-model` (quick run: `-- --warm-up-time 0.2 --measurement-time 1`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use onegini_model::Pin;
use onegini_model::hazmat::PinProtectedSecret;
use onegini_model::hazmat::ocra::{OcraInputs, OcraSuite};

const K20: &[u8] = b"12345678901234567890";
const K32: &[u8] = b"12345678901234567890123456789012";
const K64: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

/// Suites of RFC 6287 Appendix C plus the model's DCR suite, with inputs that fit them.
fn suites() -> Vec<(&'static str, &'static [u8], OcraInputs<'static>)> {
    vec![
        ("OCRA-1:HOTP-SHA1-6:QN08", K20, OcraInputs::new("11111111")),
        (
            "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1",
            K32,
            OcraInputs::new("12345678").counter(1).pin(b"1234"),
        ),
        (
            "OCRA-1:HOTP-SHA512-8:QN08-T1M",
            K64,
            OcraInputs::new("22222222").timestamp(0x132d0b6),
        ),
        (
            "OCRA-1:HOTP-SHA256-8:QH64-T1M",
            b"AB:CD:EF:01:23:45:67:89:signing-cert-sha256",
            OcraInputs::new("5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f")
                .timestamp(29_453_760),
        ),
    ]
}

fn ocra(c: &mut Criterion) {
    let mut parse = c.benchmark_group("ocra_parse");
    for text in [
        "OCRA-1:HOTP-SHA1-6:QN08",
        "OCRA-1:HOTP-SHA512-10:C-QH64-PSHA256-S128-T48H",
    ] {
        parse.bench_with_input(BenchmarkId::from_parameter(text), text, |b, t| {
            b.iter(|| OcraSuite::parse(black_box(t)).unwrap())
        });
    }
    parse.finish();

    let mut compute = c.benchmark_group("ocra_compute");
    for (text, key, inputs) in suites() {
        let suite: OcraSuite = text.parse().unwrap();
        compute.bench_with_input(BenchmarkId::from_parameter(text), &inputs, |b, i| {
            b.iter(|| suite.compute(black_box(key), black_box(i)).unwrap())
        });
    }
    compute.finish();

    // What the Token Server model does per DCR answer: 21 candidate time steps (T ± 10).
    let (text, key, inputs) = suites().pop().unwrap();
    let suite: OcraSuite = text.parse().unwrap();
    let response = suite.compute(key, &inputs).unwrap();
    c.bench_function("ocra_verify_in_window_pm10", |b| {
        b.iter(|| {
            suite
                .verify_in_window(black_box(key), black_box(&inputs), 10, &response)
                .unwrap()
        })
    });
}

fn pin_protected_token(c: &mut Criterion) {
    let secret = [0x5a_u8; 32];
    let pin = Pin::new("31415");
    let mut group = c.benchmark_group("pin_protected_token");
    // 1 000 (the tests' setting), 10 000 (the spec's default).
    for iterations in [1_000u32, 10_000] {
        group.bench_with_input(
            BenchmarkId::new("seal", iterations),
            &iterations,
            |b, &n| b.iter(|| PinProtectedSecret::seal(black_box(&secret), &pin, n).unwrap()),
        );
        let sealed = PinProtectedSecret::seal(&secret, &pin, iterations).unwrap();
        group.bench_with_input(BenchmarkId::new("open", iterations), &sealed, |b, s| {
            b.iter(|| s.open(black_box(&pin)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, ocra, pin_protected_token);
criterion_main!(benches);
