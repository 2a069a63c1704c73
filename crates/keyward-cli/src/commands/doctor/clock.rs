//! `--clock-skew`: this machine's clock against a venue's public time endpoint. Venues refuse
//! signed requests whose timestamp is off by more than their window (Binance: 1 s ahead, 5 s
//! behind by default), so a drifting clock shows as "timestamp outside recvWindow" errors.

use std::time::Duration;

use anyhow::{Result, bail};
use keyward::exchange::production_origin;
use keyward::resilience::RetryPolicy;
use keyward::{Credentials, RestClient, Scheme};

use super::finding::{Finding, Severity};

/// An offset above this is worth fixing (medium).
const WARN_MS: u64 = 1_000;
/// An offset above this is refused by most venues' default windows (high).
const HIGH_MS: u64 = 5_000;
/// Samples taken: the fastest round trip gives the offset.
const SAMPLES: usize = 3;
/// The time each request may take.
const TIMEOUT: Duration = Duration::from_secs(5);

const FIX: &str = "sync the system clock: `sudo chronyc makestep` (chrony) or \
                   `sudo timedatectl set-ntp true` (systemd-timesyncd); keyward's clients also \
                   correct for the offset (clock sync is on by default), other tools may not";

/// What `--clock-skew TARGET [--venue NAME]` points at: the venue and its base URL.
pub fn target(target: &str, venue: Option<&str>) -> Result<(Scheme, String)> {
    let known = || {
        Scheme::ALL
            .into_iter()
            .filter(|v| production_origin(*v).is_some())
            .map(Scheme::name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if target.contains("://") {
        let Some(name) = venue else {
            bail!(
                "--clock-skew {} needs --venue NAME, the venue whose time endpoint it serves ({})",
                redact(target),
                known()
            );
        };
        return Ok((
            parse(name, &known())?,
            target.trim_end_matches('/').to_owned(),
        ));
    }
    if venue.is_some() {
        bail!(
            "--venue goes with a base URL; --clock-skew {} names the venue already",
            redact(target)
        );
    }
    let scheme = parse(target, &known())?;
    let url = production_origin(scheme).ok_or_else(|| {
        anyhow::anyhow!(
            "{} has no time endpoint keyward reads; use one of {}",
            redact(target),
            known()
        )
    })?;
    Ok((scheme, url.to_owned()))
}

/// A --clock-skew argument as errors show it: a URL without its user info, query or fragment
/// (a URL with credentials is refused later, but must not be echoed first). Hand-written: the
/// text may not parse as a URL, and this cut needs no parser.
fn redact(target: &str) -> String {
    let text = target.split(['?', '#']).next().unwrap_or_default();
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.rsplit('@').next().unwrap_or_default();
    format!("{scheme}://{host}{path}")
}

fn parse(name: &str, known: &str) -> Result<Scheme> {
    match name.parse::<Scheme>() {
        Ok(v) if production_origin(v).is_some() => Ok(v),
        _ => {
            bail!("{name:?} is not a venue with a time endpoint keyward reads; use one of {known}")
        }
    }
}

/// A client for `venue`'s public time endpoint at `url` (a URL the clients refuse, such as
/// plain HTTP off loopback, is an error here, before any check runs).
pub async fn client(venue: Scheme, url: &str) -> Result<RestClient> {
    // The time endpoint is public: nothing is signed, but the client wants credentials.
    Ok(RestClient::builder(venue, url)
        .credentials(
            Credentials::new("doctor", "ZG9jdG9yLWNsb2NrLXByb2Jl".into())
                .with_passphrase("doctor".into()),
        )
        .timeout(TIMEOUT)
        .retry_policy(RetryPolicy::builder().max_attempts(2).build()?)
        .build()
        .await?)
}

/// Measures the offset of the venue's clock to this machine's with `client` and reports it.
pub async fn check(client: &RestClient, url: &str, out: &mut Vec<Finding>) {
    let venue = client.scheme();
    let mut offset = 0;
    for _ in 0..SAMPLES {
        match client.sync_clock().await {
            Ok(ms) => offset = ms,
            Err(e) => {
                out.push(Finding::new(
                    "clock-skew",
                    Severity::Low,
                    format!("could not read {venue}'s time at {url} ({e}): clock skew not checked"),
                    "check the network and the URL, then run the check again",
                ));
                return;
            }
        }
    }
    out.push(finding(venue, url, offset));
}

/// The finding for an offset of `offset_ms` (the venue's clock minus this machine's).
fn finding(venue: Scheme, url: &str, offset_ms: i64) -> Finding {
    let size = offset_ms.unsigned_abs();
    let side = if offset_ms > 0 { "behind" } else { "ahead of" };
    let severity = match size {
        s if s > HIGH_MS => Severity::High,
        s if s > WARN_MS => Severity::Medium,
        _ => Severity::Info,
    };
    let message = match severity {
        Severity::Info => format!("this machine's clock is within {size} ms of {venue}'s ({url})"),
        Severity::High => format!(
            "this machine's clock is {size} ms {side} {venue}'s ({url}): venues refuse signed requests this far off"
        ),
        _ => format!(
            "this machine's clock is {size} ms {side} {venue}'s ({url}): requests with short receive windows will be refused"
        ),
    };
    let fix = if severity == Severity::Info {
        "none needed"
    } else {
        FIX
    };
    Finding::new("clock-skew", severity, message, fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_a_venue_or_a_url_with_its_venue() {
        // Finding 19: a URL is echoed without its user info or query.
        let err = target("https://u:CANARY-pw@venue.example/api?key=CANARY-q", None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("https://venue.example/api") && !err.contains("CANARY"),
            "{err}"
        );
        let (v, url) = target("binance", None).unwrap();
        assert_eq!(
            (v, url.as_str()),
            (Scheme::Binance, "https://api.binance.com")
        );
        let (v, url) = target("http://127.0.0.1:9/", Some("okx")).unwrap();
        assert_eq!((v, url.as_str()), (Scheme::Okx, "http://127.0.0.1:9"));
        for (t, venue, needle) in [
            ("http://127.0.0.1:9", None, "needs --venue"),
            ("binance", Some("okx"), "names the venue already"),
            ("nasdaq", None, "not a venue"),
            ("bitmart", None, "not a venue"),
            ("keyward-v1", None, "not a venue"),
        ] {
            let err = target(t, venue).unwrap_err().to_string();
            assert!(err.contains(needle), "{t}: {err}");
        }
    }

    #[test]
    fn severity_grows_with_the_offset_either_way() {
        let sev = |ms| finding(Scheme::Binance, "u", ms).severity;
        assert_eq!(sev(0), Severity::Info);
        assert_eq!(sev(-1_000), Severity::Info);
        assert_eq!(sev(1_001), Severity::Medium);
        assert_eq!(sev(-5_000), Severity::Medium);
        assert_eq!(sev(5_001), Severity::High);
        assert!(
            finding(Scheme::Binance, "u", 3_000)
                .message
                .contains("3000 ms behind")
        );
        assert!(
            finding(Scheme::Binance, "u", -3_000)
                .message
                .contains("3000 ms ahead of")
        );
    }
}
