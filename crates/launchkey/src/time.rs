//! ISO-8601 UTC timestamps as LaunchKey sends them (`2017-10-03T22:50:15Z`, fractions allowed).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(any(test, feature = "emulator"))]
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)` into Unix seconds (fraction dropped).
pub(crate) fn parse_iso8601(text: &str) -> Option<i64> {
    let t = text.trim();
    let b = t.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = t.get(r)?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (y, mo, d, h, mi, s) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &t[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    if !(rest == "Z" || rest == "+00:00" || rest == "z") {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
#[cfg(any(test, feature = "emulator"))]
pub(crate) fn format_iso8601(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Unix seconds to a `SystemTime`.
pub(crate) fn to_system_time(unix: i64) -> SystemTime {
    if unix >= 0 {
        UNIX_EPOCH + Duration::from_secs(unix.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(unix.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(parse_iso8601("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_iso8601("2017-10-03T22:50:15Z"), Some(1_507_071_015));
        assert_eq!(
            parse_iso8601("2017-10-03T22:50:15.123456Z"),
            Some(1_507_071_015)
        );
        assert_eq!(
            parse_iso8601("2017-10-03T22:50:15+00:00"),
            Some(1_507_071_015)
        );
        assert_eq!(format_iso8601(1_507_071_015), "2017-10-03T22:50:15Z");
        assert_eq!(format_iso8601(1_546_300_800), "2019-01-01T00:00:00Z");
        for bad in [
            "",
            "2017-10-03",
            "2017-13-03T22:50:15Z",
            "2017-10-03T22:50:15",
            "x017-10-03T22:50:15Z",
            "2017-10-03T22:50:15.Z",
            // Multi-byte characters where digits are expected: refused, never a panic on a
            // char boundary.
            "2017-10-03T22:50:1é",
            "2017-10-03T22:50:1éZ",
            "2017-10-03T22:50:15éééé",
            "2017-10-03T22:50:15.1é",
            "éééééééééééééééééééé",
            "2017-10-03T22:5€:15Z",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
        for t in [0i64, 951_782_400, 1_700_000_000, 4_102_444_800] {
            assert_eq!(parse_iso8601(&format_iso8601(t)), Some(t));
        }
    }
}
