//! The PIN-protected refresh-token blob (`hazmat::PinProtectedSecret`) as it comes back from
//! device storage: the stored state (`StoredState`, the JSON `FileStorage::load` reads) and a
//! bare blob, opened with a PIN (its hex fields checked with an independent decoder); the
//! stored `PinPolicy` applied to a PIN.
//!
//! Two kinds of input:
//! * JSON (a stored state or a bare blob): every blob is opened with two PINs. Invariants:
//!   never a panic; opening yields exactly as many bytes as the ciphertext (≤ 32) whatever the
//!   PIN (untagged: no PIN oracle); sealing the result again with the same salt and iterations
//!   gives the same ciphertext; a stored PIN policy that passes `check` accepts only PINs of
//!   its length made of digits and not on its block list.
//! * `!` + bytes: a secret (≤ 32 bytes), a PIN, a salt and an iteration count taken from the
//!   bytes are sealed and opened. Invariants: the right PIN gives the secret back; the blob
//!   round-trips through JSON.
//!
//! PBKDF2 runs the stored iteration count: blobs above `MAX_ITERATIONS` (2000) are not opened
//! here, to keep runs fast (the crate itself refuses more than 10⁷).

use onegini_model::hazmat::PinProtectedSecret;
use onegini_model::{Pin, PinPolicy, StoredState};

/// Hex as the crate reads it (either case, even length), written here independently: the
/// crate's own `hex` module is private.
mod hex {
    pub fn decode(text: &str) -> Result<Vec<u8>, ()> {
        if !text.len().is_multiple_of(2) {
            return Err(());
        }
        text.as_bytes()
            .chunks_exact(2)
            .map(|pair| {
                let digits = std::str::from_utf8(pair).map_err(|_| ())?;
                if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(());
                }
                u8::from_str_radix(digits, 16).map_err(|_| ())
            })
            .collect()
    }
}

/// Highest PBKDF2 iteration count opened per input (keeps an execution under ~2 ms).
const MAX_ITERATIONS: u32 = 2_000;

fn check_blob(blob: &PinProtectedSecret) {
    if blob.iterations() > MAX_ITERATIONS {
        return;
    }
    let salt = hex::decode(blob.salt_hex());
    let ct = hex::decode(blob.ciphertext_hex());
    for pin in ["31415", "00000"] {
        let pin = Pin::new(pin);
        match blob.open(&pin) {
            Ok(plain) => {
                let ct = ct.as_ref().expect("opened, so the ciphertext is hex");
                assert_eq!(plain.len(), ct.len());
                assert!(plain.len() <= 32);
                let salt = salt.as_ref().expect("opened, so the salt is hex");
                let again =
                    PinProtectedSecret::seal_with_salt(&plain, &pin, blob.iterations(), salt)
                        .expect("re-seal");
                assert_eq!(hex::decode(again.ciphertext_hex()).expect("hex"), *ct);
                assert_eq!(again.open(&pin).expect("open").as_slice(), plain.as_slice());
            }
            Err(_) => {
                assert!(
                    salt.is_err()
                        || ct.as_ref().map_or(true, |c| c.len() > 32)
                        || blob.iterations() == 0,
                    "a well-formed blob did not open"
                );
            }
        }
    }
}

fn check_policy(policy: &PinPolicy, pin: &str) {
    if policy.check().is_err() {
        return;
    }
    if policy.validate(&Pin::new(pin)).is_ok() {
        assert_eq!(pin.len(), policy.pin_length);
        assert!(pin.bytes().all(|b| b.is_ascii_digit()));
        assert!(!policy.blocklist.iter().any(|b| b == pin));
    }
}

/// Runs one input (what libFuzzer hands the target); panics when an invariant breaks.
pub fn run(data: &[u8]) {
    if let Some(rest) = data.strip_prefix(b"!") {
        let (secret, rest) = rest.split_at(rest.len().min(32));
        let (salt, rest) = rest.split_at(rest.len().min(16));
        let iterations = 1 + u32::from(rest.first().copied().unwrap_or(0));
        let pin: String = rest
            .iter()
            .skip(1)
            .take(32)
            .map(|b| char::from(b'0' + b % 10))
            .collect();
        let pin = Pin::new(pin);
        let blob = PinProtectedSecret::seal_with_salt(secret, &pin, iterations, salt)
            .expect("sealing a ≤ 32-byte secret works");
        assert_eq!(blob.open(&pin).expect("opens").as_slice(), secret);
        let json = serde_json::to_string(&blob).expect("serializes");
        let back: PinProtectedSecret = serde_json::from_str(&json).expect("reads back");
        assert_eq!(back, blob);
        check_blob(&blob);
        return;
    }
    if let Ok(state) = serde_json::from_slice::<StoredState>(data) {
        for profile in &state.profiles {
            check_blob(&profile.pin_secret);
        }
        if let Some(credentials) = &state.credentials {
            for pin in ["31415", "12345", "90210", "00000", "1234"] {
                check_policy(&credentials.pin_policy, pin);
            }
        }
        // What the storage writes back reads again to the same state.
        let json = serde_json::to_vec(&state).expect("serializes");
        let back: StoredState = serde_json::from_slice(&json).expect("reads back");
        assert_eq!(back, state);
    }
    if let Ok(blob) = serde_json::from_slice::<PinProtectedSecret>(data) {
        check_blob(&blob);
    }
}
