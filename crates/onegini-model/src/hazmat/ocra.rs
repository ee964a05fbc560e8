//! OCRA, the OATH Challenge-Response Algorithm (RFC 6287), complete.
//!
//! * [`OcraSuite`] parses and validates a suite string once
//!   (`OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1-S064-T1M`): hash (`SHA1`/`SHA256`/`SHA512`), digits
//!   (`0` = no truncation, or `4..=10`), counter `C`, question `Q{A|N|H}{04..64}`, PIN hash
//!   `P{SHA1|SHA256|SHA512}`, session information `Snnn`, timestamp `T{1..59}S|{1..59}M|{1..48}H`.
//! * [`OcraInputs`] holds the data inputs; [`OcraSuite::compute`] builds the RFC's DataInput
//!   (`suite ‖ 0x00 ‖ C ‖ Q ‖ P ‖ S ‖ T`), runs HMAC (aws-lc-rs) and truncates as RFC 4226 does.
//! * The three modes of RFC 6287 §7: one-way ([`OcraSuite::compute`]), mutual
//!   ([`OcraSuite::mutual_server_response`], [`OcraSuite::mutual_client_response`]) and
//!   signature ([`OcraSuite::signature`]); [`OcraSuite::verify`] compares in constant time and
//!   [`OcraSuite::verify_in_window`] accepts a time-step window (used by DCR).
//! * Time steps come from an [`auth_core::Clock`] ([`TimeStep::counter_at`]), so tests move time.
//!
//! Every malformed suite or input is an [`OcraError`], never a panic.
//!
//! ```
//! use onegini_model::hazmat::ocra::{OcraInputs, OcraSuite};
//!
//! // RFC 6287 Appendix C.1, first vector.
//! let suite: OcraSuite = "OCRA-1:HOTP-SHA1-6:QN08".parse().unwrap();
//! let key = b"12345678901234567890";
//! let answer = suite.compute(key, &OcraInputs::new("00000000")).unwrap();
//! assert_eq!(answer, "237653");
//! assert!(suite.verify(key, &OcraInputs::new("00000000"), "237653").unwrap());
//! assert!("OCRA-1:HOTP-MD5-6:QN08".parse::<OcraSuite>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;

use auth_core::secret::constant_time_eq;
use aws_lc_rs::{digest, hmac};

use crate::hex;

/// A malformed OCRA suite or data input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OcraError {
    /// The suite string does not follow RFC 6287 §6.
    #[error("invalid OCRA suite `{suite}`: {reason}")]
    InvalidSuite {
        /// The suite string as given.
        suite: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A data input the suite requires was not given.
    #[error("the suite requires the {0} input")]
    MissingInput(&'static str),
    /// A data input was given that the suite does not use.
    #[error("the suite has no {0} input, but one was given")]
    UnexpectedInput(&'static str),
    /// The question does not fit the suite's question format or length.
    #[error("invalid question: {0}")]
    InvalidQuestion(String),
    /// A hashed PIN has the wrong length for the suite's PIN hash.
    #[error("the hashed PIN has {actual} bytes, the suite's PIN hash gives {expected}")]
    InvalidPinHash {
        /// Bytes the suite's hash produces.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// The session information is longer than the suite allows.
    #[error("session information of {actual} bytes exceeds the suite's {max} bytes")]
    SessionTooLong {
        /// The suite's session information length.
        max: usize,
        /// Bytes given.
        actual: usize,
    },
    /// The time is before the Unix epoch, so it has no OCRA time step.
    #[error("time before the Unix epoch has no OCRA time step")]
    TimeBeforeEpoch,
    /// A verification window wider than [`MAX_WINDOW`] steps each way.
    #[error("a verification window may span at most {MAX_WINDOW} steps each way")]
    WindowTooLarge,
}

/// The widest window [`OcraSuite::verify_in_window`] accepts, in steps each way.
pub const MAX_WINDOW: u64 = 1_000;

/// The HMAC (and PIN) hash functions RFC 6287 allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OcraHash {
    /// SHA-1 (`SHA1`).
    Sha1,
    /// SHA-256 (`SHA256`).
    Sha256,
    /// SHA-512 (`SHA512`).
    Sha512,
}

impl OcraHash {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "SHA1" => Some(OcraHash::Sha1),
            "SHA256" => Some(OcraHash::Sha256),
            "SHA512" => Some(OcraHash::Sha512),
            _ => None,
        }
    }

    /// The name used in suite strings.
    pub fn name(self) -> &'static str {
        match self {
            OcraHash::Sha1 => "SHA1",
            OcraHash::Sha256 => "SHA256",
            OcraHash::Sha512 => "SHA512",
        }
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            OcraHash::Sha1 => 20,
            OcraHash::Sha256 => 32,
            OcraHash::Sha512 => 64,
        }
    }

    fn hmac(self) -> hmac::Algorithm {
        match self {
            OcraHash::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            OcraHash::Sha256 => hmac::HMAC_SHA256,
            OcraHash::Sha512 => hmac::HMAC_SHA512,
        }
    }

    /// The digest of `data` with this hash (used for the `P` input).
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            OcraHash::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            OcraHash::Sha256 => &digest::SHA256,
            OcraHash::Sha512 => &digest::SHA512,
        };
        digest::digest(alg, data).as_ref().to_vec()
    }
}

