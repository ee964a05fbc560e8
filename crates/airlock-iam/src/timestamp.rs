//! Timestamps of Loginapp documents (`meta.timestamp`, `meta.temporaryLockExpiry`).
//!
//! The Loginapp writes ISO-8601 timestamps with an offset, e.g.
//! `2024-05-01T10:00:00.000+02:00` (documented). [`Timestamp::parse`] accepts RFC 3339 and, as a
//! tolerance, the other ISO-8601 forms (e.g. `+0200` offsets without a colon).

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::{Iso8601, Rfc3339};

/// An instant with the offset the server wrote it in.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

/// A timestamp that is neither RFC 3339 nor ISO 8601.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an ISO-8601 timestamp with offset: {reason}")]
pub struct TimestampError {
    reason: String,
}

impl Timestamp {
    /// Parses an RFC 3339 / ISO-8601 timestamp with an offset.
    ///
    /// ```
    /// use airlock_iam::Timestamp;
    ///
    /// let t = Timestamp::parse("2024-05-01T10:00:03.000+02:00").unwrap();
    /// assert_eq!(t.unix_seconds(), 1_714_550_403);
    /// assert_eq!(Timestamp::parse("2024-05-01T10:00:03.000+0200").unwrap(), t);
    /// assert!(Timestamp::parse("yesterday").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Self, TimestampError> {
        let input = input.trim();
        match OffsetDateTime::parse(input, &Rfc3339) {
            Ok(t) => Ok(Timestamp(t)),
            Err(first) => OffsetDateTime::parse(input, &Iso8601::DEFAULT)
                .map(Timestamp)
                .map_err(|_| TimestampError {
                    reason: first.to_string(),
                }),
        }
    }

    /// The instant as a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        SystemTime::from(self.0)
    }

    /// The instant of a [`SystemTime`], in UTC.
    pub fn from_system_time(time: SystemTime) -> Self {
        Timestamp(OffsetDateTime::from(time))
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// The parsed date and time, with the server's offset.
    pub fn offset_date_time(self) -> OffsetDateTime {
        self.0
    }

    /// How long from `now` until this instant (zero when it has passed).
    pub fn remaining(self, now: SystemTime) -> Duration {
        self.to_system_time()
            .duration_since(now)
            .unwrap_or(Duration::ZERO)
    }

    /// Formats the instant as the Loginapp does: milliseconds and a `±hh:mm` offset.
    pub fn to_loginapp_string(self) -> String {
        let t = self.0;
        let offset = t.offset().whole_seconds();
        let sign = if offset < 0 { '-' } else { '+' };
        let offset = offset.unsigned_abs();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{}{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond(),
            sign,
            offset / 3600,
            (offset % 3600) / 60
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.to_loginapp_string())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_loginapp_string())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_loginapp_string())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Timestamp::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let a = Timestamp::parse("2024-05-01T10:00:00.000+02:00").unwrap();
        let b = Timestamp::parse("2024-05-01T08:00:00Z").unwrap();
        let c = Timestamp::parse("2024-05-01T10:00:00.000+0200").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.to_loginapp_string(), "2024-05-01T10:00:00.000+02:00");
        let back: Timestamp = serde_json::from_value(serde_json::to_value(a).unwrap()).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn rejects_junk_without_panicking() {
        for bad in ["", "2024-13-01T00:00:00Z", "2024-05-01", "10:00", "\u{0}"] {
            assert!(Timestamp::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn remaining_saturates() {
        let t = Timestamp::parse("2024-05-01T10:00:03.000+02:00").unwrap();
        let now = t.to_system_time() - Duration::from_secs(3);
        assert_eq!(t.remaining(now), Duration::from_secs(3));
        assert_eq!(t.remaining(now + Duration::from_secs(10)), Duration::ZERO);
    }
}
