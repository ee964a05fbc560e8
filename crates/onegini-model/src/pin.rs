//! The PIN and the PIN policy (spec §2.3, §5.5).
//!
//! The policy is documented (length 5..32, maximum similar digits, sequences allowed, block
//! list); how the ambiguous parts are read is the model's choice and lives in one function per
//! rule: similar digits count **total** occurrences (spec §9 #6), a sequence is the whole PIN as
//! an arithmetic progression with step ±1..±9, and the checks run in the order
//! length (9014) → block list (9011) → sequence (9012) → similar digits (9013).
//!
//! ```
//! use onegini_model::{Pin, PinPolicy, PinValidationError};
//!
//! let policy = PinPolicy::default(); // 5 digits, similar digits ≤ 2, no sequences
//! assert_eq!(policy.validate(&Pin::new("02468")), Err(PinValidationError::PinIsASequence));
//! assert_eq!(policy.validate(&Pin::new("2468")), Err(PinValidationError::WrongPinLength { expected: 5 }));
//! assert!(policy.validate(&Pin::new("31415")).is_ok());
//! ```

use serde::{Deserialize, Serialize};

auth_core::secret_type! {
    /// A PIN as the user typed it: redacted `Debug`, no `Display`, zeroized on drop.
    /// It is never stored and never sent; it only derives the key that unlocks the refresh
    /// token (spec §3.3).
    pub struct Pin;
}

/// The PIN policy the Token Server hands to the SDK (model: with the DCR answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PinPolicy {
    /// Exact number of digits (5..=32).
    pub pin_length: usize,
    /// The most times any one digit may occur (`None`: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_similar_digits: Option<usize>,
    /// Whether sequences such as `12345` or `13579` are allowed (absent or `null`: no).
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub sequences_allowed: bool,
    /// PINs that are never accepted.
    #[serde(
        default,
        deserialize_with = "auth_core::json::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub blocklist: Vec<String>,
}

impl Default for PinPolicy {
    /// Five digits, a digit at most twice, no sequences, block list `90210`, `00700`
    /// (the documented examples).
    fn default() -> Self {
        PinPolicy {
            pin_length: 5,
            max_similar_digits: Some(2),
            sequences_allowed: false,
            blocklist: vec!["90210".into(), "00700".into()],
        }
    }
}

/// Why a PIN does not satisfy the policy (`OneginiPinValidationError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PinValidationError {
    /// 9014 `WRONG_PIN_LENGTH`: not exactly `expected` digits (or not digits at all).
    #[error("WRONG_PIN_LENGTH (9014): the PIN must be {expected} digits")]
    WrongPinLength {
        /// The policy's PIN length.
        expected: usize,
    },
    /// 9011 `PIN_BLACKLISTED`: on the block list.
    #[error("PIN_BLACKLISTED (9011): this PIN is not allowed")]
    PinBlacklisted,
    /// 9012 `PIN_IS_A_SEQUENCE`: a forbidden sequence.
    #[error("PIN_IS_A_SEQUENCE (9012): the PIN may not be a sequence")]
    PinIsASequence,
    /// 9013 `PIN_USES_SIMILAR_DIGITS`: a digit occurs more than `max` times.
    #[error("PIN_USES_SIMILAR_DIGITS (9013): no digit may occur more than {max} times")]
    PinUsesSimilarDigits {
        /// The policy's maximum.
        max: usize,
    },
}

impl PinValidationError {
    /// The SDK error code (9011–9014).
    pub fn code(&self) -> u16 {
        match self {
            PinValidationError::WrongPinLength { .. } => 9014,
            PinValidationError::PinBlacklisted => 9011,
            PinValidationError::PinIsASequence => 9012,
            PinValidationError::PinUsesSimilarDigits { .. } => 9013,
        }
    }

    /// The SDK error name.
    pub fn name(&self) -> &'static str {
        match self {
            PinValidationError::WrongPinLength { .. } => "WRONG_PIN_LENGTH",
            PinValidationError::PinBlacklisted => "PIN_BLACKLISTED",
            PinValidationError::PinIsASequence => "PIN_IS_A_SEQUENCE",
            PinValidationError::PinUsesSimilarDigits { .. } => "PIN_USES_SIMILAR_DIGITS",
        }
    }
}

/// A policy that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid PIN policy: {0}")]
pub struct InvalidPinPolicy(pub String);