/// How the question (challenge) is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QuestionFormat {
    /// `A`: alphanumeric, encoded as ASCII bytes.
    Alphanumeric,
    /// `N`: decimal digits, encoded as the number's big-endian bytes (via its hex form).
    Numeric,
    /// `H`: hexadecimal, decoded to bytes.
    Hex,
}

/// The unit of a timestamp step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeUnit {
    /// Seconds (`S`, 1–59).
    Seconds,
    /// Minutes (`M`, 1–59).
    Minutes,
    /// Hours (`H`, 1–48).
    Hours,
}

/// The timestamp step of a suite (`T1M` = one minute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeStep {
    count: u32,
    unit: TimeUnit,
}

impl TimeStep {
    /// The number of units per step.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The unit.
    pub fn unit(&self) -> TimeUnit {
        self.unit
    }

    /// The step length in seconds.
    pub fn seconds(&self) -> u64 {
        let unit = match self.unit {
            TimeUnit::Seconds => 1,
            TimeUnit::Minutes => 60,
            TimeUnit::Hours => 3600,
        };
        u64::from(self.count) * unit
    }

    /// The time-step counter (`T`) for a Unix time in seconds.
    pub fn counter_for_unix(&self, unix_seconds: i64) -> Result<u64, OcraError> {
        let secs = u64::try_from(unix_seconds).map_err(|_| OcraError::TimeBeforeEpoch)?;
        Ok(secs / self.seconds().max(1))
    }

    /// The time-step counter (`T`) at the clock's current time.
    pub fn counter_at(&self, clock: &dyn auth_core::Clock) -> Result<u64, OcraError> {
        self.counter_for_unix(clock.unix_seconds())
    }
}

/// The question part of a suite: format and maximum length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QuestionSpec {
    format: QuestionFormat,
    max_len: usize,
}

impl QuestionSpec {
    /// The question format.
    pub fn format(&self) -> QuestionFormat {
        self.format
    }

    /// The maximum question length in characters (4–64).
    pub fn max_len(&self) -> usize {
        self.max_len
    }
}

/// A parsed, validated OCRA suite.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OcraSuite {
    text: String,
    hash: OcraHash,
    digits: u32,
    counter: bool,
    question: QuestionSpec,
    pin: Option<OcraHash>,
    session_len: Option<usize>,
    timestamp: Option<TimeStep>,
}

impl fmt::Debug for OcraSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OcraSuite({})", self.text)
    }
}

impl fmt::Display for OcraSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for OcraSuite {
    type Err = OcraError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OcraSuite::parse(s)
    }
}

