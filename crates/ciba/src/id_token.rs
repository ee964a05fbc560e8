//! ID token validation (see [`crate::docs::validation`]).

use std::time::{Duration, SystemTime};

use auth_core::time::Timestamp;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Validation;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::IdTokenError;
use crate::jwks::KeySet;
use crate::keys::{Algorithm, install_jwt_crypto};
use crate::limits::{DEFAULT_LEEWAY, MAX_ID_TOKEN_BYTES};
use crate::types::{AuthReqId, ClientId};

/// The claim carrying the `auth_req_id` in push mode (CIBA §10.3.1; the claims' serde name).
#[cfg(any(test, feature = "emulator"))]
pub(crate) const AUTH_REQ_ID_CLAIM: &str = "urn:openid:params:jwt:claim:auth_req_id";

/// The verified claims of an ID token. Not secret (no tokens), but personal data: log with
/// care.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IdTokenClaims {
    /// The OP's issuer.
    pub iss: String,
    /// The user.
    pub sub: String,
    /// The audiences (one or more; always contains the client id).
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// Expiry (seconds since the epoch).
    #[serde(deserialize_with = "numeric_date")]
    pub exp: i64,
    /// Issued at (seconds since the epoch).
    #[serde(deserialize_with = "numeric_date")]
    pub iat: i64,
    /// When the user authenticated.
    #[serde(
        default,
        deserialize_with = "opt_numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub auth_time: Option<i64>,
    /// Not before.
    #[serde(
        default,
        deserialize_with = "opt_numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub nbf: Option<i64>,
    /// Authentication context class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// Authentication methods.
    #[serde(
        default,
        deserialize_with = "auth_core::json::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub amr: Vec<String>,
    /// Authorized party.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// Nonce (CIBA requests carry none; kept if an OP sends one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Access token hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// Refresh token hash (push mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rt_hash: Option<String>,
    /// The request this token answers (push mode).
    #[serde(
        rename = "urn:openid:params:jwt:claim:auth_req_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub auth_req_id: Option<String>,
    /// Every other claim (`name`, `email`, …).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

fn to_seconds<E: serde::de::Error>(v: &Value) -> Result<i64, E> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && f.abs() < 1e15)
                    .map(|f| f as i64)
            })
            .ok_or_else(|| E::custom("not a NumericDate")),
        _ => Err(E::custom("a NumericDate must be a number")),
    }
}

fn numeric_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    to_seconds(&Value::deserialize(d)?)
}

fn opt_numeric_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        v => to_seconds(&v).map(Some),
    }
}

/// What the token response (or push) the ID token came with requires of it: nothing by
/// default; name each part.
///
/// ```
/// # let id = ciba::AuthReqId::new("req-1")?;
/// let expected = ciba::Expected::default()
///     .with_access_token("at-1")
///     .with_auth_req_id(&id)
///     .in_push_mode();
/// assert!(expected.push);
/// # Ok::<(), ciba::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct Expected<'a> {
    /// The access token of the same response (`at_hash` is checked when present).
    pub access_token: Option<&'a str>,
    /// The refresh token of the same response (`rt_hash` is checked when present).
    pub refresh_token: Option<&'a str>,
    /// The request the response answers (the `auth_req_id` claim, when present, must match).
    pub auth_req_id: Option<&'a AuthReqId>,
    /// Push mode (CIBA §10.3.1): `at_hash`, the `auth_req_id` claim and (with a refresh token)
    /// `rt_hash` are required.
    pub push: bool,
}

impl<'a> Expected<'a> {
    /// The access token of the same response.
    pub fn with_access_token(mut self, token: &'a str) -> Self {
        self.access_token = Some(token);
        self
    }

    /// The refresh token of the same response.
    pub fn with_refresh_token(mut self, token: &'a str) -> Self {
        self.refresh_token = Some(token);
        self
    }

    /// The request the response answers.
    pub fn with_auth_req_id(mut self, id: &'a AuthReqId) -> Self {
        self.auth_req_id = Some(id);
        self
    }

    /// Push mode: `at_hash`, the `auth_req_id` claim and (with a refresh token) `rt_hash` are
    /// required.
    pub fn in_push_mode(mut self) -> Self {
        self.push = true;
        self
    }
}

