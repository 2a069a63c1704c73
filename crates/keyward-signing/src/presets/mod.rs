//! Venue presets: one module per venue, each stating its rules and linking the venue's docs.

pub(crate) mod binance;
pub(crate) mod bitmart;
pub(crate) mod bitmex;
pub(crate) mod bybit;
pub(crate) mod coinbase;
pub(crate) mod deribit;
pub(crate) mod kraken;
pub(crate) mod okx;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Whole seconds of a millisecond timestamp.
pub(crate) fn secs(ms: u64) -> u64 {
    ms / 1000
}

/// A millisecond timestamp as ISO 8601 UTC with milliseconds: `2020-12-08T09:08:57.715Z`.
pub(crate) fn iso8601_ms(ms: u64) -> crate::Result<String> {
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

#[cfg(test)]
mod tests {
    use super::iso8601_ms;

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
}