fn two_or_three_digits(text: &str, len: usize) -> Option<u32> {
    if text.len() == len && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

impl OcraSuite {
    /// Parses and validates a suite string (RFC 6287 §6).
    pub fn parse(text: &str) -> Result<Self, OcraError> {
        let bad = |reason: &str| OcraError::InvalidSuite {
            suite: text.chars().take(128).collect(),
            reason: reason.to_owned(),
        };
        if !text.is_ascii() {
            return Err(bad("a suite is ASCII text"));
        }
        let parts: Vec<&str> = text.split(':').collect();
        let [version, crypto, data] = parts.as_slice() else {
            return Err(bad(
                "expected three parts `OCRA-1:<CryptoFunction>:<DataInput>`",
            ));
        };
        if *version != "OCRA-1" {
            return Err(bad("the algorithm must be `OCRA-1`"));
        }
        let crypto_parts: Vec<&str> = crypto.split('-').collect();
        let [hotp, hash, digits] = crypto_parts.as_slice() else {
            return Err(bad("the crypto function must be `HOTP-SHAx-t`"));
        };
        if *hotp != "HOTP" {
            return Err(bad("the crypto function must start with `HOTP`"));
        }
        let hash =
            OcraHash::parse(hash).ok_or_else(|| bad("the hash must be SHA1, SHA256 or SHA512"))?;
        let digits: u32 = match *digits {
            // Canonical decimal only (`6`, `10`, not `06`): the suite text is hashed into the
            // DataInput, so two spellings of one suite would give different responses.
            d if !d.is_empty()
                && d.len() <= 2
                && !(d.len() == 2 && d.starts_with('0'))
                && d.bytes().all(|b| b.is_ascii_digit()) =>
            {
                d.parse().map_err(|_| bad("bad digit count"))?
            }
            _ => return Err(bad("the digit count must be 0 or 4..10")),
        };
        if digits != 0 && !(4..=10).contains(&digits) {
            return Err(bad("the digit count must be 0 or 4..10"));
        }

        let mut tokens = data.split('-').peekable();
        let counter = if tokens.peek() == Some(&"C") {
            tokens.next();
            true
        } else {
            false
        };
        let q = tokens
            .next()
            .ok_or_else(|| bad("the data input needs a question `Q<A|N|H><04..64>`"))?;
        let question = {
            let rest = q
                .strip_prefix('Q')
                .ok_or_else(|| bad("the data input needs a question `Q<A|N|H><04..64>`"))?;
            let mut chars = rest.chars();
            let format = match chars.next() {
                Some('A') => QuestionFormat::Alphanumeric,
                Some('N') => QuestionFormat::Numeric,
                Some('H') => QuestionFormat::Hex,
                _ => return Err(bad("the question format must be A, N or H")),
            };
            let len = two_or_three_digits(chars.as_str(), 2)
                .ok_or_else(|| bad("the question length must be two digits, 04..64"))?;
            if !(4..=64).contains(&len) {
                return Err(bad("the question length must be 04..64"));
            }
            QuestionSpec {
                format,
                max_len: len as usize,
            }
        };
        let mut pin = None;
        let mut session_len = None;
        let mut timestamp = None;
        let mut order = 0u8;
        for token in tokens {
            if let Some(h) = token.strip_prefix('P') {
                if order >= 1 {
                    return Err(bad("`P` must come before `S` and `T`, once"));
                }
                order = 1;
                pin = Some(
                    OcraHash::parse(h)
                        .ok_or_else(|| bad("the PIN hash must be SHA1, SHA256 or SHA512"))?,
                );
            } else if let Some(n) = token.strip_prefix('S') {
                if order >= 2 {
                    return Err(bad("`S` must come before `T`, once"));
                }
                order = 2;
                let n = two_or_three_digits(n, 3)
                    .ok_or_else(|| bad("session information must be `S` and three digits"))?;
                if n == 0 {
                    return Err(bad("session information length must be at least 1"));
                }
                session_len = Some(n as usize);
            } else if let Some(t) = token.strip_prefix('T') {
                if order >= 3 {
                    return Err(bad("`T` may appear once, last"));
                }
                order = 3;
                let (num, unit) = t
                    .split_at_checked(t.len().saturating_sub(1))
                    .ok_or_else(|| bad("the time step must be ASCII"))?;
                let unit = match unit {
                    "S" => TimeUnit::Seconds,
                    "M" => TimeUnit::Minutes,
                    "H" => TimeUnit::Hours,
                    _ => return Err(bad("the time step unit must be S, M or H")),
                };
                let count = if !num.is_empty()
                    && num.len() <= 2
                    && !num.starts_with('0')
                    && num.bytes().all(|b| b.is_ascii_digit())
                {
                    num.parse::<u32>().map_err(|_| bad("bad time step"))?
                } else {
                    return Err(bad("the time step must be 1..59 S, 1..59 M or 1..48 H"));
                };
                let max = if unit == TimeUnit::Hours { 48 } else { 59 };
                if !(1..=max).contains(&count) {
                    return Err(bad("the time step must be 1..59 S, 1..59 M or 1..48 H"));
                }
                timestamp = Some(TimeStep { count, unit });
            } else {
                return Err(bad(
                    "unknown data input; expected [C-]Q..[-P..][-Snnn][-T..]",
                ));
            }
        }
        Ok(OcraSuite {
            text: text.to_owned(),
            hash,
            digits,
            counter,
            question,
            pin,
            session_len,
            timestamp,
        })
    }

    /// The suite string.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The HMAC hash.
    pub fn hash(&self) -> OcraHash {
        self.hash
    }

    /// Response digits (`0` = the full HMAC, hex-encoded).
    pub fn digits(&self) -> u32 {
        self.digits
    }

    /// Whether the suite has a counter (`C`).
    pub fn has_counter(&self) -> bool {
        self.counter
    }

    /// The question specification.
    pub fn question(&self) -> QuestionSpec {
        self.question
    }

    /// The PIN hash, when the suite has `P`.
    pub fn pin_hash(&self) -> Option<OcraHash> {
        self.pin
    }

    /// The session information length in bytes, when the suite has `S`.
    pub fn session_len(&self) -> Option<usize> {
        self.session_len
    }

    /// The timestamp step, when the suite has `T`.
    pub fn timestamp(&self) -> Option<TimeStep> {
        self.timestamp
    }

    /// The DataInput bytes of RFC 6287 §5.1 for these inputs.
    pub fn data_input(&self, inputs: &OcraInputs<'_>) -> Result<Vec<u8>, OcraError> {
        let mut data = Vec::with_capacity(self.text.len() + 1 + 8 + 128 + 64 + 8);
        data.extend_from_slice(self.text.as_bytes());
        data.push(0);
        match (self.counter, inputs.counter) {
            (true, Some(c)) => data.extend_from_slice(&c.to_be_bytes()),
            (true, None) => return Err(OcraError::MissingInput("counter (C)")),
            (false, Some(_)) => return Err(OcraError::UnexpectedInput("counter (C)")),
            (false, None) => {}
        }
        let max = if inputs.mutual {
            self.question.max_len * 2
        } else {
            self.question.max_len
        };
        data.extend_from_slice(&encode_question(
            self.question.format,
            inputs.question,
            max,
        )?);
        match (self.pin, &inputs.pin) {
            (Some(h), Some(PinInput::Plain(pin))) => data.extend_from_slice(&h.digest(pin)),
            (Some(h), Some(PinInput::Hashed(hashed))) => {
                if hashed.len() != h.output_len() {
                    return Err(OcraError::InvalidPinHash {
                        expected: h.output_len(),
                        actual: hashed.len(),
                    });
                }
                data.extend_from_slice(hashed);
            }
            (Some(_), None) => return Err(OcraError::MissingInput("PIN (P)")),
            (None, Some(_)) => return Err(OcraError::UnexpectedInput("PIN (P)")),
            (None, None) => {}
        }
        match (self.session_len, inputs.session) {
            (Some(len), Some(s)) => {
                if s.len() > len {
                    return Err(OcraError::SessionTooLong {
                        max: len,
                        actual: s.len(),
                    });
                }
                // Shorter session information is left-padded with zeros (as the RFC's
                // reference implementation does with its hex string).
                data.extend(std::iter::repeat_n(0u8, len - s.len()));
                data.extend_from_slice(s);
            }
            (Some(_), None) => return Err(OcraError::MissingInput("session information (S)")),
            (None, Some(_)) => return Err(OcraError::UnexpectedInput("session information (S)")),
            (None, None) => {}
        }
        match (self.timestamp, inputs.timestamp) {
            (Some(_), Some(t)) => data.extend_from_slice(&t.to_be_bytes()),
            (Some(_), None) => return Err(OcraError::MissingInput("timestamp (T)")),
            (None, Some(_)) => return Err(OcraError::UnexpectedInput("timestamp (T)")),
            (None, None) => {}
        }
        Ok(data)
    }

    /// Computes the OCRA response (one-way mode, RFC 6287 §7.1).
    pub fn compute(&self, key: &[u8], inputs: &OcraInputs<'_>) -> Result<String, OcraError> {
        let data = self.data_input(inputs)?;
        let tag = hmac::sign(&hmac::Key::new(self.hash.hmac(), key), &data);
        Ok(truncate(tag.as_ref(), self.digits))
    }

    /// Checks `response` against the expected one in constant time.
    pub fn verify(
        &self,
        key: &[u8],
        inputs: &OcraInputs<'_>,
        response: &str,
    ) -> Result<bool, OcraError> {
        let expected = self.compute(key, inputs)?;
        Ok(constant_time_eq(expected.as_bytes(), response.as_bytes()))
    }

    /// Checks `response` for every timestamp in `[t - window, t + window]` (each comparison in
    /// constant time), where `t` is the `T` in `inputs`. Returns the offset that matched.
    ///
    /// This is how a server tolerates clock skew (the Onegini DCR model uses T1M with ±10).
    pub fn verify_in_window(
        &self,
        key: &[u8],
        inputs: &OcraInputs<'_>,
        window: u64,
        response: &str,
    ) -> Result<Option<i64>, OcraError> {
        let Some(t) = inputs.timestamp else {
            return Err(OcraError::MissingInput("timestamp (T)"));
        };
        if window > MAX_WINDOW {
            return Err(OcraError::WindowTooLarge);
        }
        let mut found = None;
        for candidate in t.saturating_sub(window)..=t.saturating_add(window) {
            let mut probe = inputs.clone();
            probe.timestamp = Some(candidate);
            // Check every candidate, so the time taken does not say which one matched.
            if self.verify(key, &probe, response)? && found.is_none() {
                found = Some(candidate.wrapping_sub(t) as i64);
            }
        }
        Ok(found)
    }

    /// Mutual mode, server side (RFC 6287 §7.3): the server's response over
    /// `client challenge ‖ server challenge`.
    pub fn mutual_server_response(
        &self,
        key: &[u8],
        client_challenge: &str,
        server_challenge: &str,
        extra: &OcraInputs<'_>,
    ) -> Result<String, OcraError> {
        let q = format!("{client_challenge}{server_challenge}");
        let mut inputs = extra.clone();
        inputs.question = &q;
        inputs.mutual = true;
        self.compute(key, &inputs)
    }

    /// Mutual mode, client side (RFC 6287 §7.3): the client's response over
    /// `server challenge ‖ client challenge`.
    pub fn mutual_client_response(
        &self,
        key: &[u8],
        server_challenge: &str,
        client_challenge: &str,
        extra: &OcraInputs<'_>,
    ) -> Result<String, OcraError> {
        let q = format!("{server_challenge}{client_challenge}");
        let mut inputs = extra.clone();
        inputs.question = &q;
        inputs.mutual = true;
        self.compute(key, &inputs)
    }

    /// Plain signature mode (RFC 6287 §7.2): the signature over a signature challenge
    /// (a transaction summary, a hash of it…), optionally with a timestamp in `extra`.
    pub fn signature(
        &self,
        key: &[u8],
        signature_challenge: &str,
        extra: &OcraInputs<'_>,
    ) -> Result<String, OcraError> {
        let mut inputs = extra.clone();
        inputs.question = signature_challenge;
        self.compute(key, &inputs)
    }
}

/// The PIN data input: the PIN itself (hashed with the suite's hash), or its hash.
#[derive(Clone)]
enum PinInput<'a> {
    Plain(&'a [u8]),
    Hashed(&'a [u8]),
}

/// The data inputs of one OCRA computation. Debug output never shows the PIN.
#[derive(Clone)]
pub struct OcraInputs<'a> {
    counter: Option<u64>,
    question: &'a str,
    pin: Option<PinInput<'a>>,
    session: Option<&'a [u8]>,
    timestamp: Option<u64>,
    mutual: bool,
}

impl fmt::Debug for OcraInputs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OcraInputs")
            .field("counter", &self.counter)
            .field("question", &self.question)
            .field("pin", &self.pin.as_ref().map(|_| "[redacted]"))
            .field("session_len", &self.session.map(<[u8]>::len))
            .field("timestamp", &self.timestamp)
            .field("mutual", &self.mutual)
            .finish()
    }
}