/// Validates ID tokens of one OP for one client.
#[derive(Debug, Clone)]
pub struct IdTokenVerifier {
    issuer: String,
    client_id: ClientId,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
}

impl IdTokenVerifier {
    /// A verifier for tokens from `issuer` to `client_id`, allowing RS256, PS256 and ES256,
    /// with [`DEFAULT_LEEWAY`].
    pub fn new(issuer: impl Into<String>, client_id: ClientId) -> Self {
        install_jwt_crypto();
        IdTokenVerifier {
            issuer: issuer.into(),
            client_id,
            algorithms: vec![Algorithm::RS256, Algorithm::PS256, Algorithm::ES256],
            leeway: DEFAULT_LEEWAY,
        }
    }

    /// Replaces the algorithm allow-list.
    pub fn algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        self.algorithms = algorithms.to_vec();
        self
    }

    /// Sets the leeway on `exp`, `iat` and `nbf`.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The expected issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Reads the `kid` and `alg` of a token's header without verifying anything (to pick the
    /// key set to verify it with).
    pub fn peek_header(jwt: &str) -> Result<(Option<String>, Algorithm), IdTokenError> {
        if jwt.len() > MAX_ID_TOKEN_BYTES {
            return Err(IdTokenError::Malformed(format!(
                "longer than {MAX_ID_TOKEN_BYTES} bytes"
            )));
        }
        if jwt.split('.').count() != 3 {
            return Err(IdTokenError::Malformed("not a compact JWS".into()));
        }
        let head = jwt.split('.').next().unwrap_or_default();
        let bytes = URL_SAFE_NO_PAD
            .decode(head)
            .map_err(|_| IdTokenError::Malformed("header is not base64url".into()))?;
        let header: Map<String, Value> = serde_json::from_slice(&bytes)
            .map_err(|_| IdTokenError::Malformed("header is not a JSON object".into()))?;
        if header.contains_key("crit") {
            return Err(IdTokenError::CriticalHeader);
        }
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("none");
        let alg = Algorithm::from_name(alg)
            .ok_or_else(|| IdTokenError::AlgorithmNotAllowed(alg.chars().take(32).collect()))?;
        let kid = match header.get("kid") {
            None | Some(Value::Null) => None,
            Some(Value::String(k)) => Some(k.clone()),
            Some(_) => return Err(IdTokenError::Malformed("kid is not a string".into())),
        };
        Ok((kid, alg))
    }

    /// Verifies `jwt` against `keys` at `now` (the client's clock).
    pub fn verify(
        &self,
        jwt: &str,
        keys: &KeySet,
        now: SystemTime,
        expected: &Expected<'_>,
    ) -> Result<IdTokenClaims, IdTokenError> {
        let (kid, alg) = Self::peek_header(jwt)?;
        if !self.algorithms.contains(&alg) {
            return Err(IdTokenError::AlgorithmNotAllowed(alg.as_str().into()));
        }
        let key = match &kid {
            Some(kid) => {
                let key = keys
                    .keys()
                    .iter()
                    .find(|k| k.kid() == Some(kid.as_str()))
                    .ok_or_else(|| IdTokenError::UnknownKey {
                        kid: Some(kid.clone()),
                    })?;
                if !key.fits(alg) {
                    return Err(IdTokenError::KeyMismatch {
                        kid: Some(kid.clone()),
                        alg: alg.as_str().into(),
                    });
                }
                key
            }
            None => {
                let mut fitting = keys.keys().iter().filter(|k| k.fits(alg));
                match (fitting.next(), fitting.next()) {
                    (Some(k), None) => k,
                    (None, _) => return Err(IdTokenError::UnknownKey { kid: None }),
                    (Some(_), Some(_)) => return Err(IdTokenError::AmbiguousKey),
                }
            }
        };
        let mut validation = Validation::new(alg.jwt());
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<Map<String, Value>>(jwt, key.decoding_key(), &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature
                | jsonwebtoken::errors::ErrorKind::InvalidEcdsaKey
                | jsonwebtoken::errors::ErrorKind::InvalidRsaKey(_)
                | jsonwebtoken::errors::ErrorKind::InvalidKeyFormat => IdTokenError::BadSignature,
                _ => IdTokenError::Malformed("claims do not decode".into()),
            })?;
        let raw = Value::Object(data.claims);
        for required in ["iss", "sub", "aud", "exp", "iat"] {
            if raw.get(required).is_none_or(Value::is_null) {
                return Err(IdTokenError::MissingClaim(required));
            }
        }
        let claims: IdTokenClaims = serde_json::from_value(raw)
            .map_err(|e| IdTokenError::Malformed(format!("claims: {e}")))?;
        self.check_claims(&claims, alg, now, expected)?;
        Ok(claims)
    }

    fn check_claims(
        &self,
        c: &IdTokenClaims,
        alg: Algorithm,
        now: SystemTime,
        expected: &Expected<'_>,
    ) -> Result<(), IdTokenError> {
        if c.iss != self.issuer {
            return Err(IdTokenError::Issuer {
                expected: self.issuer.clone(),
                actual: c.iss.chars().take(256).collect(),
            });
        }
        let client = self.client_id.as_str();
        if !c.aud.iter().any(|a| a == client) {
            return Err(IdTokenError::Audience {
                expected: client.into(),
                actual: c.aud.iter().take(8).cloned().collect(),
            });
        }
        match &c.azp {
            Some(azp) if azp != client => {
                return Err(IdTokenError::AuthorizedParty {
                    expected: client.into(),
                    actual: Some(azp.chars().take(256).collect()),
                });
            }
            None if c.aud.len() > 1 => {
                return Err(IdTokenError::AuthorizedParty {
                    expected: client.into(),
                    actual: None,
                });
            }
            _ => {}
        }
        if c.sub.is_empty() {
            return Err(IdTokenError::MissingClaim("sub"));
        }
        let now = Timestamp::from_system_time(now).unix_seconds();
        let leeway = i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX);
        if now >= c.exp.saturating_add(leeway) {
            return Err(IdTokenError::Expired { exp: c.exp, now });
        }
        for t in [Some(c.iat), c.nbf].into_iter().flatten() {
            if t > now.saturating_add(leeway) {
                return Err(IdTokenError::NotYetValid { iat: t, now });
            }
        }
        match (expected.access_token, &c.at_hash) {
            (Some(token), Some(h)) if !hash_matches(alg, token, h) => {
                return Err(IdTokenError::AccessTokenHash);
            }
            (_, None) if expected.push => return Err(IdTokenError::MissingClaim("at_hash")),
            _ => {}
        }
        match (expected.refresh_token, &c.rt_hash) {
            (Some(token), Some(h)) if !hash_matches(alg, token, h) => {
                return Err(IdTokenError::RefreshTokenHash);
            }
            (Some(_), None) if expected.push => {
                return Err(IdTokenError::MissingClaim("rt_hash"));
            }
            _ => {}
        }
        if let Some(id) = expected.auth_req_id {
            match &c.auth_req_id {
                Some(claim) if claim == id.as_str() => {}
                None if !expected.push => {}
                other => {
                    return Err(IdTokenError::AuthReqId {
                        expected: id.as_str().into(),
                        actual: other.as_ref().map(|s| s.chars().take(256).collect()),
                    });
                }
            }
        }
        Ok(())
    }
}

