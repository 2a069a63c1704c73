//! The forms venues write a time in: milliseconds, whole seconds or ISO 8601 UTC with
//! milliseconds. Each scheme's descriptor names its forms; signing writes a time with
//! [`TimeForm::format`] and verifying reads it back with [`TimeForm::parse`].

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::verify::{VerifyError, parse_u64};

/// How a scheme writes a timestamp (or an expiry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeForm {
    /// Milliseconds since the Unix epoch: `1700000000123`.
    Millis,
    /// Whole seconds since the Unix epoch: `1700000000`.
    Seconds,
    /// ISO 8601 UTC with exactly three fraction digits: `2020-12-08T09:08:57.715Z`.
    Iso8601Millis,
}

impl TimeForm {
    /// `ms` written in this form (seconds are truncated).
    pub(crate) fn format(self, ms: u64) -> crate::Result<String> {
        match self {
            TimeForm::Millis => Ok(ms.to_string()),
            TimeForm::Seconds => Ok(secs(ms).to_string()),
            TimeForm::Iso8601Millis => iso8601_ms(ms),
        }
    }

    /// A time received in this form, in milliseconds; `what` names it in the error. Only the
    /// exact form is accepted (no sign, no other ISO 8601 spelling), since that is what the
    /// signature covers.
    pub(crate) fn parse(self, what: &str, text: &str) -> Result<u64, VerifyError> {
        match self {
            TimeForm::Millis => parse_u64(what, text),
            TimeForm::Seconds => self.number_to_ms(what, parse_u64(what, text)?),
            TimeForm::Iso8601Millis => parse_iso_ms(text).ok_or_else(|| {
                VerifyError::malformed(format!("{what} is not ISO 8601 UTC with milliseconds"))
            }),
        }
    }

    /// A time received as a whole number in this form, in milliseconds.
    pub(crate) fn number_to_ms(self, what: &str, number: u64) -> Result<u64, VerifyError> {
        match self {
            TimeForm::Millis => Ok(number),
            TimeForm::Seconds => number
                .checked_mul(1000)
                .ok_or_else(|| VerifyError::malformed(format!("{what} is out of range"))),
            TimeForm::Iso8601Millis => Err(VerifyError::malformed(format!(
                "{what} must be ISO 8601 UTC with milliseconds, not a number"
            ))),
        }
    }
}

/// Whole seconds of a millisecond timestamp.
pub(crate) fn secs(ms: u64) -> u64 {
    ms / 1000
}

/// A millisecond timestamp as ISO 8601 UTC with milliseconds: `2020-12-08T09:08:57.715Z`.
fn iso8601_ms(ms: u64) -> crate::Result<String> {
    let nanos = i128::from(ms) * 1_000_000;
    let at = OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .map_err(|_| crate::Error::InvalidRequest(format!("timestamp {ms} ms is out of range")))?;
    let text = at
        .format(&Rfc3339)
        .map_err(|_| crate::Error::InvalidRequest(format!("timestamp {ms} ms is out of range")))?;
    // Rfc3339 prints the shortest exact fraction; venues want exactly three digits.
    let (date_time, _) = text.split_at(19);
    Ok(format!("{date_time}.{:03}Z", ms % 1000))
}

/// `2020-12-08T09:08:57.715Z` as milliseconds since the epoch; None for any other form.
fn parse_iso_ms(text: &str) -> Option<u64> {
    let at = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    let ms = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()?;
    (iso8601_ms(ms).ok()? == text).then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_timestamps_have_three_fraction_digits() {
        assert_eq!(
            iso8601_ms(1_607_418_537_715).unwrap(),
            "2020-12-08T09:08:57.715Z"
        );
        assert_eq!(
            iso8601_ms(1_607_418_537_000).unwrap(),
            "2020-12-08T09:08:57.000Z"
        );
        assert_eq!(
            iso8601_ms(1_607_418_537_070).unwrap(),
            "2020-12-08T09:08:57.070Z"
        );
        assert!(iso8601_ms(u64::MAX).is_err());
    }

    #[test]
    fn each_form_reads_back_what_it_writes_and_nothing_else() {
        let ms = 1_607_418_537_000;
        for form in [TimeForm::Millis, TimeForm::Seconds, TimeForm::Iso8601Millis] {
            let text = form.format(ms).unwrap();
            assert_eq!(form.parse("t", &text), Ok(ms), "{form:?}");
        }
        assert_eq!(TimeForm::Seconds.format(1_999).unwrap(), "1");
        assert!(
            TimeForm::Iso8601Millis
                .parse("t", "2020-12-08T09:08:57Z")
                .is_err()
        );
        assert!(TimeForm::Iso8601Millis.parse("t", "1607418537000").is_err());
        assert!(TimeForm::Millis.parse("t", "+1").is_err());
        assert!(TimeForm::Seconds.parse("t", &u64::MAX.to_string()).is_err());
        assert!(TimeForm::Iso8601Millis.number_to_ms("t", 1).is_err());
    }
}
