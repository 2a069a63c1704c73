//! The testnet's counters (feature `metrics`; docs/guides/observability.md):
//! `keyward_testnet_requests_total{venue,status}` for every answer and
//! `keyward_testnet_rate_limited_total{venue}` for every 429. The venue label is one of
//! [`VENUES`](crate::VENUES) or [`SERVICE_SCHEMES`](crate::SERVICE_SCHEMES), or `other` for a
//! `/svc/` path naming no scheme: never the request's own text. The status is the three-digit
//! HTTP status code.

/// The label for the listener `name` (a venue, a service scheme or anything else).
fn label(name: &str) -> &'static str {
    crate::VENUES
        .iter()
        .chain(crate::SERVICE_SCHEMES.iter())
        .find(|known| **known == name)
        .copied()
        .unwrap_or("other")
}

/// Counts one answer of `status` to a request for `name`.
pub(crate) fn answered(name: &str, status: u16) {
    let venue = label(name);
    tracing::debug!(venue, status, "testnet answered");
    #[cfg(feature = "metrics")]
    {
        metrics::counter!("keyward_testnet_requests_total",
            "venue" => venue, "status" => status.to_string())
        .increment(1);
        if status == 429 {
            metrics::counter!("keyward_testnet_rate_limited_total", "venue" => venue).increment(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn labels_come_from_the_closed_set() {
        assert_eq!(label("binance"), "binance");
        assert_eq!(label("keyward-v1"), "keyward-v1");
        assert_eq!(label("CANARY-secret-in-a-path"), "other");
    }
}
