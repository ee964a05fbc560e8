//! SSH wire encoding (RFC 4251 §5), as LogonBox uses it for key blobs, request and response blobs.
//!
//! Small and bounds-checked: every read checks the remaining length first and returns a
//! [`WireError`]; nothing here can panic on any input.

use std::fmt;

/// Why a byte structure did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// The input ended inside a field.
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Bytes the field needed.
        needed: usize,
        /// Bytes that were left.
        left: usize,
    },
    /// A `string` that should hold text was not UTF-8.
    NotUtf8 {
        /// The field being read.
        field: &'static str,
    },
    /// A `boolean` was neither 0 nor 1.
    BadBoolean {
        /// The field being read.
        field: &'static str,
        /// The byte found.
        value: u8,
    },
    /// An `mpint` was negative or not minimally encoded.
    NonCanonicalMpint {
        /// The field being read.
        field: &'static str,
    },
    /// Bytes were left after the last field.
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// A text field does not have the form it must have (e.g. a fingerprint that is not
    /// `SHA256:` and 43 base64 characters).
    Malformed {
        /// The field being read.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Truncated {
                field,
                needed,
                left,
            } => write!(
                f,
                "truncated at `{field}`: needed {needed} byte(s), {left} left"
            ),
            WireError::NotUtf8 { field } => write!(f, "`{field}` is not UTF-8"),
            WireError::BadBoolean { field, value } => {
                write!(f, "`{field}` is not a boolean (byte {value})")
            }
            WireError::NonCanonicalMpint { field } => {
                write!(f, "`{field}` is not a canonical non-negative mpint")
            }
            WireError::TrailingBytes { count } => {
                write!(f, "{count} unexpected byte(s) after the last field")
            }
            WireError::Malformed { field, reason } => write!(f, "`{field}` is malformed: {reason}"),
        }
    }
}

impl std::error::Error for WireError {}

