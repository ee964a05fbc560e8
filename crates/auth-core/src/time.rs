//! One timestamp type for every provider: RFC 3339 / ISO 8601 instants with the offset they
//! were written in.
//!
//! Providers write `2017-10-03T22:50:15Z` (LaunchKey), `2024-05-01T10:00:00.000+02:00`
//! (Airlock), `2025-01-01T00:00:00.123Z` (Authsignal). [`Timestamp::parse`] reads all of them
//! (and, as a tolerance, a space for the `T` and `+0200` offsets without a colon); a
//! [`Timestamp`] converts to and from [`SystemTime`] and formats back in the provider's style.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An instant, with the UTC offset it was written in.
///
/// Equality and order compare instants: `10:00+02:00` equals `08:00Z`.
#[derive(Clone, Copy)]
pub struct Timestamp {
    unix: i64,
    nanos: u32,
    offset_seconds: i32,
}

/// A text that is not an RFC 3339 / ISO 8601 timestamp with an offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 timestamp with an offset: {reason}")]
pub struct TimestampError {
    reason: &'static str,
}

fn bad(reason: &'static str) -> TimestampError {
    TimestampError { reason }
}

impl Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM|±HHMM)`.
    ///
    /// ```
    /// use auth_core::time::Timestamp;
    ///
    /// let t = Timestamp::parse("2024-05-01T10:00:03.250+02:00").unwrap();
    /// assert_eq!(t.unix_seconds(), 1_714_550_403);
    /// assert_eq!(t.subsec_millis(), 250);
    /// assert_eq!(Timestamp::parse("2024-05-01T08:00:03.25Z").unwrap(), t);
    /// assert_eq!(Timestamp::parse("2024-05-01T10:00:03.250+0200").unwrap(), t);
    /// assert_eq!(t.to_rfc3339_millis(), "2024-05-01T10:00:03.250+02:00");
    /// assert_eq!(t.to_utc_string(), "2024-05-01T08:00:03Z");
    /// assert!(Timestamp::parse("yesterday").is_err());
    /// assert!(Timestamp::parse("2024-02-30T00:00:00Z").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Self, TimestampError> {
        let t = input.trim();
        let b = t.as_bytes();
        if b.len() < 20 {
            return Err(bad("too short"));
        }
        if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return Err(bad("date part"));
        }
        if b[13] != b':' || b[16] != b':' {
            return Err(bad("time part"));
        }
        let num = |from: usize, to: usize| -> Result<i64, TimestampError> {
            let s = t.get(from..to).ok_or(bad("digits"))?;
            if !s.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad("digits"));
            }
            s.parse().map_err(|_| bad("digits"))
        };
        let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (h, mi, s) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
        if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
            return Err(bad("no such date"));
        }
        // A leap second (:60) is read as the last second of its minute.
        if h > 23 || mi > 59 || s > 60 {
            return Err(bad("no such time"));
        }
        let mut rest = &t[19..];
        let mut nanos: u32 = 0;
        if let Some(frac) = rest.strip_prefix(['.', ',']) {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(bad("empty fraction"));
            }
            for (i, c) in frac
                .bytes()
                .take(9)
                .take_while(u8::is_ascii_digit)
                .enumerate()
            {
                nanos += u32::from(c - b'0') * 10u32.pow(8 - i as u32);
            }
            rest = &frac[digits..];
        }
        let offset_seconds = match rest {
            "Z" | "z" => 0,
            _ => {
                let sign = match rest.as_bytes().first() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => return Err(bad("offset")),
                };
                let digits: String = rest[1..].chars().filter(|c| *c != ':').collect();
                let colons = rest[1..].matches(':').count();
                if digits.len() != 4
                    || !digits.bytes().all(|c| c.is_ascii_digit())
                    || colons > 1
                    || (colons == 1 && rest.as_bytes().get(3) != Some(&b':'))
                {
                    return Err(bad("offset"));
                }
                let oh: i32 = digits[..2].parse().map_err(|_| bad("offset"))?;
                let om: i32 = digits[2..].parse().map_err(|_| bad("offset"))?;
                if oh > 23 || om > 59 {
                    return Err(bad("offset"));
                }
                sign * (oh * 3600 + om * 60)
            }
        };
        let local = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s.min(59);
        Ok(Timestamp {
            unix: local - i64::from(offset_seconds),
            nanos,
            offset_seconds,
        })
    }

    /// The instant of a [`SystemTime`], in UTC.
    pub fn from_system_time(time: SystemTime) -> Self {
        let (unix, nanos) = match time.duration_since(UNIX_EPOCH) {
            Ok(d) => (
                i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                d.subsec_nanos(),
            ),
            Err(e) => {
                let d = e.duration();
                let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                if d.subsec_nanos() == 0 {
                    (-secs, 0)
                } else {
                    (-secs - 1, 1_000_000_000 - d.subsec_nanos())
                }
            }
        };
        Timestamp {
            unix,
            nanos,
            offset_seconds: 0,
        }
    }

    /// The instant at whole Unix seconds, in UTC.
    pub fn from_unix(seconds: i64) -> Self {
        Timestamp {
            unix: seconds,
            nanos: 0,
            offset_seconds: 0,
        }
    }

    /// The instant as a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        let base = if self.unix >= 0 {
            UNIX_EPOCH + Duration::from_secs(self.unix.unsigned_abs())
        } else {
            UNIX_EPOCH - Duration::from_secs(self.unix.unsigned_abs())
        };
        base + Duration::from_nanos(u64::from(self.nanos))
    }

    /// Whole seconds since the Unix epoch.
    pub fn unix_seconds(self) -> i64 {
        self.unix
    }

    /// The milliseconds past the whole second.
    pub fn subsec_millis(self) -> u32 {
        self.nanos / 1_000_000
    }

    /// The offset from UTC it was written in, in seconds.
    pub fn offset_seconds(self) -> i32 {
        self.offset_seconds
    }

    /// The same instant, written in another offset (seconds east of UTC).
    pub fn with_offset(self, offset_seconds: i32) -> Self {
        Timestamp {
            offset_seconds,
            ..self
        }
    }

    /// How long from `now` until this instant (zero when it has passed).
    pub fn remaining(self, now: SystemTime) -> Duration {
        self.to_system_time()
            .duration_since(now)
            .unwrap_or(Duration::ZERO)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, in UTC, whole seconds (LaunchKey's form).
    pub fn to_utc_string(self) -> String {
        let (date, time) = civil(self.unix);
        format!("{date}T{time}Z")
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmm±HH:MM` in the written offset (`Z` for UTC is written
    /// `+00:00`): Airlock's form.
    pub fn to_rfc3339_millis(self) -> String {
        let (date, time) = civil(self.unix + i64::from(self.offset_seconds));
        let off = self.offset_seconds;
        let sign = if off < 0 { '-' } else { '+' };
        let off = off.unsigned_abs();
        format!(
            "{date}T{time}.{:03}{sign}{:02}:{:02}",
            self.subsec_millis(),
            off / 3600,
            (off / 60) % 60
        )
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, in UTC (JavaScript's `toISOString`, Authsignal's form).
    pub fn to_utc_millis_string(self) -> String {
        let (date, time) = civil(self.unix);
        format!("{date}T{time}.{:03}Z", self.subsec_millis())
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        (self.unix, self.nanos) == (other.unix, other.nanos)
    }
}

impl Eq for Timestamp {}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.unix, self.nanos).cmp(&(other.unix, other.nanos))
    }
}

impl std::hash::Hash for Timestamp {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.unix, self.nanos).hash(state);
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.to_rfc3339_millis())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339_millis())
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse(s)
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        Timestamp::from_system_time(t)
    }
}

impl From<Timestamp> for SystemTime {
    fn from(t: Timestamp) -> Self {
        t.to_system_time()
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339_millis())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (`YYYY-MM-DD`, `HH:MM:SS`) of Unix seconds.
fn civil(unix: i64) -> (String, String) {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!(
            "{:02}:{:02}:{:02}",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_across_the_calendar() {
        for unix in [
            0i64,
            951_782_400, // 2000-02-29
            1_714_550_403,
            4_107_542_399, // 2100-02-28T23:59:59
            -86_400,
            253_370_764_800, // 9999-01-01
        ] {
            let t = Timestamp::from_unix(unix);
            assert_eq!(Timestamp::parse(&t.to_utc_string()).unwrap(), t, "{unix}");
            assert_eq!(Timestamp::parse(&t.to_rfc3339_millis()).unwrap(), t);
            assert_eq!(Timestamp::parse(&t.to_utc_millis_string()).unwrap(), t);
            for off in [-12 * 3600 - 1800, -3600, 3600, 5 * 3600 + 1800, 14 * 3600] {
                let shifted = t.with_offset(off).to_rfc3339_millis();
                let back = Timestamp::parse(&shifted).unwrap();
                assert_eq!(back, t, "{shifted}");
                assert_eq!(back.offset_seconds(), off);
            }
            assert_eq!(Timestamp::from_system_time(t.to_system_time()), t);
        }
    }

    #[test]
    fn rejects_what_is_not_a_timestamp() {
        for bad in [
            "",
            "2024-05-01",
            "2024-05-01T10:00:00",
            "2024-13-01T10:00:00Z",
            "2023-02-29T10:00:00Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T10:00:00.Z",
            "2024-05-01T10:00:00+2:00",
            "2024-05-01T10:00:00+02:0:0",
            "2024-05-01T10:00:00+25:00",
            "２０２４-05-01T10:00:00Z",
            "2024-05-01T10:00:00Zjunk",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Timestamp::parse("2024-02-29 10:00:00.123456789+00:00")
                .unwrap()
                .subsec_millis(),
            123
        );
    }

    #[test]
    fn serde_and_before_epoch() {
        let t: Timestamp = serde_json::from_str("\"1969-12-31T23:59:59.500Z\"").unwrap();
        assert_eq!(t.unix_seconds(), -1);
        assert_eq!(t.subsec_millis(), 500);
        assert_eq!(Timestamp::from_system_time(t.to_system_time()), t);
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"1969-12-31T23:59:59.500+00:00\""
        );
    }
}