impl<'a> OcraInputs<'a> {
    /// Inputs with a question and nothing else.
    pub fn new(question: &'a str) -> Self {
        OcraInputs {
            counter: None,
            question,
            pin: None,
            session: None,
            timestamp: None,
            mutual: false,
        }
    }

    /// Sets the counter (`C`).
    pub fn counter(mut self, counter: u64) -> Self {
        self.counter = Some(counter);
        self
    }

    /// Sets the PIN (`P`); it is hashed with the suite's PIN hash.
    pub fn pin(mut self, pin: &'a [u8]) -> Self {
        self.pin = Some(PinInput::Plain(pin));
        self
    }

    /// Sets the already hashed PIN (`P`).
    pub fn pin_hash(mut self, hashed: &'a [u8]) -> Self {
        self.pin = Some(PinInput::Hashed(hashed));
        self
    }

    /// Sets the session information (`S`); shorter values are left-padded with zeros.
    pub fn session(mut self, session: &'a [u8]) -> Self {
        self.session = Some(session);
        self
    }

    /// Sets the timestamp step counter (`T`), e.g. from [`TimeStep::counter_at`].
    pub fn timestamp(mut self, t: u64) -> Self {
        self.timestamp = Some(t);
        self
    }

    /// Marks the question as a mutual-mode concatenation of two challenges, which may be up to
    /// twice the suite's question length (RFC 6287 Appendix C.2 uses 16 characters with `QA08`).
    pub fn mutual(mut self) -> Self {
        self.mutual = true;
        self
    }
}

