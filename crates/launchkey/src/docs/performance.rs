//! # What the cryptography costs
//!
//! `cargo bench -p launchkey --bench jose` measures the JOSE work per call and per webhook
//! (criterion, `benches/jose.rs`, on the fixture RSA-2048 keys). Roughly, on one core: an
//! RSA-2048 private-key operation (OAEP decrypt or PKCS#1 v1.5 sign) costs 0.3–0.4 ms, a
//! public-key one (encrypt, verify) 25–40 µs, so a webhook (one verify, two decrypts) takes
//! about 0.6 ms once the API key is cached, and a signed call adds one signature, one
//! encryption (when it has a body) and one verification to the network time.
//!
//! The emulator does the platform's half of that work for every call, outside its state lock,
//! so concurrent calls are limited by the cores, not by the lock. `cargo bench -p launchkey
//! --bench emulator` measures whole answered polls in process (client and platform work
//! together): about 2.2 ms each for one caller on a busy two-core machine, and about 510 polls
//! a second for four callers at once (against about 450 for one).
