//! The fleet's Redis (`--redis URL`, else `KEYWARD_REDIS_URL`): reachable (PING within the
//! timeout), TLS or loopback, requiring credentials when not on loopback (a client without
//! them must get `NOAUTH`), and `maxmemory-policy noeviction` (a replay-cache entry evicted
//! under memory pressure would let a replay through).

use keyward::exchange::fleet::{AnonymousAccess, FleetConfig, FleetError};

use super::finding::{Finding, Severity};

const CHECK: &str = "redis";

const FIX_URL: &str = "set KEYWARD_REDIS_URL to redis://127.0.0.1:6379 (loopback) or \
                       rediss://USER:PASSWORD@HOST:PORT (TLS, verified; a private CA through \
                       KEYWARD_REDIS_CA_FILE); see docs/guides/fleets.md";

/// Where the Redis to check comes from: the option, else the environment, else none.
pub fn configured(option: Option<&str>) -> Option<Result<FleetConfig, FleetError>> {
    match option {
        Some(url) => Some(FleetConfig::from_url(url).and_then(|config| {
            // Anyone on the machine can read a process's arguments.
            if config.has_password() {
                Err(FleetError::Missing(
                    "a Redis password on the command line can be read by anyone on this machine; \
                     give the URL through KEYWARD_REDIS_URL instead of --redis"
                        .to_owned(),
                ))
            } else {
                Ok(config)
            }
        })),
        None => match FleetConfig::from_env() {
            Err(FleetError::Missing(_)) => None,
            other => Some(other),
        },
    }
}

/// Runs the checks on `config` (or reports why it could not be used).
pub async fn check(config: Result<FleetConfig, FleetError>, findings: &mut Vec<Finding>) {
    let config = match config {
        Ok(config) => config,
        Err(e) => {
            let fix = match e {
                FleetError::PlainNotLoopback { .. } => {
                    "use rediss:// (TLS with certificate verification) for a Redis off this machine"
                }
                _ => FIX_URL,
            };
            findings.push(Finding::new(
                CHECK,
                Severity::High,
                format!("the fleet's Redis configuration is refused: {e}"),
                fix,
            ));
            return;
        }
    };
    let shown = config.shown();
    let fleet = match config.connect().await {
        Ok(fleet) => fleet,
        Err(e) => {
            findings.push(Finding::new(
                CHECK,
                Severity::High,
                format!("Redis is not reachable within {:?}: {e}", config.timeout()),
                "start Redis, or fix KEYWARD_REDIS_URL (host, port, password, CA); the fleet's \
                 replay cache refuses every request while Redis is unreachable",
            ));
            return;
        }
    };
    findings.push(transport(&config));
    let anonymous = config.anonymous_access().await;
    if let Some(finding) = auth(&shown, config.is_loopback(), anonymous) {
        findings.push(finding);
    }
    match fleet.eviction_policy().await {
        Ok(policy) => findings.extend(eviction(&shown, &policy)),
        Err(e) => findings.push(Finding::new(
            CHECK,
            Severity::Medium,
            format!("could not read the maxmemory-policy of {shown} ({e}); it must be noeviction"),
            "check the server's configuration (redis.conf or the service's settings): \
             maxmemory-policy noeviction",
        )),
    }
}

/// How the connection travels: always an info finding, since a configuration that is neither
/// TLS nor loopback is refused before connecting.
fn transport(config: &FleetConfig) -> Finding {
    let message = if config.is_tls() {
        let trust = if config.has_own_ca() {
            "the configured CA"
        } else {
            "the webpki roots"
        };
        format!(
            "{} answers PING over TLS, its certificate verified against {trust}",
            config.shown()
        )
    } else {
        format!(
            "{} answers PING over plain TCP on loopback (only processes on this machine reach it)",
            config.shown()
        )
    };
    Finding::new(CHECK, Severity::Info, message, "nothing to fix")
}

/// The finding about credentials: a Redis off loopback that lets in a client without them is
/// high; on loopback it is worth knowing.
fn auth(
    shown: &str,
    loopback: bool,
    anonymous: Result<AnonymousAccess, FleetError>,
) -> Option<Finding> {
    match (anonymous, loopback) {
        (Ok(AnonymousAccess::Refused), _) => Some(Finding::new(
            CHECK,
            Severity::Info,
            format!("{shown} refuses clients without credentials (NOAUTH)"),
            "nothing to fix",
        )),
        (Ok(AnonymousAccess::Allowed), false) => Some(Finding::new(
            CHECK,
            Severity::High,
            format!(
                "{shown} is not on loopback and answers clients without credentials: anyone who \
                 reaches it can read the fleet's state and reset its rate budgets and replay memory"
            ),
            "require a password: `requirepass` or an ACL user in redis.conf (`user fleet on \
             >PASSWORD ~PREFIX:* +@all`), and put it in KEYWARD_REDIS_URL",
        )),
        (Ok(AnonymousAccess::Allowed), true) => Some(Finding::new(
            CHECK,
            Severity::Info,
            format!(
                "{shown} answers clients without credentials; on loopback only this machine's \
                 processes reach it"
            ),
            "optional on loopback: set `requirepass` (redis.conf) and put the password in \
             KEYWARD_REDIS_URL",
        )),
        // Not a connection problem the main check missed: report it, without guessing.
        (Err(e), _) => Some(Finding::new(
            CHECK,
            Severity::Medium,
            format!("could not tell whether {shown} requires credentials: {e}"),
            "check that the server refuses clients without a password (expect NOAUTH)",
        )),
    }
}

/// The finding about the eviction policy, if it is not `noeviction`.
fn eviction(shown: &str, policy: &str) -> Option<Finding> {
    (policy != "noeviction").then(|| {
        Finding::new(
            CHECK,
            Severity::High,
            format!(
                "{shown} has maxmemory-policy {policy}: under memory pressure it evicts keys, and \
                 an evicted replay-cache entry lets a replay through (and an evicted budget resets it)"
            ),
            "redis-cli CONFIG SET maxmemory-policy noeviction, and set `maxmemory-policy \
             noeviction` in redis.conf so a restart keeps it",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_required_off_loopback_only() {
        let shown = "rediss://redis.example:6380/0";
        let off = auth(shown, false, Ok(AnonymousAccess::Allowed)).unwrap();
        assert_eq!(off.severity, Severity::High);
        let on = auth(shown, true, Ok(AnonymousAccess::Allowed)).unwrap();
        assert_eq!(on.severity, Severity::Info);
        let refused = auth(shown, false, Ok(AnonymousAccess::Refused)).unwrap();
        assert_eq!(refused.severity, Severity::Info);
        assert!(refused.message.contains("NOAUTH"));
    }

    #[test]
    fn only_noeviction_is_safe() {
        assert!(eviction("x", "noeviction").is_none());
        for policy in [
            "allkeys-lru",
            "volatile-lru",
            "allkeys-random",
            "volatile-ttl",
        ] {
            assert_eq!(eviction("x", policy).unwrap().severity, Severity::High);
        }
    }

    #[test]
    fn a_password_on_the_command_line_is_refused() {
        let refused = configured(Some("redis://:hunter2-canary@127.0.0.1:6379")).unwrap();
        let e = refused.unwrap_err().to_string();
        assert!(
            e.contains("KEYWARD_REDIS_URL") && !e.contains("hunter2-canary"),
            "{e}"
        );
        assert!(configured(Some("redis://127.0.0.1:6379")).unwrap().is_ok());
    }
}