fn encode_question(format: QuestionFormat, q: &str, max: usize) -> Result<[u8; 128], OcraError> {
    if q.is_empty() {
        return Err(OcraError::InvalidQuestion("the question is empty".into()));
    }
    if q.len() > max {
        return Err(OcraError::InvalidQuestion(format!(
            "{} characters, the suite allows at most {max}",
            q.len()
        )));
    }
    let bytes = match format {
        QuestionFormat::Alphanumeric => {
            if !q.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
                return Err(OcraError::InvalidQuestion(
                    "an alphanumeric question must be printable ASCII".into(),
                ));
            }
            q.as_bytes().to_vec()
        }
        QuestionFormat::Numeric => {
            if !q.bytes().all(|b| b.is_ascii_digit()) {
                return Err(OcraError::InvalidQuestion(
                    "a numeric question must be decimal digits".into(),
                ));
            }
            let mut h = decimal_to_hex(q);
            if !h.len().is_multiple_of(2) {
                h.push('0');
            }
            hex::decode(&h).map_err(|e| OcraError::InvalidQuestion(e.to_string()))?
        }
        QuestionFormat::Hex => {
            if !q.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(OcraError::InvalidQuestion(
                    "a hex question must be hexadecimal digits".into(),
                ));
            }
            let mut h = q.to_owned();
            if !h.len().is_multiple_of(2) {
                h.push('0');
            }
            hex::decode(&h).map_err(|e| OcraError::InvalidQuestion(e.to_string()))?
        }
    };
    let mut out = [0u8; 128];
    // Every format is at most 128 bytes long here (max ≤ 128 characters); guard anyway.
    if bytes.len() > out.len() {
        return Err(OcraError::InvalidQuestion("longer than 128 bytes".into()));
    }
    out[..bytes.len()].copy_from_slice(&bytes);
    Ok(out)
}

/// A decimal digit string of any length → its value in uppercase hex without leading zeros
/// (`"0"` for zero).
fn decimal_to_hex(decimal: &str) -> String {
    let mut digits: Vec<u32> = decimal.bytes().map(|b| u32::from(b - b'0')).collect();
    let mut out = Vec::new();
    loop {
        // Divide the decimal number by 16.
        let mut rem = 0u32;
        let mut next = Vec::with_capacity(digits.len());
        for d in &digits {
            let cur = rem * 10 + d;
            let q = cur / 16;
            rem = cur % 16;
            if !(next.is_empty() && q == 0) {
                next.push(q);
            }
        }
        out.push(
            char::from_digit(rem, 16)
                .unwrap_or('0')
                .to_ascii_uppercase(),
        );
        if next.is_empty() {
            break;
        }
        digits = next;
    }
    out.iter().rev().collect()
}

