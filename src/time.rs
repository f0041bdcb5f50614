//! Every date format on the wire, UTC, with the calendar arithmetic they share (no time zone
//! database needed):
//!
//! | format | example | where |
//! |---|---|---|
//! | RFC 3339 | `2026-11-23T10:00:00Z` | STS `Expiration`, S3 listings (with milliseconds) |
//! | ISO 8601 basic | `20261123T100000Z` | SigV4 `x-amz-date` / `X-Amz-Date` |
//! | HTTP-date (RFC 9110 §5.6.7) | `Mon, 23 Nov 2026 10:00:00 GMT` | `Last-Modified`, `If-Modified-Since`, ... |
//!
//! Decisions the specs leave to us:
//! - RFC 850 dates carry two-digit years: `70`–`99` are 19xx, `00`–`69` are 20xx (the core has
//!   no clock to apply §5.6.7's "50 years in the future" rule against). HTTP-dates are not
//!   checked against the current time either (§13.1.3's "later than the server's time" rule
//!   is the caller's, which has the clock).
//! - An RFC 3339 time's fractional seconds are dropped.

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`);
/// negative before 1970. `month` is 1-12, `day` 1-31 (the caller validates them).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days in `month` (1-12) of `year`, proleptic Gregorian; 31 for a month out of range (the
/// caller validates months).
fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A calendar date and time of day, checked: month 1-12, a day of that month, hour 00-23,
/// minute 00-59, second 00-60 (60 only for a leap second, counted as the next one).
/// Seconds since the epoch, negative before 1970.
fn instant(year: i64, month: i64, day: i64, hour: i64, minute: i64, second: i64) -> Option<i64> {
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..=60).contains(&second);
    valid.then(|| days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// (year, month, day, hour, minute, second) of `secs`.
fn civil(secs: u64) -> (i64, u32, u32, u64, u64, u64) {
    let (y, m, d) = civil_from_days(i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 86_400));
    let rem = secs % 86_400;
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Exactly `width` ASCII digits.
fn fixed_num(s: &str, width: usize) -> Option<i64> {
    if s.len() != width || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

// ---- RFC 3339 ----

/// RFC 3339 (ISO 8601 extended), seconds precision: `2026-11-23T10:00:00Z`.
pub fn rfc3339(secs: u64) -> String {
    let (y, m, d, h, mi, s) = civil(secs);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// RFC 3339 with milliseconds, as S3 writes timestamps in listings: `2026-11-23T10:00:00.000Z`.
pub(crate) fn rfc3339_millis(secs: u64) -> String {
    let (y, m, d, h, mi, s) = civil(secs);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.000Z")
}

/// Parses RFC 3339 UTC as S3 writes it in listings: `2026-11-23T10:00:00Z` or with
/// fractional seconds (`…:00.000Z`), which are dropped. `None` for anything else, and for
/// times before 1970.
pub(crate) fn parse_rfc3339(s: &str) -> Option<u64> {
    // date-time = full-date "T" full-time (RFC 3339 §5.6), in UTC ("Z").
    let (date, time) = s.split_at_checked(10)?;
    let [year, month, day] = split3(date, '-')?;
    let time = time.strip_prefix('T')?;
    let (hms, tail) = time.split_at_checked(8)?;
    let [hour, minute, second] = split3(hms, ':')?;
    let tail = match tail.strip_prefix('.') {
        Some(frac) => frac.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => tail,
    };
    if tail != "Z" {
        return None;
    }
    let secs = instant(
        fixed_num(year, 4)?,
        fixed_num(month, 2)?,
        fixed_num(day, 2)?,
        fixed_num(hour, 2)?,
        fixed_num(minute, 2)?,
        fixed_num(second, 2)?,
    )?;
    u64::try_from(secs).ok()
}

fn split3(s: &str, separator: char) -> Option<[&str; 3]> {
    let mut parts = s.split(separator);
    let out = [parts.next()?, parts.next()?, parts.next()?];
    parts.next().is_none().then_some(out)
}

// ---- ISO 8601 basic (SigV4) ----

/// ISO 8601 basic format, UTC, as SigV4's `x-amz-date`: `yyyymmddThhmmssZ`.
pub(crate) fn amz_date(secs: u64) -> String {
    let (y, m, d, h, mi, s) = civil(secs);
    format!("{y:04}{m:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

/// Parses `x-amz-date` (`yyyymmddThhmmssZ`, exactly) as seconds since the Unix epoch.
/// `None` for anything else, a second of 60, or a time before 1970.
pub(crate) fn parse_amz_date(value: &str) -> Option<u64> {
    let b = value.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let field = |range: std::ops::Range<usize>| value.get(range.clone()).and_then(|s| fixed_num(s, range.len()));
    let second = field(13..15).filter(|s| *s < 60)?;
    let secs = instant(
        field(0..4)?,
        field(4..6)?,
        field(6..8)?,
        field(9..11)?,
        field(11..13)?,
        second,
    )?;
    u64::try_from(secs).ok()
}

// ---- HTTP-date (RFC 9110 §5.6.7) ----

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_DAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// IMF-fixdate (RFC 9110 §5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) fn http_date(secs: u64) -> String {
    let (y, m, d, h, mi, s) = civil(secs);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    // 1970-01-01 was a Thursday (index 3 from Monday).
    let weekday = DAY_NAMES[usize::try_from((days + 3).rem_euclid(7)).unwrap_or(0)];
    let month = MONTHS[usize::try_from(m.saturating_sub(1)).unwrap_or(0)];
    format!("{weekday}, {d:02} {month} {y:04} {h:02}:{mi:02}:{s:02} GMT")
}

/// Parses an HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, and the obsolete RFC 850 and asctime
/// forms recipients must accept. Seconds since the epoch (negative before 1970); `None` for
/// anything else.
pub(crate) fn parse_http_date(s: &str) -> Option<i64> {
    let s = s.trim_matches([' ', '\t']);
    if let Some((day, rest)) = s.split_once(", ") {
        if DAY_NAMES.contains(&day) {
            // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
            let parts: Vec<&str> = rest.split(' ').collect();
            let [d, mon, y, time, "GMT"] = parts.as_slice() else {
                return None;
            };
            return build_date(fixed_num(y, 4)?, mon, fixed_num(d, 2)?, time);
        }
        if LONG_DAY_NAMES.contains(&day) {
            // rfc850-date: Sunday, 06-Nov-94 08:49:37 GMT
            let parts: Vec<&str> = rest.split(' ').collect();
            let [date, time, "GMT"] = parts.as_slice() else {
                return None;
            };
            let dparts: Vec<&str> = date.split('-').collect();
            let [d, mon, yy] = dparts.as_slice() else {
                return None;
            };
            let yy = fixed_num(yy, 2)?;
            let year = if yy >= 70 { 1900 + yy } else { 2000 + yy };
            return build_date(year, mon, fixed_num(d, 2)?, time);
        }
        return None;
    }
    // asctime-date: Sun Nov  6 08:49:37 1994 (day is two digits or space and one digit)
    let (day, rest) = s.split_at_checked(4)?;
    let name = day.strip_suffix(' ')?;
    if !DAY_NAMES.contains(&name) {
        return None;
    }
    let (mon, rest) = rest.split_at_checked(4)?;
    let mon = mon.strip_suffix(' ')?;
    let (d, rest) = rest.split_at_checked(3)?;
    let d = d.strip_suffix(' ')?;
    let d = match d.strip_prefix(' ') {
        Some(one) => fixed_num(one, 1)?,
        None => fixed_num(d, 2)?,
    };
    let (time, y) = rest.split_once(' ')?;
    build_date(fixed_num(y, 4)?, mon, d, time)
}

/// The date and `hh:mm:ss` time-of-day of an HTTP-date.
fn build_date(year: i64, mon: &str, day: i64, time: &str) -> Option<i64> {
    let month = MONTHS.iter().position(|m| *m == mon)? as i64 + 1;
    let [h, m, sec] = split3(time, ':')?;
    instant(year, month, day, fixed_num(h, 2)?, fixed_num(m, 2)?, fixed_num(sec, 2)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Sun, 06 Nov 1994 08:49:37 GMT.
    const T1994: u64 = 784_111_777;
    /// 2026-03-01T12:00:00Z.
    const T2026: u64 = 1_772_366_400;

    #[test]
    fn day_counts_round_trip() {
        for days in [-719_468, -1, 0, 1, 10_956, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), days);
        }
    }

    // ---- RFC 3339 ----

    #[test]
    fn known_instants_format() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_440_938_160), "2015-08-30T12:36:00Z");
        assert_eq!(rfc3339(1_795_435_200), "2026-11-23T12:00:00Z");
    }

    #[test]
    fn timestamps_have_milliseconds() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_millis(1_795_435_200), "2026-11-23T12:00:00.000Z");
    }

    #[test]
    fn iso8601_round_trips_and_takes_fractions() {
        for secs in [0, 1_440_938_160, 1_795_000_000] {
            assert_eq!(parse_rfc3339(&rfc3339(secs)), Some(secs));
            assert_eq!(parse_rfc3339(&rfc3339_millis(secs)), Some(secs));
        }
        assert_eq!(parse_rfc3339("2015-08-30T12:36:00.000Z"), Some(1_440_938_160));
        for bad in [
            "",
            "2015-02-29T12:36:00Z",
            "2015-08-30T12:36:00",
            "2015-08-30 12:36:00Z",
            "2015-13-30T12:36:00Z",
            "1969-12-31T23:59:59Z",
            "2015-08-30T12:36:00.Zx",
            "2015-08-30T24:00:00Z",
            "2015-8-30T12:36:00Z",
            "+015-08-30T12:36:00Z",
            "2015-08-30T12:36:00+01:00",
            "2015-08-30T12:36:0ü0Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    // ---- ISO 8601 basic ----

    #[test]
    fn amz_dates_follow_the_calendar() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(parse_amz_date("20000229T000000Z"), Some(951_782_400));
        assert_eq!(parse_amz_date("20260301T120000Z"), Some(T2026));
        for bad in [
            "19691231T235959Z",
            "21000229T000000Z",
            "20230229T000000Z",
            "20261301T000000Z",
            "20260431T000000Z",
            "20260100T000000Z",
            "20260301T240000Z",
            "20260301T126000Z",
            "20260301T120060Z",
            "20260301t120000Z",
            "2026030+T120000Z",
            "20260301T120000Z ",
            "2026030üT12000Z",
            "",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn amz_dates_format() {
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(T2026), "20260301T120000Z");
    }

    // ---- HTTP-date ----

    #[test]
    fn three_http_date_forms_parse_to_the_same_instant() {
        let t = Some(T1994 as i64);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), t);
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), t);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), t);
        assert_eq!(
            parse_http_date("Sun Nov 16 08:49:37 1994"),
            Some(T1994 as i64 + 10 * 86_400)
        );
    }

    #[test]
    fn rfc850_two_digit_years_pivot_at_70() {
        assert_eq!(parse_http_date("Thursday, 01-Jan-70 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("Saturday, 01-Jan-00 00:00:00 GMT"), Some(946_684_800));
    }

    #[test]
    fn invalid_dates_are_rejected() {
        for s in [
            "",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 29 Feb 1900 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Xyz, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun Nov 6 08:49:37 1994",
            "1994-11-06T08:49:37Z",
        ] {
            assert_eq!(parse_http_date(s), None, "{s:?}");
        }
        assert!(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT").is_some());
    }

    #[test]
    fn dates_before_1970_are_negative() {
        assert_eq!(parse_http_date("Wed, 31 Dec 1969 23:59:59 GMT"), Some(-1));
    }

    #[test]
    fn http_date_formats_imf_fixdate() {
        assert_eq!(http_date(T1994), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_795_435_200), "Mon, 23 Nov 2026 12:00:00 GMT");
    }

    proptest! {
        #[test]
        fn http_date_round_trips(secs in 0u64..253_402_300_799) {
            prop_assert_eq!(parse_http_date(&http_date(secs)), Some(secs as i64));
        }

        #[test]
        fn parse_http_date_never_panics(s in "\\PC{0,40}") {
            let _ = parse_http_date(&s);
        }

        #[test]
        fn amz_dates_agree_with_the_calendar_formatter(secs in 0u64..253_402_300_800) {
            let iso = rfc3339(secs).replace(['-', ':'], "");
            prop_assert_eq!(parse_amz_date(&iso), Some(secs));
            prop_assert_eq!(amz_date(secs), iso);
        }

        #[test]
        fn rfc3339_never_panics_and_round_trips(s in "\\PC{0,30}", secs in 0u64..253_402_300_800) {
            let _ = parse_rfc3339(&s);
            let _ = parse_amz_date(&s);
            prop_assert_eq!(parse_rfc3339(&rfc3339(secs)), Some(secs));
        }
    }
}
