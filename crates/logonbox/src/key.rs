//! Authorized keys: key lines, SSH key blobs, fingerprints, the listing, key choice and
//! signature verification.
//!
//! The phone app holds the private keys; the credential server publishes each user's public
//! keys as OpenSSH `authorized_keys` lines. This module parses them (spec §3.2, §5.1), computes
//! OpenSSH `SHA256:` fingerprints (§3.3) and verifies the phone's signatures (§3.4) with
//! aws-lc-rs.

use std::fmt;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use crate::b64;
use crate::error::Error;
use crate::wire::{Reader, WireError, Writer};

/// `flags` for an ed25519 signature (flags select nothing for ed25519).
pub(crate) const FLAGS_ED25519: u32 = 0;
/// `flags` asking for an RSA PKCS#1 v1.5 signature with SHA-256 (`SSH_AGENT_RSA_SHA2_256`).
pub(crate) const FLAGS_RSA_SHA2_256: u32 = 2;
/// `flags` asking for an RSA PKCS#1 v1.5 signature with SHA-512 (`SSH_AGENT_RSA_SHA2_512`),
/// what every official client requests.
pub(crate) const FLAGS_RSA_SHA2_512: u32 = 4;

/// The smallest RSA modulus accepted, in bits.
pub(crate) const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus accepted, in bits.
pub(crate) const MAX_RSA_BITS: usize = 8192;

/// A key algorithm the LogonBox Authenticator app uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum KeyType {
    /// `ssh-ed25519`, the app's "LogonBox Key" (preferred).
    #[serde(rename = "ssh-ed25519")]
    Ed25519,
    /// `ssh-rsa`, the app's "Legacy RSA" key.
    #[serde(rename = "ssh-rsa")]
    Rsa,
}

impl KeyType {
    /// The SSH algorithm name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Ed25519 => "ssh-ed25519",
            KeyType::Rsa => "ssh-rsa",
        }
    }

    /// Every supported key type.
    pub fn all() -> [KeyType; 2] {
        [KeyType::Ed25519, KeyType::Rsa]
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The hash an RSA signature is requested with (it becomes the `flags` value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum RsaHash {
    /// SHA-512, flags 4 (what every official client asks for; the default).
    #[default]
    Sha512,
    /// SHA-256, flags 2.
    Sha256,
}

impl RsaHash {
    /// The `flags` value asking for this hash.
    pub fn flags(self) -> u32 {
        match self {
            RsaHash::Sha512 => FLAGS_RSA_SHA2_512,
            RsaHash::Sha256 => FLAGS_RSA_SHA2_256,
        }
    }
}

auth_core::id_type! {
    /// An OpenSSH SHA-256 key fingerprint: `SHA256:` followed by the 43 characters of unpadded
    /// standard base64 of the digest (what `ssh-keygen -l -E sha256` prints). Compared byte
    /// for byte.
    pub struct Fingerprint("key fingerprint", max = FINGERPRINT_LEN, check = check_fingerprint);
}

/// `SHA256:` and 43 base64 characters.
const FINGERPRINT_LEN: usize = 7 + 43;

fn check_fingerprint(text: &str) -> Result<(), &'static str> {
    let digest = text
        .strip_prefix("SHA256:")
        .ok_or("must start with `SHA256:`")?;
    let base64 = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    if digest.len() != 43 || !digest.bytes().all(base64) {
        return Err("must be `SHA256:` and 43 characters of unpadded standard base64");
    }
    Ok(())
}

impl Fingerprint {
    /// The fingerprint of an SSH public key blob.
    pub fn of_blob(blob: &[u8]) -> Self {
        let hash = digest::digest(&digest::SHA256, blob);
        Fingerprint(format!(
            "SHA256:{}",
            b64::encode_std_unpadded(hash.as_ref())
        ))
    }
}

#[derive(Clone, PartialEq, Eq)]
enum Material {
    Ed25519([u8; 32]),
    Rsa { e: Vec<u8>, n: Vec<u8> },
}

/// One public key of a user, as listed by the credential server.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizedKey {
    material: Material,
    blob: Vec<u8>,
    comment: String,
    fingerprint: Fingerprint,
}