fn truncate(mac: &[u8], digits: u32) -> String {
    if digits == 0 {
        return hex::encode(mac);
    }
    let offset = usize::from(mac.last().copied().unwrap_or(0) & 0x0f);
    let chunk = [
        mac.get(offset).copied().unwrap_or(0) & 0x7f,
        mac.get(offset + 1).copied().unwrap_or(0),
        mac.get(offset + 2).copied().unwrap_or(0),
        mac.get(offset + 3).copied().unwrap_or(0),
    ];
    let binary = u64::from(u32::from_be_bytes(chunk));
    let modulo = 10u64.pow(digits);
    format!("{:0width$}", binary % modulo, width = digits as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct File {
        keys: std::collections::HashMap<String, Key>,
        vectors: Vec<Vector>,
    }
    #[derive(serde::Deserialize)]
    struct Key {
        hex: String,
    }
    #[derive(serde::Deserialize)]
    struct Vector {
        id: String,
        kind: String,
        suite: String,
        key: String,
        question: String,
        counter: Option<u64>,
        pin: Option<String>,
        timestamp_hex: Option<String>,
        session_hex: Option<String>,
        expected: String,
    }

    #[test]
    fn every_rfc_6287_vector_passes() {
        let file: File =
            serde_json::from_str(include_str!("../../tests/data/ocra-rfc6287.json")).unwrap();
        assert_eq!(file.vectors.len(), 70, "the RFC has 70 vectors");
        for v in &file.vectors {
            let suite: OcraSuite = v.suite.parse().unwrap();
            let key = hex::decode(&file.keys[&v.key].hex).unwrap();
            let session = v.session_hex.as_ref().map(|s| hex::decode(s).unwrap());
            let mut inputs = OcraInputs::new(&v.question);
            if let Some(c) = v.counter {
                inputs = inputs.counter(c);
            }
            if let Some(p) = &v.pin {
                inputs = inputs.pin(p.as_bytes());
            }
            if let Some(s) = &session {
                inputs = inputs.session(s);
            }
            if let Some(t) = &v.timestamp_hex {
                inputs = inputs.timestamp(u64::from_str_radix(t, 16).unwrap());
            }
            if v.kind == "mutual" {
                inputs = inputs.mutual();
            }
            assert_eq!(
                suite.compute(&key, &inputs).unwrap(),
                v.expected,
                "{}",
                v.id
            );
        }
    }

    #[test]
    fn mutual_and_signature_helpers_match_the_rfc() {
        let k32 = b"12345678901234567890123456789012";
        let s: OcraSuite = "OCRA-1:HOTP-SHA256-8:QA08".parse().unwrap();
        let none = OcraInputs::new("");
        assert_eq!(
            s.mutual_server_response(k32, "CLI22220", "SRV11110", &none)
                .unwrap(),
            "28247970"
        );
        assert_eq!(
            s.mutual_client_response(k32, "SRV11110", "CLI22220", &none)
                .unwrap(),
            "15510767"
        );
        assert_eq!(s.signature(k32, "SIG10000", &none).unwrap(), "53095496");
        // Without the mutual flag a 16-character question is too long for QA08.
        assert!(matches!(
            s.compute(k32, &OcraInputs::new("CLI22220SRV11110")),
            Err(OcraError::InvalidQuestion(_))
        ));
    }

    #[test]
    fn malformed_suites_are_typed_errors() {
        for bad in [
            "",
            "OCRA-1",
            "OCRA-2:HOTP-SHA1-6:QN08",
            "OCRA-1:TOTP-SHA1-6:QN08",
            "OCRA-1:HOTP-MD5-6:QN08",
            "OCRA-1:HOTP-SHA1-3:QN08",
            "OCRA-1:HOTP-SHA1-11:QN08",
            "OCRA-1:HOTP-SHA1-x:QN08",
            "OCRA-1:HOTP-SHA1-6:QX08",
            "OCRA-1:HOTP-SHA1-6:QN03",
            "OCRA-1:HOTP-SHA1-6:QN65",
            "OCRA-1:HOTP-SHA1-6:QN8",
            "OCRA-1:HOTP-SHA1-6:C",
            "OCRA-1:HOTP-SHA1-6:QN08-PMD5",
            "OCRA-1:HOTP-SHA1-6:QN08-S64",
            "OCRA-1:HOTP-SHA1-6:QN08-S000",
            "OCRA-1:HOTP-SHA1-6:QN08-T0M",
            "OCRA-1:HOTP-SHA1-6:QN08-T60S",
            "OCRA-1:HOTP-SHA1-6:QN08-T49H",
            "OCRA-1:HOTP-SHA1-6:QN08-T1D",
            "OCRA-1:HOTP-SHA1-6:QN08-T",
            "OCRA-1:HOTP-SHA1-6:QN08-T1M-PSHA1",
            "OCRA-1:HOTP-SHA1-6:QN08-C",
            "OCRA-1:HOTP-SHA1-6:QN08:extra",
            "OCRA-1:HOTP-SHA1-6:QN08-X",
            "OCRA-1:HOTP-SHA1-6:QN08-T1M-T1M",
            "OCRA-1:HOTP-SHA1-6:QN08-ü",
            // Non-canonical numbers: the suite text is part of the DataInput.
            "OCRA-1:HOTP-SHA1-06:QN08",
            "OCRA-1:HOTP-SHA1-00:QN08",
            "OCRA-1:HOTP-SHA1-6:QN08-T01M",
            "OCRA-1:HOTP-SHA1-6:QN08-T00S",
            "OCRA-1:HOTP-SHA1-6:QN08-T+1M",
            "OCRA-1:HOTP-SHA1-+6:QN08",
            "OCRA-1:HOTP-SHA1-6:QN+8",
            "OCRA-1:HOTP-SHA1-6:QN08-S+64",
            // Wrong case, stray separators, empty parts.
            "ocra-1:HOTP-SHA1-6:QN08",
            "OCRA-1:HOTP-sha1-6:QN08",
            "OCRA-1:HOTP-SHA1-6:qn08",
            "OCRA-1:HOTP-SHA1-6:QN08-t1m",
            "OCRA-1:HOTP-SHA1-6:QN08-",
            "OCRA-1:HOTP-SHA1-6:-QN08",
            "OCRA-1:HOTP-SHA1-6:C-C-QN08",
            "OCRA-1:HOTP-SHA1-6:QN08-PSHA1-PSHA1",
            "OCRA-1:HOTP-SHA1-6:QN08-S064-S064",
            "OCRA-1:HOTP-SHA1-6:QN08-T1M-S064",
            "OCRA-1:HOTP-SHA1--6:QN08",
            "OCRA-1::QN08",
            ":::",
        ] {
            assert!(
                matches!(OcraSuite::parse(bad), Err(OcraError::InvalidSuite { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn suites_parse_to_typed_values() {
        let s: OcraSuite = "OCRA-1:HOTP-SHA512-10:C-QH64-PSHA256-S128-T48H"
            .parse()
            .unwrap();
        assert_eq!(s.hash(), OcraHash::Sha512);
        assert_eq!(s.digits(), 10);
        assert!(s.has_counter());
        assert_eq!(s.question().format(), QuestionFormat::Hex);
        assert_eq!(s.question().max_len(), 64);
        assert_eq!(s.pin_hash(), Some(OcraHash::Sha256));
        assert_eq!(s.session_len(), Some(128));
        assert_eq!(s.timestamp().unwrap().seconds(), 48 * 3600);
        // Every step size the RFC allows parses, with its length in seconds.
        for (t, secs) in [
            ("1S", 1),
            ("59S", 59),
            ("1M", 60),
            ("59M", 59 * 60),
            ("1H", 3600),
            ("48H", 48 * 3600),
        ] {
            let s: OcraSuite = format!("OCRA-1:HOTP-SHA1-6:QN08-T{t}").parse().unwrap();
            assert_eq!(s.timestamp().unwrap().seconds(), secs, "{t}");
        }
        for digits in [0, 4, 5, 6, 7, 8, 9, 10] {
            let s: OcraSuite = format!("OCRA-1:HOTP-SHA256-{digits}:QN08").parse().unwrap();
            assert_eq!(s.digits(), digits);
            let r = s.compute(b"k", &OcraInputs::new("1")).unwrap();
            assert_eq!(r.len(), if digits == 0 { 64 } else { digits as usize });
        }
        let s: OcraSuite = "OCRA-1:HOTP-SHA1-0:QA04-T30S".parse().unwrap();
        assert_eq!(s.digits(), 0);
        assert_eq!(s.timestamp().unwrap().seconds(), 30);
        assert_eq!(s.to_string(), "OCRA-1:HOTP-SHA1-0:QA04-T30S");
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        let k = b"key";
        let s: OcraSuite = "OCRA-1:HOTP-SHA1-6:C-QN08-PSHA1-S004-T1M".parse().unwrap();
        let full = |q| {
            OcraInputs::new(q)
                .counter(1)
                .pin(b"1234")
                .session(b"ab")
                .timestamp(5)
        };
        assert!(s.compute(k, &full("1234")).is_ok());
        assert_eq!(
            s.compute(k, &OcraInputs::new("1").pin(b"1").session(b"").timestamp(1)),
            Err(OcraError::MissingInput("counter (C)"))
        );
        assert!(matches!(
            s.compute(k, &full("12a4")),
            Err(OcraError::InvalidQuestion(_))
        ));
        assert!(matches!(
            s.compute(k, &full("123456789")),
            Err(OcraError::InvalidQuestion(_))
        ));
        assert!(matches!(
            s.compute(k, &full("")),
            Err(OcraError::InvalidQuestion(_))
        ));
        assert!(matches!(
            s.compute(k, &full("1").session(b"12345")),
            Err(OcraError::SessionTooLong { max: 4, actual: 5 })
        ));
        assert!(matches!(
            s.compute(k, &full("1").pin_hash(b"short")),
            Err(OcraError::InvalidPinHash { .. })
        ));
        let plain: OcraSuite = "OCRA-1:HOTP-SHA1-6:QH08".parse().unwrap();
        assert!(matches!(
            plain.compute(k, &OcraInputs::new("zz")),
            Err(OcraError::InvalidQuestion(_))
        ));
        assert_eq!(
            plain.compute(k, &OcraInputs::new("ab").timestamp(1)),
            Err(OcraError::UnexpectedInput("timestamp (T)"))
        );
        assert_eq!(
            plain.compute(k, &OcraInputs::new("ab").counter(1)),
            Err(OcraError::UnexpectedInput("counter (C)"))
        );
        let qa: OcraSuite = "OCRA-1:HOTP-SHA1-6:QA08".parse().unwrap();
        assert!(matches!(
            qa.compute(k, &OcraInputs::new("héllo")),
            Err(OcraError::InvalidQuestion(_))
        ));
        // The PIN never shows in Debug.
        let dbg = format!("{:?}", OcraInputs::new("1").pin(b"98765"));
        assert!(!dbg.contains("98765"), "{dbg}");
    }

    #[test]
    fn pin_hash_and_plain_pin_agree() {
        let s: OcraSuite = "OCRA-1:HOTP-SHA256-8:QN08-PSHA1".parse().unwrap();
        let k = b"12345678901234567890123456789012";
        let hashed = OcraHash::Sha1.digest(b"1234");
        assert_eq!(
            hex::encode(&hashed),
            "7110eda4d09e062aa5e4a390b0a572ac0d2c0220"
        );
        assert_eq!(
            s.compute(k, &OcraInputs::new("00000000").pin(b"1234"))
                .unwrap(),
            s.compute(k, &OcraInputs::new("00000000").pin_hash(&hashed))
                .unwrap()
        );
    }

    #[test]
    fn numeric_questions_beyond_64_bits() {
        assert_eq!(decimal_to_hex("0"), "0");
        assert_eq!(decimal_to_hex("255"), "FF");
        assert_eq!(decimal_to_hex("00000000"), "0");
        assert_eq!(decimal_to_hex("11111111"), "A98AC7");
        assert_eq!(
            decimal_to_hex("340282366920938463463374607431768211456"),
            "100000000000000000000000000000000"
        );
        let s: OcraSuite = "OCRA-1:HOTP-SHA1-6:QN64".parse().unwrap();
        let q = "9".repeat(64);
        assert_eq!(s.compute(b"k", &OcraInputs::new(&q)).unwrap().len(), 6);
    }

    #[test]
    fn window_verification_reports_the_offset() {
        let s: OcraSuite = "OCRA-1:HOTP-SHA256-8:QH64-T1M".parse().unwrap();
        let q = "ab".repeat(32);
        let r = s
            .compute(b"sig", &OcraInputs::new(&q).timestamp(1000))
            .unwrap();
        for (server_t, expect) in [
            (1000, Some(0)),
            (990, Some(10)),
            (1010, Some(-10)),
            (989, None),
            (1011, None),
        ] {
            assert_eq!(
                s.verify_in_window(b"sig", &OcraInputs::new(&q).timestamp(server_t), 10, &r)
                    .unwrap(),
                expect,
                "{server_t}"
            );
        }
        assert!(
            !s.verify(b"sig", &OcraInputs::new(&q).timestamp(1000), "00000000")
                .unwrap()
        );
        assert_eq!(
            s.verify_in_window(
                b"sig",
                &OcraInputs::new(&q).timestamp(1000),
                MAX_WINDOW + 1,
                &r
            ),
            Err(OcraError::WindowTooLarge)
        );
        // At the edges of the counter's range nothing overflows.
        for t in [0, u64::MAX, 1 << 63] {
            let r = s
                .compute(b"sig", &OcraInputs::new(&q).timestamp(t))
                .unwrap();
            assert_eq!(
                s.verify_in_window(b"sig", &OcraInputs::new(&q).timestamp(t), 10, &r)
                    .unwrap(),
                Some(0)
            );
        }
    }

    #[test]
    fn time_steps_follow_the_clock() {
        let clock = auth_core::FakeClock::at_unix(20107446 * 60 + 59);
        let s: OcraSuite = "OCRA-1:HOTP-SHA512-8:QN08-T1M".parse().unwrap();
        assert_eq!(
            s.timestamp().unwrap().counter_at(&clock).unwrap(),
            0x132d0b6
        );
        let before =
            auth_core::FakeClock::new(std::time::UNIX_EPOCH - std::time::Duration::from_secs(5));
        assert_eq!(
            s.timestamp().unwrap().counter_at(&before),
            Err(OcraError::TimeBeforeEpoch)
        );
    }

    #[test]
    fn mangled_suites_and_inputs_never_panic() {
        // A deterministic smoke fuzz: mutate valid suites character by character and feed the
        // results (and odd questions) through parse and compute.
        let seeds = [
            "OCRA-1:HOTP-SHA512-10:C-QH64-PSHA256-S128-T48H",
            "OCRA-1:HOTP-SHA1-6:QN08",
            "OCRA-1:HOTP-SHA256-0:QA10-T30S",
        ];
        let alphabet = b"OCRA-1:HOTPSH25610QNACPSTMH-:0987 \xff";
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut parsed = 0;
        let long = "9".repeat(70);
        for round in 0..20_000 {
            let mut bytes = seeds[round % seeds.len()].as_bytes().to_vec();
            for _ in 0..(next() % 4 + 1) {
                let pos = (next() as usize) % (bytes.len() + 1);
                let c = alphabet[(next() as usize) % alphabet.len()];
                match next() % 3 {
                    0 if pos < bytes.len() => bytes[pos] = c,
                    1 if pos < bytes.len() => {
                        bytes.remove(pos);
                    }
                    _ => bytes.insert(pos, c),
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(suite) = OcraSuite::parse(&text) {
                parsed += 1;
                let q = ["0", "1234", "zz", "ABCDEF", long.as_str()][(next() % 5) as usize];
                let inputs = OcraInputs::new(q)
                    .counter(next())
                    .pin(b"1234")
                    .session(b"s")
                    .timestamp(next());
                let _ = suite.compute(b"key", &inputs);
            }
        }
        assert!(
            parsed > 100,
            "the mutations should keep some suites valid ({parsed})"
        );
    }

    #[test]
    fn zero_digits_gives_the_full_hmac() {
        let s: OcraSuite = "OCRA-1:HOTP-SHA256-0:QN08".parse().unwrap();
        let r = s.compute(b"k", &OcraInputs::new("1")).unwrap();
        assert_eq!(r.len(), 64);
    }
}
