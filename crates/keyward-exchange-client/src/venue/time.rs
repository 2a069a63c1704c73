//! Where a venue's public time endpoint puts the server time, and in which unit: each venue
//! declares both from its documentation; a number's size is never used to guess the unit.

use serde_json::Value;

use super::lookup;

/// The unit a venue documents for its server time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeUnit {
    /// Seconds since the epoch, possibly with a fraction (`1700000000.123`).
    Seconds,
    /// Milliseconds since the epoch.
    Millis,
    /// Nanoseconds since the epoch.
    Nanos,
}

/// A venue's public time endpoint: its path, the field of the answer (a dotted path) and the
/// field's unit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerTime {
    pub(crate) path: &'static str,
    pub(crate) field: &'static str,
    pub(crate) unit: TimeUnit,
}

impl ServerTime {
    /// The server time in milliseconds, from the endpoint's answer; None when the field is
    /// missing, not a number (or a numeric string), zero or negative.
    pub(crate) fn millis(&self, answer: &Value) -> Option<u64> {
        let v = lookup(answer, self.field)?;
        let text = match v {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.trim().to_owned(),
            _ => return None,
        };
        let ms = match self.unit {
            TimeUnit::Millis => text.parse::<u64>().ok()?,
            TimeUnit::Nanos => text.parse::<u64>().ok()? / 1_000_000,
            TimeUnit::Seconds => match text.parse::<u64>() {
                Ok(s) => s.checked_mul(1000)?,
                Err(_) => fractional_seconds_as_millis(&text)?,
            },
        };
        (ms > 0).then_some(ms)
    }
}

/// `1700000000.123` (seconds) as 1700000000123 (ms), rounded to the nearest millisecond.
fn fractional_seconds_as_millis(text: &str) -> Option<u64> {
    let s: f64 = text.parse().ok()?;
    if !s.is_finite() || s <= 0.0 || s >= 1e15 {
        return None;
    }
    // In range by the check above: below 1e18, inside u64.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some((s * 1000.0).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(field: &'static str, unit: TimeUnit) -> ServerTime {
        ServerTime {
            path: "/t",
            field,
            unit,
        }
    }

    #[test]
    fn each_unit_is_read_as_declared_never_guessed() {
        let ms = at("t", TimeUnit::Millis);
        assert_eq!(
            ms.millis(&json!({"t": 1_700_000_000_123u64})),
            Some(1_700_000_000_123)
        );
        assert_eq!(
            ms.millis(&json!({"t": "1700000000123"})),
            Some(1_700_000_000_123)
        );
        // Seconds given where milliseconds are declared stay what they say: no guess.
        assert_eq!(
            ms.millis(&json!({"t": 1_700_000_000u64})),
            Some(1_700_000_000)
        );
        let s = at("t", TimeUnit::Seconds);
        assert_eq!(
            s.millis(&json!({"t": 1_700_000_000u64})),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            s.millis(&json!({"t": 1_700_000_000.123})),
            Some(1_700_000_000_123)
        );
        let ns = at("a.b", TimeUnit::Nanos);
        assert_eq!(
            ns.millis(&json!({"a": {"b": "1700000000123456789"}})),
            Some(1_700_000_000_123)
        );
        for bad in [
            json!({"t": -5}),
            json!({"t": "soon"}),
            json!({"t": 0}),
            json!({}),
            json!({"t": null}),
        ] {
            assert_eq!(ms.millis(&bad), None, "{bad}");
            assert_eq!(s.millis(&bad), None, "{bad}");
        }
        assert_eq!(s.millis(&json!({"t": u64::MAX})), None, "overflow");
    }
}