impl fmt::Debug for AuthorizedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizedKey")
            .field("type", &self.key_type())
            .field("fingerprint", &self.fingerprint)
            .field("comment", &self.comment)
            .finish()
    }
}

/// Why a line of a key listing was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// The key type is not `ssh-ed25519` or `ssh-rsa` (e.g. `ecdsa-sha2-nistp256`).
    UnsupportedType(String),
    /// The line or its key blob does not parse.
    Malformed(String),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::UnsupportedType(t) => write!(f, "unsupported key type `{t}`"),
            SkipReason::Malformed(why) => write!(f, "malformed key line: {why}"),
        }
    }
}

impl AuthorizedKey {
    /// Parses one `authorized_keys` line: `<type> <base64 blob> [comment…]`.
    ///
    /// The key type is taken from the blob (the leading token is informational, as in the
    /// official clients); the comment may be missing. Standard base64, padded or not.
    ///
    /// ```
    /// use logonbox::{AuthorizedKey, KeyType};
    ///
    /// let key = AuthorizedKey::parse_line(
    ///     "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL0ISnrIwtSbFr9oRTZNHJfaWcHH7xYKeCRJx8O3N+7+ LogonBox Key",
    /// )
    /// .unwrap();
    /// assert_eq!(key.key_type(), KeyType::Ed25519);
    /// assert_eq!(key.comment(), "LogonBox Key");
    /// assert_eq!(key.fingerprint().as_str(), "SHA256:HJmwFN7kuX0rZzPGi+4kqO2ftzQ1DAN5BwqW6B3d2AE");
    /// ```
    pub fn parse_line(line: &str) -> Result<Self, SkipReason> {
        let line = line.trim();
        let (_label, rest) = line
            .split_once(char::is_whitespace)
            .ok_or_else(|| SkipReason::Malformed("no key blob after the key type".into()))?;
        let rest = rest.trim_start();
        let (encoded, comment) = match rest.split_once(char::is_whitespace) {
            Some((encoded, comment)) => (encoded, comment.trim()),
            None => (rest, ""),
        };
        if encoded.contains(['-', '_']) {
            return Err(SkipReason::Malformed(
                "key blob is not standard base64".into(),
            ));
        }
        let blob = b64::decode_lenient(encoded).map_err(SkipReason::Malformed)?;
        Self::from_blob(&blob, comment)
    }

