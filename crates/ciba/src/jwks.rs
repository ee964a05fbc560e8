//! The OP's JSON Web Key Set: parsing, and a cache that refetches on an unknown `kid` (see
//! [`crate::docs::validation`]).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use jsonwebtoken::DecodingKey;
use serde_json::Value;

use crate::Error;
use crate::keys::Algorithm;
use crate::limits::{
    JWKS_MAX_AGE, MAX_KEYS, MAX_UNKNOWN_KID_FETCHES, NEGATIVE_KID_TTL, UNKNOWN_KID_WINDOW,
};

/// The kind of a public key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyType {
    /// RSA (2048 bits or more).
    Rsa,
    /// EC on the named curve (`P-256`, `P-384`).
    Ec(String),
}

/// One usable public signing key from a JWK set.
#[derive(Clone)]
pub struct PublicKey {
    kid: Option<String>,
    kty: KeyType,
    alg: Option<String>,
    key: DecodingKey,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey")
            .field("kid", &self.kid)
            .field("kty", &self.kty)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    /// The key id.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The key type.
    pub fn key_type(&self) -> &KeyType {
        &self.kty
    }

    /// Whether this key may verify `alg`: the key type and curve fit, and the key's own `alg`
    /// (when it has one) is `alg`.
    pub fn fits(&self, alg: Algorithm) -> bool {
        let type_fits = match (&self.kty, alg.curve()) {
            (KeyType::Rsa, None) => true,
            (KeyType::Ec(crv), Some(want)) => crv == want,
            _ => false,
        };
        type_fits && self.alg.as_deref().is_none_or(|a| a == alg.as_str())
    }

    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.key
    }

    /// Parses one JWK; `None` for keys this crate does not use (encryption keys, `oct`, `OKP`,
    /// small RSA moduli, unknown curves, malformed members).
    pub fn from_jwk(jwk: &Value) -> Option<Self> {
        let s = |k: &str| jwk.get(k).and_then(Value::as_str);
        if s("use").is_some_and(|u| u != "sig") {
            return None;
        }
        if let Some(ops) = jwk.get("key_ops").and_then(Value::as_array)
            && !ops.iter().any(|o| o.as_str() == Some("verify"))
        {
            return None;
        }
        let kid = s("kid").map(str::to_owned);
        let alg = s("alg").map(str::to_owned);
        match s("kty")? {
            "RSA" => {
                let n = decode_b64(s("n")?)?;
                let e = decode_b64(s("e")?)?;
                let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
                if bits < 2048 || e.is_empty() || e.len() > 8 {
                    return None;
                }
                Some(PublicKey {
                    kid,
                    kty: KeyType::Rsa,
                    alg,
                    key: DecodingKey::from_rsa_raw_components(&n, &e),
                })
            }
            "EC" => {
                let crv = s("crv")?;
                let size = match crv {
                    "P-256" => 32,
                    "P-384" => 48,
                    _ => return None,
                };
                let x = decode_b64(s("x")?)?;
                let y = decode_b64(s("y")?)?;
                if x.len() != size || y.len() != size {
                    return None;
                }
                let mut point = Vec::with_capacity(1 + 2 * size);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                Some(PublicKey {
                    kid,
                    kty: KeyType::Ec(crv.to_owned()),
                    alg,
                    key: DecodingKey::from_ec_der(&point),
                })
            }
            _ => None,
        }
    }
}

fn decode_b64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()
}

/// The usable signing keys of a JWK set.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<PublicKey>,
}

impl KeySet {
    /// Parses a JWK set document (`{"keys": [...]}`), keeping the keys this crate can use and
    /// skipping the others (an OP may publish encryption or Ed448 keys next to its signing
    /// keys). At most [`MAX_KEYS`] are kept.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        #[derive(serde::Deserialize)]
        struct Doc {
            #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
            keys: Vec<Value>,
        }
        let doc: Doc = auth_core::json::from_slice("JWK set", bytes)?;
        Ok(KeySet {
            keys: doc
                .keys
                .iter()
                .filter_map(PublicKey::from_jwk)
                .take(MAX_KEYS)
                .collect(),
        })
    }

    /// The keys.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// Whether a key has this kid.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid() == Some(kid))
    }
}