/// The `at_hash` / `rt_hash` value of `token` for `alg` (OIDC Core §3.1.3.6): the left half of
/// the hash of its ASCII bytes, base64url without padding.
pub fn token_hash(alg: Algorithm, token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(alg.digest(), token.as_bytes());
    let bytes = digest.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

fn hash_matches(alg: Algorithm, token: &str, claimed: &str) -> bool {
    auth_core::secret::constant_time_eq(token_hash(alg, token).as_bytes(), claimed.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;
    use serde_json::json;

    const NOW: u64 = 1_800_000_000;

    fn setup() -> (SigningKey, KeySet, IdTokenVerifier) {
        let key = SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_kid("k1");
        let set = KeySet::parse(&serde_json::to_vec(&json!({"keys": [key.public_jwk()]})).unwrap())
            .unwrap();
        let v = IdTokenVerifier::new("https://op.example", ClientId::new("c1").unwrap());
        (key, set, v)
    }

    fn claims() -> Value {
        json!({"iss": "https://op.example", "sub": "alice", "aud": "c1", "exp": NOW + 600, "iat": NOW})
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn at_hash_matches_the_oidc_core_example() {
        // OIDC Core A.4 (RS256): access token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
        // at_hash "77QmUPtjPfzWtF2AnpK9RQ".
        assert_eq!(
            token_hash(
                Algorithm::RS256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn a_good_token_verifies_and_each_claim_fault_is_named() {
        let (key, set, v) = setup();
        let ok = key.sign(&claims(), Some("JWT")).unwrap();
        let c = v
            .verify(&ok, &set, at(NOW + 1), &Expected::default())
            .unwrap();
        assert_eq!(c.sub, "alice");
        assert_eq!(c.aud, vec!["c1".to_string()]);

        type Check = fn(&IdTokenError) -> bool;
        let cases: Vec<(Value, Check)> = vec![
            (json!({"iss": "https://evil.example"}), |e| {
                matches!(e, IdTokenError::Issuer { .. })
            }),
            (json!({"aud": "c2"}), |e| {
                matches!(e, IdTokenError::Audience { .. })
            }),
            (json!({"aud": ["c1", "c2"]}), |e| {
                matches!(e, IdTokenError::AuthorizedParty { actual: None, .. })
            }),
            (json!({"azp": "c2"}), |e| {
                matches!(e, IdTokenError::AuthorizedParty { .. })
            }),
            (json!({"exp": NOW - 61}), |e| {
                matches!(e, IdTokenError::Expired { .. })
            }),
            (json!({"iat": NOW + 120}), |e| {
                matches!(e, IdTokenError::NotYetValid { .. })
            }),
            (json!({"nbf": NOW + 120}), |e| {
                matches!(e, IdTokenError::NotYetValid { .. })
            }),
            (json!({"sub": null}), |e| {
                matches!(e, IdTokenError::MissingClaim("sub"))
            }),
            (json!({"exp": null}), |e| {
                matches!(e, IdTokenError::MissingClaim("exp"))
            }),
            (json!({"iat": "yesterday"}), |e| {
                matches!(e, IdTokenError::Malformed(_))
            }),
        ];
        for (patch, check) in cases {
            let mut c = claims();
            for (k, val) in patch.as_object().unwrap() {
                c[k] = val.clone();
            }
            let jwt = key.sign(&c, None).unwrap();
            let err = v
                .verify(&jwt, &set, at(NOW), &Expected::default())
                .unwrap_err();
            assert!(check(&err), "{patch}: {err:?}");
        }
        // Within the leeway.
        let mut c = claims();
        c["exp"] = json!(NOW - 30);
        let jwt = key.sign(&c, None).unwrap();
        assert!(v.verify(&jwt, &set, at(NOW), &Expected::default()).is_ok());
        // Several audiences with azp = client.
        c["aud"] = json!(["c1", "api"]);
        c["azp"] = json!("c1");
        let jwt = key.sign(&c, None).unwrap();
        assert!(v.verify(&jwt, &set, at(NOW), &Expected::default()).is_ok());
    }

    #[test]
    fn signature_algorithm_and_key_faults() {
        let (key, set, v) = setup();
        let ok = key.sign(&claims(), None).unwrap();
        let mut parts: Vec<String> = ok.split('.').map(str::to_owned).collect();
        // Flip a signature bit.
        let mut sig = URL_SAFE_NO_PAD.decode(&parts[2]).unwrap();
        sig[5] ^= 1;
        parts[2] = URL_SAFE_NO_PAD.encode(sig);
        let bad = parts.join(".");
        assert_eq!(
            v.verify(&bad, &set, at(NOW), &Expected::default()),
            Err(IdTokenError::BadSignature)
        );
        // Change a claim after signing.
        let mut p = parts.clone();
        p[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&json!({"iss": "https://op.example", "sub": "mallory", "aud": "c1", "exp": NOW + 600, "iat": NOW})).unwrap());
        let forged = p.join(".");
        assert!(
            v.verify(&forged, &set, at(NOW), &Expected::default())
                .is_err()
        );
        // alg none and HS256.
        for alg in ["none", "HS256"] {
            let h = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","kid":"k1"}}"#));
            let jwt = format!("{h}.{}.", parts[1]);
            assert!(matches!(
                v.verify(&jwt, &set, at(NOW), &Expected::default()),
                Err(IdTokenError::AlgorithmNotAllowed(_))
            ));
        }
        // crit.
        let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","kid":"k1","crit":["exp"]}"#);
        assert_eq!(
            v.verify(
                &format!("{h}.{}.{}", parts[1], parts[2]),
                &set,
                at(NOW),
                &Expected::default()
            ),
            Err(IdTokenError::CriticalHeader)
        );
        // Unknown kid.
        let other = key.clone().with_kid("k2").sign(&claims(), None).unwrap();
        assert!(matches!(
            v.verify(&other, &set, at(NOW), &Expected::default()),
            Err(IdTokenError::UnknownKey { .. })
        ));
        // An algorithm the allow-list does not have.
        let strict = v.clone().algorithms(&[Algorithm::PS256]);
        assert!(matches!(
            strict.verify(&ok, &set, at(NOW), &Expected::default()),
            Err(IdTokenError::AlgorithmNotAllowed(_))
        ));
        // RS256 header against an EC key.
        let rsa = SigningKey::generate(Algorithm::RS256)
            .unwrap()
            .with_kid("k1");
        let jwt = rsa.sign(&claims(), None).unwrap();
        assert!(matches!(
            v.verify(&jwt, &set, at(NOW), &Expected::default()),
            Err(IdTokenError::KeyMismatch { .. })
        ));
        // Junk.
        for junk in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.!!.!!",
            &"a".repeat(MAX_ID_TOKEN_BYTES + 1),
        ] {
            assert!(v.verify(junk, &set, at(NOW), &Expected::default()).is_err());
        }
    }

    #[test]
    fn push_mode_requires_hashes_and_the_auth_req_id_claim() {
        let (key, set, v) = setup();
        let id = AuthReqId::new("req-1").unwrap();
        let mut c = claims();
        c["at_hash"] = json!(token_hash(Algorithm::ES256, "at-1"));
        c["rt_hash"] = json!(token_hash(Algorithm::ES256, "rt-1"));
        c[AUTH_REQ_ID_CLAIM] = json!("req-1");
        let jwt = key.sign(&c, None).unwrap();
        let push = Expected {
            access_token: Some("at-1"),
            refresh_token: Some("rt-1"),
            auth_req_id: Some(&id),
            push: true,
        };
        let claims_ok = v.verify(&jwt, &set, at(NOW), &push).unwrap();
        assert_eq!(claims_ok.auth_req_id.as_deref(), Some("req-1"));

        let wrong_at = Expected {
            access_token: Some("at-2"),
            ..push
        };
        assert_eq!(
            v.verify(&jwt, &set, at(NOW), &wrong_at),
            Err(IdTokenError::AccessTokenHash)
        );
        let wrong_rt = Expected {
            refresh_token: Some("rt-2"),
            ..push
        };
        assert_eq!(
            v.verify(&jwt, &set, at(NOW), &wrong_rt),
            Err(IdTokenError::RefreshTokenHash)
        );
        let other = AuthReqId::new("req-2").unwrap();
        let wrong_id = Expected {
            auth_req_id: Some(&other),
            ..push
        };
        assert!(matches!(
            v.verify(&jwt, &set, at(NOW), &wrong_id),
            Err(IdTokenError::AuthReqId { .. })
        ));

        for missing in ["at_hash", "rt_hash", AUTH_REQ_ID_CLAIM] {
            let mut c2 = c.clone();
            c2.as_object_mut().unwrap().remove(missing);
            let jwt = key.sign(&c2, None).unwrap();
            assert!(v.verify(&jwt, &set, at(NOW), &push).is_err(), "{missing}");
            // Poll mode does not require them.
            let poll = Expected {
                push: false,
                ..push
            };
            assert!(v.verify(&jwt, &set, at(NOW), &poll).is_ok(), "{missing}");
        }
    }
}