    /// Parses an SSH public key blob (`ssh-ed25519` or `ssh-rsa`), with a comment.
    ///
    /// RSA moduli must be 2048 to 8192 bits and every `mpint` minimally encoded.
    pub fn from_blob(blob: &[u8], comment: &str) -> Result<Self, SkipReason> {
        let malformed = |e: WireError| SkipReason::Malformed(e.to_string());
        let mut r = Reader::new(blob);
        let key_type = r.bytes("key type").map_err(malformed)?;
        let material = match key_type {
            b"ssh-ed25519" => {
                let pk = r.bytes("ed25519 public key").map_err(malformed)?;
                let pk: [u8; 32] = pk.try_into().map_err(|_| {
                    SkipReason::Malformed(format!(
                        "ed25519 public key is {} bytes, not 32",
                        pk.len()
                    ))
                })?;
                Material::Ed25519(pk)
            }
            b"ssh-rsa" => {
                let e = r.mpint_unsigned("rsa e").map_err(malformed)?.to_vec();
                let n = r.mpint_unsigned("rsa n").map_err(malformed)?.to_vec();
                if e.is_empty() || n.is_empty() {
                    return Err(SkipReason::Malformed("RSA e or n is zero".into()));
                }
                // A usable public exponent is odd and at least 3 (65537 in practice); a key
                // that could never verify is skipped rather than chosen.
                if e.last().is_some_and(|b| b & 1 == 0) || e == [1] || e.len() > 8 {
                    return Err(SkipReason::Malformed(
                        "RSA public exponent is not usable".into(),
                    ));
                }
                let bits = bit_length(&n);
                if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                    return Err(SkipReason::Malformed(format!(
                        "RSA modulus of {bits} bits is outside {MIN_RSA_BITS}..={MAX_RSA_BITS}"
                    )));
                }
                Material::Rsa { e, n }
            }
            other => {
                return Err(SkipReason::UnsupportedType(
                    String::from_utf8_lossy(other).chars().take(64).collect(),
                ));
            }
        };
        r.finish().map_err(malformed)?;
        Ok(AuthorizedKey {
            material,
            blob: blob.to_vec(),
            comment: comment.to_owned(),
            fingerprint: Fingerprint::of_blob(blob),
        })
    }

    /// An ed25519 key from its 32 public bytes.
    pub fn ed25519(public_key: [u8; 32], comment: &str) -> Self {
        let mut w = Writer::new();
        w.text("ssh-ed25519").bytes(&public_key);
        let blob = w.into_bytes();
        AuthorizedKey {
            material: Material::Ed25519(public_key),
            fingerprint: Fingerprint::of_blob(&blob),
            blob,
            comment: comment.to_owned(),
        }
    }

    /// An RSA key from its big-endian public exponent and modulus.
    pub fn rsa(e: &[u8], n: &[u8], comment: &str) -> Result<Self, SkipReason> {
        let mut w = Writer::new();
        w.text("ssh-rsa").mpint_unsigned(e).mpint_unsigned(n);
        Self::from_blob(&w.into_bytes(), comment)
    }

    /// The key type.
    pub fn key_type(&self) -> KeyType {
        match self.material {
            Material::Ed25519(_) => KeyType::Ed25519,
            Material::Rsa { .. } => KeyType::Rsa,
        }
    }

    /// The OpenSSH SHA-256 fingerprint (the key's identity on the wire).
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    /// The comment (the key's name in the app, e.g. `LogonBox Key`, `Legacy RSA`).
    pub fn comment(&self) -> &str {
        &self.comment
    }

    /// The SSH public key blob.
    pub fn blob(&self) -> &[u8] {
        &self.blob
    }

    /// The RSA modulus size in bits (`None` for ed25519).
    pub fn rsa_bits(&self) -> Option<usize> {
        match &self.material {
            Material::Rsa { n, .. } => Some(bit_length(n)),
            Material::Ed25519(_) => None,
        }
    }

    /// The RSA public exponent and modulus, big-endian without leading zeros (`None` for
    /// ed25519).
    pub fn rsa_components(&self) -> Option<(&[u8], &[u8])> {
        match &self.material {
            Material::Rsa { e, n } => Some((e, n)),
            Material::Ed25519(_) => None,
        }
    }

    /// The ed25519 public key (`None` for RSA).
    pub fn ed25519_public_key(&self) -> Option<&[u8; 32]> {
        match &self.material {
            Material::Ed25519(pk) => Some(pk),
            Material::Rsa { .. } => None,
        }
    }

    /// The `authorized_keys` line for this key.
    pub fn to_line(&self) -> String {
        let mut line = format!("{} {}", self.key_type(), b64::encode_std(&self.blob));
        if !self.comment.is_empty() {
            line.push(' ');
            line.push_str(&self.comment);
        }
        line
    }

    /// The flags to request a signature from this key with.
    pub fn flags_for(&self, rsa_hash: RsaHash) -> u32 {
        match self.key_type() {
            KeyType::Ed25519 => FLAGS_ED25519,
            KeyType::Rsa => rsa_hash.flags(),
        }
    }

    /// Verifies a raw signature (spec §3.4) over `message`.
    ///
    /// * ed25519: flags must be 0; RFC 8032 pure Ed25519 over `message`.
    /// * RSA: flags 4 → PKCS#1 v1.5 with SHA-512, 2 → with SHA-256. Any other flags (which the
    ///   official clients verify with SHA-1) → [`Error::UnsupportedFlags`]: SHA-1 is never
    ///   accepted.
    ///
    /// A signature that does not verify → [`Error::SignatureInvalid`].
    pub fn verify(&self, flags: u32, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        let unsupported = || Error::UnsupportedFlags {
            key_type: self.key_type(),
            flags,
        };
        let ok = match &self.material {
            Material::Ed25519(pk) => {
                if flags != FLAGS_ED25519 {
                    return Err(unsupported());
                }
                UnparsedPublicKey::new(&signature::ED25519, pk)
                    .verify(message, signature)
                    .is_ok()
            }
            Material::Rsa { e, n } => {
                let params = match flags {
                    FLAGS_RSA_SHA2_512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                    FLAGS_RSA_SHA2_256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    _ => return Err(unsupported()),
                };
                RsaPublicKeyComponents { n, e }
                    .verify(params, message, signature)
                    .is_ok()
            }
        };
        if ok {
            Ok(())
        } else {
            Err(Error::SignatureInvalid)
        }
    }
}