#[derive(Default)]
struct CacheState {
    keys: Option<Arc<KeySet>>,
    fetched_at: Option<SystemTime>,
    generation: u64,
    unknown_kid_fetches: VecDeque<SystemTime>,
    misses: HashMap<String, SystemTime>,
}

/// The client's JWKS cache (see the module documentation).
#[derive(Default)]
pub(crate) struct JwksCache {
    state: Mutex<CacheState>,
    fetching: tokio::sync::Mutex<()>,
}

impl JwksCache {
    fn lock(&self) -> MutexGuard<'_, CacheState> {
        auth_core::sync::lock(&self.state)
    }

    /// The key set to verify a token naming `kid` with, fetching with `fetch` when there is
    /// none yet, when it is older than [`JWKS_MAX_AGE`], or (within the budget) when it does not
    /// hold `kid`.
    pub(crate) async fn keys_for<F, Fut>(
        &self,
        kid: Option<&str>,
        now: SystemTime,
        fetch: F,
    ) -> Result<Arc<KeySet>, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<KeySet, Error>>,
    {
        let (seen_generation, refresh) = {
            let mut st = self.lock();
            match decide(&mut st, kid, now) {
                Decision::Use(keys) => return Ok(keys),
                Decision::Fetch { refresh } => (st.generation, refresh),
            }
        };
        // Single flight: one fetch at a time; whoever waited uses its result.
        let _flight = self.fetching.lock().await;
        {
            let mut st = self.lock();
            if st.generation != seen_generation
                && let Some(keys) = st.keys.clone()
            {
                if let Some(k) = kid
                    && !keys.has_kid(k)
                {
                    st.misses.insert(k.to_owned(), now);
                }
                return Ok(keys);
            }
            if !refresh {
                // Fetching for an unknown kid: within the budget only.
                let age = |t: SystemTime| now.duration_since(t).unwrap_or(Duration::ZERO);
                while st
                    .unknown_kid_fetches
                    .front()
                    .is_some_and(|t| age(*t) >= UNKNOWN_KID_WINDOW)
                {
                    st.unknown_kid_fetches.pop_front();
                }
                if st.unknown_kid_fetches.len() >= MAX_UNKNOWN_KID_FETCHES
                    && let Some(keys) = st.keys.clone()
                {
                    return Ok(keys);
                }
                st.unknown_kid_fetches.push_back(now);
            }
        }
        let fetched = Arc::new(fetch().await?);
        let mut st = self.lock();
        st.keys = Some(fetched.clone());
        st.fetched_at = Some(now);
        st.generation += 1;
        if let Some(k) = kid {
            if fetched.has_kid(k) {
                st.misses.remove(k);
            } else {
                st.misses.insert(k.to_owned(), now);
            }
        }
        Ok(fetched)
    }
}

fn decide(st: &mut CacheState, kid: Option<&str>, now: SystemTime) -> Decision {
    let age = |t: SystemTime| now.duration_since(t).unwrap_or(Duration::ZERO);
    let Some(keys) = st.keys.clone() else {
        return Decision::Fetch { refresh: true };
    };
    if st.fetched_at.is_none_or(|t| age(t) >= JWKS_MAX_AGE) {
        return Decision::Fetch { refresh: true };
    }
    let Some(kid) = kid else {
        return Decision::Use(keys);
    };
    if keys.has_kid(kid) {
        return Decision::Use(keys);
    }
    // An unknown kid: refetch (budget permitting), unless it was looked for recently.
    st.misses.retain(|_, t| age(*t) < NEGATIVE_KID_TTL);
    if st.misses.contains_key(kid) {
        return Decision::Use(keys);
    }
    Decision::Fetch { refresh: false }
}

