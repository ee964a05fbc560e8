//! Compact JWS with `RS256`, `RS384` and `RS512` only (RSASSA-PKCS1-v1_5, RFC 7518 §3.3).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature::UnparsedPublicKey;
use serde::{Deserialize, Serialize};

use super::{JoseError, JwsAlgorithm, MAX_JWS_LEN, b64d, b64e, split_compact};

/// The protected header of a JWS as far as LaunchKey uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JwsHeader {
    /// The algorithm.
    pub alg: String,
    /// The key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The type (LaunchKey sends none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// Critical extensions (none is understood; present only to reject it, RFC 7515 §4.1.11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crit: Option<serde_json::Value>,
    /// RFC 7797 unencoded payload flag (not supported; present only to reject it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b64: Option<serde_json::Value>,
}

/// Signs `payload` as a compact JWS with header `{"alg":..,"kid":..}`.
pub fn sign(
    alg: JwsAlgorithm,
    key: &KeyPair,
    kid: Option<&str>,
    payload: &[u8],
) -> Result<String, JoseError> {
    let header = JwsHeader {
        alg: alg.as_str().to_owned(),
        kid: kid.map(str::to_owned),
        typ: None,
        crit: None,
        b64: None,
    };
    let header_json = serde_json::to_vec(&header).map_err(|_| JoseError::Crypto)?;
    let signing_input = format!("{}.{}", b64e(&header_json), b64e(payload));
    let sig = raw_sign(alg, key, signing_input.as_bytes())?;
    Ok(format!("{signing_input}.{}", b64e(&sig)))
}

/// Signs `message` with RSASSA-PKCS1-v1_5 (exposed for vectors and the emulator).
pub fn raw_sign(alg: JwsAlgorithm, key: &KeyPair, message: &[u8]) -> Result<Vec<u8>, JoseError> {
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(alg.encoding(), &SystemRandom::new(), message, &mut sig)
        .map_err(|_| JoseError::Crypto)?;
    Ok(sig)
}

/// Verifies an RSASSA-PKCS1-v1_5 signature; `public_key` is DER (SPKI or PKCS#1).
pub fn raw_verify(
    alg: JwsAlgorithm,
    public_key: &[u8],
    message: &[u8],
    sig: &[u8],
) -> Result<(), JoseError> {
    UnparsedPublicKey::new(alg.verification(), public_key)
        .verify(message, sig)
        .map_err(|_| JoseError::BadSignature)
}

/// A parsed, not yet verified compact JWS.
#[derive(Debug, Clone)]
pub struct UnverifiedJws {
    header: JwsHeader,
    alg: JwsAlgorithm,
    signing_input: String,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl UnverifiedJws {
    /// Splits and decodes a compact JWS; rejects algorithms outside the allow-list.
    pub fn parse(token: &str) -> Result<Self, JoseError> {
        let token = token.trim();
        let [h, p, s] = split_compact::<3>(token, MAX_JWS_LEN, "a compact JWS has three parts")?;
        let header_bytes = b64d(h)?;
        let header: JwsHeader = serde_json::from_slice(&header_bytes)
            .map_err(|_| JoseError::Malformed("JWS header is not a JSON object"))?;
        if header.crit.is_some() || header.b64.is_some() {
            return Err(JoseError::Malformed(
                "JWS header has `crit`/`b64`: no extension is understood",
            ));
        }
        let alg = JwsAlgorithm::parse(&header.alg)?;
        let payload = b64d(p)?;
        let signature = b64d(s)?;
        Ok(UnverifiedJws {
            header,
            alg,
            signing_input: format!("{h}.{p}"),
            payload,
            signature,
        })
    }

    /// The protected header.
    pub fn header(&self) -> &JwsHeader {
        &self.header
    }

    /// The algorithm (from the allow-list).
    pub fn algorithm(&self) -> JwsAlgorithm {
        self.alg
    }

    /// Verifies the signature with `public_key` (DER SPKI) and returns the payload.
    pub fn verify(&self, public_key: &[u8]) -> Result<&[u8], JoseError> {
        raw_verify(
            self.alg,
            public_key,
            self.signing_input.as_bytes(),
            &self.signature,
        )?;
        Ok(&self.payload)
    }
}
