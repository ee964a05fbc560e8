//! The emulator's throughput: answered polls per second through `Emulator::in_process()` (no
//! socket), by one caller and by four at once on a four-thread runtime. Every poll of an
//! answered request makes the model verify a request token, build the response package (an
//! RSA-OAEP and a JWE encryption), encrypt the body and sign the response token; the model does
//! that work outside its state lock, so concurrent callers are limited by the cores, not by the
//! lock. (The client's own RSA work — sign the request, decrypt two JWEs — is in the figure too.)
//!
//! `cargo bench -p launchkey --bench emulator` (quick look: add `-- --warm-up-time 0.2
//! --measurement-time 1`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench setup

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use launchkey::emulator::Emulator;
use launchkey::{AuthorizationPoll, AuthorizationRequest, Client, ServiceId, ServicePrivateKey};

const SERVICE_PEM: &str = include_str!("../../../fixtures/launchkey/keys/service-a-pkcs1.pem");

fn bench_polls(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let service_id = ServiceId::parse("9e4a2c8b-5d3f-4b1a-8c7e-6f5d4c3b2a19").unwrap();
    let key = ServicePrivateKey::from_pem(SERVICE_PEM).unwrap();
    let users = ["u0", "u1", "u2", "u3"];
    let (emulator, clients, ids) = rt.block_on(async {
        let mut builder = Emulator::builder().service(service_id, key.public_key());
        for u in users {
            builder = builder.user(u);
        }
        let emulator = builder.start().await.unwrap();
        let mut clients = Vec::new();
        let mut ids = Vec::new();
        for u in users {
            let client = Client::builder(
                service_id,
                ServicePrivateKey::from_pem(SERVICE_PEM).unwrap(),
            )
            .base_url(emulator.base_url())
            .http_client(emulator.in_process())
            .build()
            .unwrap();
            let id = client
                .authorize(&AuthorizationRequest::new(u))
                .await
                .unwrap()
                .id;
            emulator.approve(&id).unwrap();
            clients.push(client);
            ids.push(id);
        }
        (emulator, clients, ids)
    });
    let poll = |i: usize| {
        let (client, id) = (clients[i].clone(), ids[i].clone());
        async move {
            let answer = client.get_authorization_response(&id).await.unwrap();
            assert!(matches!(answer, AuthorizationPoll::Responded(_)));
        }
    };
    let mut g = c.benchmark_group("emulator in process");
    g.throughput(Throughput::Elements(1));
    g.bench_function("1 caller, 1 answered poll", |b| {
        b.iter(|| rt.block_on(poll(0)))
    });
    g.throughput(Throughput::Elements(4));
    g.bench_function("4 callers, 4 answered polls at once", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..4).map(|i| tokio::spawn(poll(i))).collect();
                for t in tasks {
                    t.await.unwrap();
                }
            })
        })
    });
    g.finish();
    black_box(emulator);
}

criterion_group!(benches, bench_polls);
criterion_main!(benches);