fn bit_length(be: &[u8]) -> usize {
    match be.iter().position(|b| *b != 0) {
        None => 0,
        Some(i) => (be.len() - i - 1) * 8 + (8 - be[i].leading_zeros() as usize),
    }
}

/// A line of a listing that was not used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkippedLine {
    /// The 1-based line number.
    pub line: usize,
    /// Why it was skipped.
    pub reason: SkipReason,
}

/// A user's key listing (response of `GET /app/api/authenticator/keys/{principal}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyListing {
    keys: Vec<AuthorizedKey>,
    skipped: Vec<SkippedLine>,
}

/// The header every listing starts with (spec §5.1).
pub(crate) const LISTING_HEADER: &str = "# Authorized";

/// Why a key listing was refused as a whole (single bad key lines are skipped instead, see
/// [`SkippedLine`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ListingError {
    /// The body is empty or blank.
    #[error("the listing is empty")]
    Empty,
    /// The first non-blank line does not start with `# Authorized`.
    #[error("the listing does not start with `# Authorized`")]
    MissingHeader,
}

impl KeyListing {
    /// Parses a listing: the first non-empty line must start with `# Authorized`; then `#`
    /// comments and blank lines are skipped, key lines are parsed, and lines that do not parse
    /// (or hold another key type) are skipped and reported in [`KeyListing::skipped`] (and as a
    /// `tracing` event at `debug` level).
    ///
    /// A listing without the header is refused with a [`ListingError`] (the official SDKs'
    /// "Failed to list keys."): it is not a key listing at all (an HTML login page, a proxy's
    /// error page), and reading keys out of it would be guesswork.
    ///
    /// ```
    /// let listing = logonbox::KeyListing::parse(
    ///     "# Authorized keys for lee@logonbox.com\r\n\r\n# a comment\r\n\
    ///      ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBA== x\r\n\
    ///      ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL0ISnrIwtSbFr9oRTZNHJfaWcHH7xYKeCRJx8O3N+7+ LogonBox Key\r\n",
    /// )
    /// .unwrap();
    /// assert_eq!(listing.keys().len(), 1);
    /// assert_eq!(listing.skipped().len(), 1);
    /// ```
    pub fn parse(text: &str) -> Result<Self, ListingError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim()));
        match lines.find(|(_, l)| !l.is_empty()) {
            Some((_, first)) if first.starts_with(LISTING_HEADER) => {}
            Some(_) => return Err(ListingError::MissingHeader),
            None => return Err(ListingError::Empty),
        }
        let mut listing = KeyListing::default();
        for (line, text) in lines {
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            match AuthorizedKey::parse_line(text) {
                Ok(key) => listing.keys.push(key),
                Err(reason) => {
                    tracing::debug!(line, ?reason, "skipping a line of the key listing");
                    listing.skipped.push(SkippedLine { line, reason });
                }
            }
        }
        Ok(listing)
    }

    /// The usable keys, in server order.
    pub fn keys(&self) -> &[AuthorizedKey] {
        &self.keys
    }

    /// The lines that were skipped.
    pub fn skipped(&self) -> &[SkippedLine] {
        &self.skipped
    }

    /// The key with this fingerprint, if listed.
    pub fn find(&self, fingerprint: &Fingerprint) -> Option<&AuthorizedKey> {
        self.keys.iter().find(|k| k.fingerprint() == fingerprint)
    }

    /// Chooses a key by `selection`, among keys of the `allowed` types.
    pub fn select(&self, selection: &KeySelection, allowed: &[KeyType]) -> Option<&AuthorizedKey> {
        let mut usable = self.keys.iter().filter(|k| allowed.contains(&k.key_type()));
        match selection {
            KeySelection::FirstListed => usable.next(),
            KeySelection::PreferEd25519 => {
                let usable: Vec<_> = usable.collect();
                usable
                    .iter()
                    .find(|k| k.key_type() == KeyType::Ed25519)
                    .or_else(|| usable.first())
                    .copied()
            }
            KeySelection::Fingerprint(fp) => usable.find(|k| k.fingerprint() == fp),
        }
    }
}

