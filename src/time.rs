//! Wall-clock helpers: UNIX time and its UTC renderings (RFC 3339 with
//! milliseconds for logs and `server-time`, and RPL_TIME's text), and the
//! parse of the RFC 3339 form clients send back (`MARKREAD`, history).
//!
//! The protocol layer never reads the clock itself: `net` passes `Instant`s
//! and these wall times in. Imports nothing from the crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the UNIX epoch.
pub fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Seconds since the UNIX epoch.
pub fn unix_secs() -> u64 {
    unix_millis() / 1000
}

/// (year, month, day) of a count of days since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Milliseconds since the epoch of `YYYY-MM-DDThh:mm:ss[.fff]Z` (the
/// `server-time` form; more than three fraction digits are cut), or
/// `None` for anything else, dates before 1970 included.
pub fn parse_rfc3339_millis(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let part = b.get(from..from + len)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let sep = |at: usize, ch: u8| b.get(at) == Some(&ch);
    if !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':')) {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let mut ms = 0u64;
    let mut at = 19;
    if sep(19, b'.') {
        at = 20;
        let mut digits = 0;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            if digits < 3 {
                ms = ms * 10 + u64::from(b[at] - b'0');
            }
            digits += 1;
            at += 1;
        }
        if digits == 0 {
            return None;
        }
        for _ in digits..3 {
            ms *= 10;
        }
    }
    if at + 1 != b.len() || b[at] != b'Z' {
        return None;
    }
    let month_days = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&mo)
        || d == 0
        || d > month_days[(mo - 1) as usize]
        || h > 23
        || mi > 59
        || sec > 60
    {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d);
    if days < 0 || civil_from_days(days) != (i64::from(y), mo, d) {
        return None;
    }
    let secs = days as u64 * 86_400 + u64::from(h) * 3600 + u64::from(mi) * 60 + u64::from(sec);
    Some(secs * 1000 + ms)
}

/// `2026-11-25T03:13:54.123Z`.
pub fn rfc3339_millis(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60,
        ms % 1000
    )
}

/// `Wednesday November 25 2026 -- 03:13:54 +00:00` (RPL_TIME, as Ergo).
pub fn human(secs: u64) -> String {
    const DAYS: [&str; 7] = [
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
    ];
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let s = secs as i64;
    let days = s.div_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    let sod = s.rem_euclid(86_400);
    format!(
        "{} {} {} {} -- {:02}:{:02}:{:02} +00:00",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(mo - 1) as usize],
        d,
        y,
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// `Wed, 25 Nov 2026 03:13:54 UTC` (Go's time.RFC1123, which Ergo's
/// services use for dates).
pub fn rfc1123(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let s = secs as i64;
    let days = s.div_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    let sod = s.rem_euclid(86_400);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} UTC",
        DAYS[days.rem_euclid(7) as usize],
        d,
        MONTHS[(mo - 1) as usize],
        y,
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rfc1123() {
        assert_eq!(rfc1123(1_795_576_434), "Wed, 25 Nov 2026 03:13:54 UTC");
        assert_eq!(rfc1123(0), "Thu, 01 Jan 1970 00:00:00 UTC");
    }

    #[test]
    fn renders_known_instants() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(1_795_576_434_123),
            "2026-11-25T03:13:54.123Z"
        );
        assert_eq!(rfc3339_millis(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(
            human(1_795_576_434),
            "Wednesday November 25 2026 -- 03:13:54 +00:00"
        );
    }

    #[test]
    fn parses_what_it_renders_and_nothing_else() {
        for ms in [0, 1_795_576_434_123, 951_782_400_000, 4_102_444_799_999] {
            assert_eq!(parse_rfc3339_millis(&rfc3339_millis(ms)), Some(ms));
        }
        assert_eq!(
            parse_rfc3339_millis("2026-11-25T03:13:54Z"),
            Some(1_795_576_434_000)
        );
        assert_eq!(
            parse_rfc3339_millis("2026-11-25T03:13:54.1234567Z"),
            Some(1_795_576_434_123)
        );
        assert_eq!(
            parse_rfc3339_millis("2026-11-25T03:13:54.5Z"),
            Some(1_795_576_434_500)
        );
        for bad in [
            "",
            "*",
            "2026-11-25",
            "2026-11-25T03:13:54.123",
            "2026-11-25T03:13:54.Z",
            "2026-13-25T03:13:54.123Z",
            "2026-02-30T03:13:54.123Z",
            "2026-11-25T24:13:54.123Z",
            "2026-11-25 03:13:54.123Z",
            "1969-12-31T23:59:59.999Z",
            "2026-11-25T03:13:54.123Z ",
            "+026-11-25T03:13:54.123Z",
            "2026-11-25T03:13:54.123+01:00",
        ] {
            assert_eq!(parse_rfc3339_millis(bad), None, "{bad}");
        }
    }
}