/// Reads SSH wire fields from a byte slice.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Reader { rest: input }
    }

    /// `n` raw bytes.
    pub(crate) fn raw(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], WireError> {
        if self.rest.len() < n {
            return Err(WireError::Truncated {
                field,
                needed: n,
                left: self.rest.len(),
            });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// A `uint32`.
    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, WireError> {
        let b = self.raw(field, 4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A `boolean`: exactly 0 or 1.
    pub(crate) fn boolean(&mut self, field: &'static str) -> Result<bool, WireError> {
        match self.raw(field, 1)?.first().copied() {
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            Some(value) => Err(WireError::BadBoolean { field, value }),
            None => Err(WireError::Truncated {
                field,
                needed: 1,
                left: 0,
            }),
        }
    }

    /// A `string` as bytes.
    pub(crate) fn bytes(&mut self, field: &'static str) -> Result<&'a [u8], WireError> {
        let len = self.u32(field)?;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        self.raw(field, len)
    }

    /// A `string` holding UTF-8 text.
    pub(crate) fn text(&mut self, field: &'static str) -> Result<&'a str, WireError> {
        std::str::from_utf8(self.bytes(field)?).map_err(|_| WireError::NotUtf8 { field })
    }

    /// A non-negative, minimally encoded `mpint`, returned without leading zero bytes.
    ///
    /// Zero is returned as an empty slice.
    pub(crate) fn mpint_unsigned(&mut self, field: &'static str) -> Result<&'a [u8], WireError> {
        let b = self.bytes(field)?;
        match b {
            [] => Ok(b),
            [first, ..] if first & 0x80 != 0 => Err(WireError::NonCanonicalMpint { field }),
            [0, second, ..] if second & 0x80 != 0 => Ok(&b[1..]),
            [0, ..] => Err(WireError::NonCanonicalMpint { field }),
            _ => Ok(b),
        }
    }

    /// Everything that is left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.rest)
    }

    /// Fails when bytes are left.
    pub(crate) fn finish(&self) -> Result<(), WireError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(WireError::TrailingBytes {
                count: self.rest.len(),
            })
        }
    }
}

/// Writes SSH wire fields.
#[derive(Debug, Default, Clone)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Writer::default()
    }

    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub(crate) fn boolean(&mut self, v: bool) -> &mut Self {
        self.buf.push(u8::from(v));
        self
    }

    /// A `string`. Lengths above `u32::MAX` cannot be represented; callers bound their inputs
    /// far below that, and the length saturates rather than panicking.
    pub(crate) fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(u32::try_from(v.len()).unwrap_or(u32::MAX));
        self.buf.extend_from_slice(v);
        self
    }

    pub(crate) fn text(&mut self, v: &str) -> &mut Self {
        self.bytes(v.as_bytes())
    }

    /// An `mpint` from an unsigned big-endian magnitude (leading zeros are stripped, and one
    /// is added back when the high bit is set).
    pub(crate) fn mpint_unsigned(&mut self, v: &[u8]) -> &mut Self {
        let start = v.iter().position(|b| *b != 0).unwrap_or(v.len());
        let v = &v[start..];
        if v.first().is_some_and(|b| b & 0x80 != 0) {
            let mut padded = Vec::with_capacity(v.len() + 1);
            padded.push(0);
            padded.extend_from_slice(v);
            self.bytes(&padded)
        } else {
            self.bytes(v)
        }
    }

    pub(crate) fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_field_type() {
        let mut w = Writer::new();
        w.u32(7)
            .boolean(true)
            .text("héllo")
            .mpint_unsigned(&[0x00, 0x80, 0x01])
            .mpint_unsigned(&[0x01, 0x00, 0x01])
            .raw(&[9, 9]);
        let bytes = w.into_bytes();
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u32("a").unwrap(), 7);
        assert!(r.boolean("b").unwrap());
        assert_eq!(r.text("c").unwrap(), "héllo");
        assert_eq!(r.mpint_unsigned("d").unwrap(), &[0x80, 0x01]);
        assert_eq!(r.mpint_unsigned("e").unwrap(), &[0x01, 0x00, 0x01]);
        assert!(r.finish().is_err());
        assert_eq!(r.rest(), &[9, 9]);
        r.finish().unwrap();
    }

    #[test]
    fn mpint_with_high_bit_gets_a_leading_zero() {
        let mut w = Writer::new();
        w.mpint_unsigned(&[0xff; 3]);
        assert_eq!(w.into_bytes(), vec![0, 0, 0, 4, 0, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn truncation_and_bad_values_are_errors() {
        assert!(matches!(
            Reader::new(&[0, 0, 0]).u32("x"),
            Err(WireError::Truncated {
                needed: 4,
                left: 3,
                ..
            })
        ));
        // A length far beyond the input.
        assert!(matches!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 1]).bytes("x"),
            Err(WireError::Truncated { .. })
        ));
        assert!(matches!(
            Reader::new(&[2]).boolean("x"),
            Err(WireError::BadBoolean { value: 2, .. })
        ));
        assert!(matches!(
            Reader::new(&[0, 0, 0, 1, 0xff]).text("x"),
            Err(WireError::NotUtf8 { .. })
        ));
        // Negative, and a superfluous leading zero.
        for bad in [&[0, 0, 0, 1, 0x80][..], &[0, 0, 0, 2, 0, 1][..]] {
            assert!(matches!(
                Reader::new(bad).mpint_unsigned("x"),
                Err(WireError::NonCanonicalMpint { .. })
            ));
        }
        assert!(Reader::new(&[]).boolean("x").is_err());
    }

    #[test]
    fn random_input_never_panics() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..5000 {
            let len = rng.usize(0..40);
            let input: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
            let mut r = Reader::new(&input);
            let _ = r.text("a");
            let _ = r.mpint_unsigned("b");
            let _ = r.boolean("c");
            let _ = r.u32("d");
            let _ = r.finish();
        }
    }
}