impl PinPolicy {
    /// Checks the policy itself: length 5..=32 (the SDK requires at least 5), similar-digit
    /// maximum between 1 and the length.
    pub fn check(&self) -> Result<(), InvalidPinPolicy> {
        if !(5..=32).contains(&self.pin_length) {
            return Err(InvalidPinPolicy(format!(
                "pin_length {} is outside 5..=32",
                self.pin_length
            )));
        }
        if let Some(max) = self.max_similar_digits
            && (max == 0 || max > self.pin_length)
        {
            return Err(InvalidPinPolicy(format!(
                "max_similar_digits {max} must be 1..={}",
                self.pin_length
            )));
        }
        Ok(())
    }

    /// Validates a PIN (`validatePinWithPolicy`); reports the first failing rule in check
    /// order: length, block list, sequence, similar digits.
    pub fn validate(&self, pin: &Pin) -> Result<(), PinValidationError> {
        let digits = pin.expose_secret().as_bytes();
        if digits.len() != self.pin_length || !digits.iter().all(u8::is_ascii_digit) {
            return Err(PinValidationError::WrongPinLength {
                expected: self.pin_length,
            });
        }
        if self.blocklist.iter().any(|b| b.as_bytes() == digits) {
            return Err(PinValidationError::PinBlacklisted);
        }
        if !self.sequences_allowed && is_sequence(digits) {
            return Err(PinValidationError::PinIsASequence);
        }
        if let Some(max) = self.max_similar_digits
            && max_occurrences(digits) > max
        {
            return Err(PinValidationError::PinUsesSimilarDigits { max });
        }
        Ok(())
    }
}

/// Model rule (spec §5.5): the whole PIN is an arithmetic progression with a constant non-zero
/// step, digits staying within 0..=9.
fn is_sequence(digits: &[u8]) -> bool {
    if digits.len() < 2 {
        return false;
    }
    let step = i16::from(digits[1]) - i16::from(digits[0]);
    step != 0
        && digits
            .windows(2)
            .all(|w| i16::from(w[1]) - i16::from(w[0]) == step)
}

/// Model rule (spec §9 #6): the most **total** occurrences of any one digit.
fn max_occurrences(digits: &[u8]) -> usize {
    let mut counts = [0usize; 10];
    for d in digits {
        if let Some(c) = counts.get_mut(usize::from(d.wrapping_sub(b'0'))) {
            *c += 1;
        }
    }
    counts.into_iter().max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(p: &PinPolicy, pin: &str) -> Result<(), u16> {
        p.validate(&Pin::new(pin)).map_err(|e| e.code())
    }

    #[test]
    fn documented_examples() {
        let p = PinPolicy::default();
        assert_eq!(check(&p, "11503"), Ok(())); // 11 accepted with max 2
        assert_eq!(check(&p, "11150"), Err(9013)); // 111 rejected
        for seq in ["12345", "13579", "97531", "56789", "86420"] {
            assert_eq!(check(&p, seq), Err(9012), "{seq}");
        }
        assert_eq!(check(&p, "90210"), Err(9011));
        assert_eq!(check(&p, "00700"), Err(9011)); // blocklisted wins over similar digits
        assert_eq!(check(&p, "1234"), Err(9014));
        assert_eq!(check(&p, "123456"), Err(9014));
        assert_eq!(check(&p, "12a45"), Err(9014));
        assert_eq!(check(&p, "１２３４５"), Err(9014));
        // Check order: a 5-digit sequence on the block list reports the block list.
        let mut q = p.clone();
        q.blocklist.push("12345".into());
        assert_eq!(check(&q, "12345"), Err(9011));
        // Sequences allowed.
        q.sequences_allowed = true;
        assert_eq!(check(&q, "13579"), Ok(()));
        // Total, not consecutive, occurrences.
        assert_eq!(check(&p, "10101"), Err(9013));
        let names: Vec<_> = [
            PinValidationError::WrongPinLength { expected: 5 },
            PinValidationError::PinBlacklisted,
            PinValidationError::PinIsASequence,
            PinValidationError::PinUsesSimilarDigits { max: 2 },
        ]
        .iter()
        .map(|e| (e.code(), e.name()))
        .collect();
        assert_eq!(names[0], (9014, "WRONG_PIN_LENGTH"));
    }

    #[test]
    fn policy_bounds() {
        assert!(PinPolicy::default().check().is_ok());
        let mut p = PinPolicy {
            pin_length: 4,
            ..PinPolicy::default()
        };
        assert!(p.check().is_err());
        p.pin_length = 33;
        assert!(p.check().is_err());
        p.pin_length = 6;
        p.max_similar_digits = Some(7);
        assert!(p.check().is_err());
        p.max_similar_digits = Some(0);
        assert!(p.check().is_err());
    }

    #[test]
    fn pin_debug_is_redacted() {
        let dbg = format!("{:?}", Pin::new("31415"));
        assert!(!dbg.contains("31415"), "{dbg}");
    }
}