/// Which of a user's keys to ask for a signature. Only one key is ever asked per
/// authentication: the user is never prompted twice.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeySelection {
    /// The first ed25519 key in server order, else the first RSA key (the Java SDK's rule for
    /// the redirect flow; ed25519 is the app's current algorithm, RSA its legacy one). Default.
    #[default]
    PreferEd25519,
    /// The first usable key in server order (the official SDKs' rule for the direct flow).
    FirstListed,
    /// Exactly the key with this fingerprint.
    Fingerprint(Fingerprint),
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL0ISnrIwtSbFr9oRTZNHJfaWcHH7xYKeCRJx8O3N+7+ LogonBox Key";

    #[test]
    fn line_variants() {
        let k = AuthorizedKey::parse_line(ED).unwrap();
        assert_eq!(k.to_line(), ED);
        // No comment, extra spaces, tabs.
        let bare = AuthorizedKey::parse_line(
            "ssh-ed25519\tAAAAC3NzaC1lZDI1NTE5AAAAIL0ISnrIwtSbFr9oRTZNHJfaWcHH7xYKeCRJx8O3N+7+",
        )
        .unwrap();
        assert_eq!(bare.comment(), "");
        assert_eq!(bare.fingerprint(), k.fingerprint());
        let spaced = AuthorizedKey::parse_line(
            "  ssh-ed25519   AAAAC3NzaC1lZDI1NTE5AAAAIL0ISnrIwtSbFr9oRTZNHJfaWcHH7xYKeCRJx8O3N+7+   My  Key ",
        )
        .unwrap();
        assert_eq!(spaced.comment(), "My  Key");
        assert!(matches!(
            AuthorizedKey::parse_line("ssh-ed25519"),
            Err(SkipReason::Malformed(_))
        ));
        assert!(matches!(
            AuthorizedKey::parse_line("ssh-ed25519 !!!! c"),
            Err(SkipReason::Malformed(_))
        ));
        // Truncated blob.
        assert!(matches!(
            AuthorizedKey::parse_line("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL0ISnrIwtSbFr9oRTZ c"),
            Err(SkipReason::Malformed(_))
        ));
    }

    #[test]
    fn rsa_rules() {
        // Unusable exponents are refused.
        for e in [&[1u8][..], &[2], &[1, 0, 0], &[1; 9]] {
            assert!(AuthorizedKey::rsa(e, &[0xc5; 256], "e").is_err(), "{e:?}");
        }
        AuthorizedKey::rsa(&[3], &[0xc5; 256], "e").unwrap();
        // A 1024-bit modulus is refused.
        let small = AuthorizedKey::rsa(&[1, 0, 1], &[0xc5; 128], "small");
        assert!(matches!(small, Err(SkipReason::Malformed(m)) if m.contains("1024 bits")));
        let ok = AuthorizedKey::rsa(&[1, 0, 1], &[0xc5; 256], "ok").unwrap();
        assert_eq!(ok.rsa_bits(), Some(2048));
        assert_eq!(ok.flags_for(RsaHash::Sha512), 4);
        assert_eq!(ok.flags_for(RsaHash::Sha256), 2);
        // Non-canonical mpint (superfluous zero) in a hand-made blob.
        let mut w = Writer::new();
        w.text("ssh-rsa")
            .bytes(&[0, 1, 0, 1])
            .mpint_unsigned(&[0xc5; 256]);
        assert!(AuthorizedKey::from_blob(&w.into_bytes(), "").is_err());
        // Trailing bytes.
        let mut blob = ok.blob().to_vec();
        blob.push(0);
        assert!(AuthorizedKey::from_blob(&blob, "").is_err());
    }

    #[test]
    fn selection() {
        let rsa = AuthorizedKey::rsa(&[1, 0, 1], &[0xc5; 256], "rsa").unwrap();
        let ed = AuthorizedKey::parse_line(ED).unwrap();
        let listing = KeyListing {
            keys: vec![rsa.clone(), ed.clone()],
            skipped: vec![],
        };
        let all = KeyType::all();
        assert_eq!(
            listing.select(&KeySelection::PreferEd25519, &all),
            Some(&ed)
        );
        assert_eq!(listing.select(&KeySelection::FirstListed, &all), Some(&rsa));
        assert_eq!(
            listing.select(&KeySelection::PreferEd25519, &[KeyType::Rsa]),
            Some(&rsa)
        );
        assert_eq!(
            listing.select(
                &KeySelection::Fingerprint(rsa.fingerprint().clone()),
                &[KeyType::Ed25519]
            ),
            None
        );
        assert_eq!(listing.select(&KeySelection::FirstListed, &[]), None);
    }

    #[test]
    fn listing_header_rules() {
        assert_eq!(
            KeyListing::parse("# XXXXXXXXXX\n"),
            Err(ListingError::MissingHeader)
        );
        // A key line first (no header) is refused too, not read.
        assert_eq!(
            KeyListing::parse(&format!("{ED}\n")),
            Err(ListingError::MissingHeader)
        );
        assert_eq!(KeyListing::parse(""), Err(ListingError::Empty));
        assert_eq!(KeyListing::parse("\n \r\n"), Err(ListingError::Empty));
        let l = KeyListing::parse("# Authorized keys for x\n").unwrap();
        assert!(l.keys().is_empty());
        let l =
            KeyListing::parse(&format!("\u{feff}# Authorized\n{ED}\n\nssh-dss AAAA x\n")).unwrap();
        assert_eq!(l.keys().len(), 1);
        assert_eq!(l.skipped()[0].line, 4);
    }

    #[test]
    fn unsupported_flags_before_crypto() {
        let ed = AuthorizedKey::parse_line(ED).unwrap();
        assert!(matches!(
            ed.verify(4, b"m", &[0; 64]),
            Err(Error::UnsupportedFlags { flags: 4, .. })
        ));
        assert!(matches!(
            ed.verify(0, b"m", &[0; 64]),
            Err(Error::SignatureInvalid)
        ));
        assert!(matches!(
            ed.verify(0, b"m", &[]),
            Err(Error::SignatureInvalid)
        ));
        let rsa = AuthorizedKey::rsa(&[1, 0, 1], &[0xc5; 256], "rsa").unwrap();
        for flags in [0, 1, 3, 8, u32::MAX] {
            assert!(matches!(
                rsa.verify(flags, b"m", &[0; 256]),
                Err(Error::UnsupportedFlags { .. })
            ));
        }
    }

    #[test]
    fn random_lines_never_panic() {
        let mut rng = fastrand::Rng::with_seed(11);
        let ed_blob = AuthorizedKey::parse_line(ED).unwrap().blob().to_vec();
        for _ in 0..3000 {
            let mut blob = ed_blob.clone();
            let i = rng.usize(..blob.len());
            blob[i] = rng.u8(..);
            blob.truncate(rng.usize(..=blob.len()));
            let _ = AuthorizedKey::from_blob(&blob, "");
            let line = format!("ssh-rsa {} c", b64::encode_std(&blob));
            let _ = AuthorizedKey::parse_line(&line);
        }
    }
}