enum Decision {
    Use(Arc<KeySet>),
    /// `refresh`: no keys yet, or too old (not counted against the unknown-kid budget).
    Fetch {
        refresh: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn set_with(kids: &[&str]) -> KeySet {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let keys: Vec<Value> = kids
            .iter()
            .map(|k| key.clone().with_kid(*k).public_jwk())
            .collect();
        KeySet::parse(&serde_json::to_vec(&serde_json::json!({ "keys": keys })).unwrap()).unwrap()
    }

    #[test]
    fn parse_keeps_usable_signing_keys_only() {
        let rsa = SigningKey::generate(Algorithm::RS256).unwrap().public_jwk();
        let ec = SigningKey::generate(Algorithm::ES256).unwrap().public_jwk();
        let mut enc = rsa.clone();
        enc["use"] = serde_json::json!("enc");
        let doc = serde_json::json!({"keys": [
            rsa, ec, enc,
            {"kty": "oct", "k": "c2VjcmV0"},
            {"kty": "OKP", "crv": "Ed448", "x": "AA"},
            {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"},
            "not an object",
        ]});
        let set = KeySet::parse(&serde_json::to_vec(&doc).unwrap()).unwrap();
        assert_eq!(set.keys().len(), 2);
        assert!(set.keys()[0].fits(Algorithm::RS256));
        assert!(
            !set.keys()[0].fits(Algorithm::PS256),
            "the JWK says alg RS256"
        );
        assert!(set.keys()[1].fits(Algorithm::ES256));
        assert!(!set.keys()[1].fits(Algorithm::ES384));
        assert!(
            KeySet::parse(br#"{"keys": null}"#)
                .unwrap()
                .keys()
                .is_empty()
        );
        assert!(KeySet::parse(b"\"keys\"").is_err());
    }

    #[tokio::test]
    async fn unknown_kids_refetch_once_then_are_bounded() {
        let cache = JwksCache::default();
        let fetches = AtomicUsize::new(0);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let fetch = |kids: &'static [&'static str]| {
            fetches.fetch_add(1, Ordering::SeqCst);
            async move { Ok(set_with(kids)) }
        };
        cache
            .keys_for(Some("a"), t0, || fetch(&["a"]))
            .await
            .unwrap();
        cache
            .keys_for(Some("a"), t0, || fetch(&["a"]))
            .await
            .unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        // Rotation: "b" appears.
        let keys = cache
            .keys_for(Some("b"), t0, || fetch(&["b", "a"]))
            .await
            .unwrap();
        assert!(keys.has_kid("b"));
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        // A kid that never appears: one refetch, then remembered as unknown.
        for _ in 0..10 {
            cache
                .keys_for(Some("zz"), t0, || fetch(&["b", "a"]))
                .await
                .unwrap();
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
        // Many different unknown kids: at most the budget per window.
        for i in 0..50 {
            let kid = format!("random-{i}");
            cache
                .keys_for(Some(&kid), t0, || fetch(&["b", "a"]))
                .await
                .unwrap();
        }
        assert_eq!(fetches.load(Ordering::SeqCst), MAX_UNKNOWN_KID_FETCHES + 1);
        // After the window, the budget is back; after the max age, a plain refresh happens.
        let later = t0 + JWKS_MAX_AGE;
        cache
            .keys_for(Some("a"), later, || fetch(&["a"]))
            .await
            .unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), MAX_UNKNOWN_KID_FETCHES + 2);
    }

    #[tokio::test]
    async fn concurrent_refetches_are_single_flight() {
        let cache = Arc::new(JwksCache::default());
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        cache
            .keys_for(Some("old"), t0, || async { Ok(set_with(&["old"])) })
            .await
            .unwrap();
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let cache = cache.clone();
            let fetches = fetches.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .keys_for(Some("new"), t0, || async move {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(30)).await;
                        Ok(set_with(&["new", "old"]))
                    })
                    .await
                    .unwrap()
                    .has_kid("new")
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap());
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }
}
