//! The `Retry-After` header (RFC 9110 §10.2.3, formerly RFC 7231 §7.1.3): delta-seconds or an
//! HTTP-date, read without ever panicking.

use std::time::{Duration, SystemTime};

/// How long a `Retry-After` header value asks to wait, measured from `now` (the wall clock:
/// a date is compared with it).
///
/// - delta-seconds (`"120"`): that many seconds. A number too large for a `u64` saturates; the
///   policy's clamp (see [`clamp_retry_after`]) brings it back to a sane wait.
/// - an HTTP-date in any of the three forms RFC 9110 allows (`"Wed, 21 Oct 2015 07:28:00 GMT"`,
///   and the obsolete RFC 850 and asctime forms): the time from `now` to that date; a date
///   already past is zero.
///
/// Surrounding spaces and tabs are ignored. Anything else (empty, negative, a fraction, a sign,
/// a malformed date) is `None`: the header is then ignored, never a panic.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim_matches([' ', '\t']);
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.bytes().fold(0u64, |acc, b| {
            acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
        });
        return Some(Duration::from_secs(secs));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `retry_after` brought within `[min, max]`: so that `Retry-After: 0` cannot cause a storm and
/// `Retry-After: 999999` cannot park a client for days. If `min > max`, `max` wins.
pub fn clamp_retry_after(retry_after: Duration, min: Duration, max: Duration) -> Duration {
    retry_after.max(min).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn delta_seconds() {
        let now = at(0);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0\t", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("99999999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn http_dates_in_all_three_forms() {
        // 1445412480 is Wed, 21 Oct 2015 07:28:00 GMT.
        let now = at(1_445_412_480 - 90);
        let want = Some(Duration::from_secs(90));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            want
        );
        assert_eq!(
            parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", now),
            want
        );
        assert_eq!(parse_retry_after("Wed Oct 21 07:28:00 2015", now), want);
    }

    #[test]
    fn a_past_date_is_zero() {
        let now = at(1_445_412_480 + 3600);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn garbage_is_none() {
        let now = at(0);
        for bad in [
            "",
            "  ",
            "-1",
            "+5",
            "1.5",
            "1e3",
            "soon",
            "١٢",
            "Wed, 32 Oct 2015 07:28:00 GMT",
        ] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn clamp_bounds() {
        let (min, max) = (Duration::from_millis(100), Duration::from_secs(60));
        assert_eq!(clamp_retry_after(Duration::ZERO, min, max), min);
        assert_eq!(
            clamp_retry_after(Duration::from_secs(999_999), min, max),
            max
        );
        assert_eq!(
            clamp_retry_after(Duration::from_secs(5), min, max),
            Duration::from_secs(5)
        );
    }
}
