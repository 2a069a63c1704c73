//! Secret stores: credentials revoked (`keyward secret revoke`) and not yet replaced, and
//! credentials due for rotation, in the local vault and in each `--store`, through the
//! `SecretStore` trait's `revocations` and `credential_ages` (every store that keeps dates:
//! the vault, the encrypted file store, AWS Secrets Manager). Names, versions, times and the
//! operator's reason are shown; values never are.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keyward::secrets::{RotationPolicy, SecretStore, SqliteVault};

use super::finding::{Finding, Severity, shell_quote};
use crate::cli::{Format, RingArgs, StoreArgs};

/// The rotation policy of `days` days.
pub fn policy(days: u32) -> RotationPolicy {
    RotationPolicy::max_age(Duration::from_secs(u64::from(days) * 86_400))
}

/// Revocations in the vault at `path` (when it exists and opens; the vault check reports a
/// vault that does not).
pub async fn vault_revocations(path: &Path, out: &mut Vec<Finding>) {
    if !path.exists() {
        return;
    }
    let Ok(vault) = SqliteVault::open_with_key_file(path, SqliteVault::key_path(path)) else {
        return;
    };
    let url = format!("sqlite:{}", path.display());
    revocations(&vault, &url, Some(path), out).await;
}

/// Revocations and rotation age in the store each `--store` URL names.
pub async fn check(
    urls: &[String],
    ring: &RingArgs,
    policy: &RotationPolicy,
    out: &mut Vec<Finding>,
) {
    for url in urls {
        let args = StoreArgs {
            store: Some(url.clone()),
            ring: RingArgs {
                key_files: ring.key_files.clone(),
            },
            format: Format::Text,
        };
        let path = local_path(url);
        let store = match crate::commands::secret::open(&args).await {
            Ok(store) => store,
            Err(e) => {
                out.push(located(
                    Finding::new(
                        "store",
                        Severity::Medium,
                        format!("the store {url} cannot be opened ({e:#}): revocations and rotation not checked"),
                        format!("keyward secret list --store {}", quote(url)),
                    ),
                    path.as_deref(),
                ));
                continue;
            }
        };
        revocations(&*store, url, path.as_deref(), out).await;
        rotation(&*store, url, path.as_deref(), policy, out).await;
    }
}

/// One high finding per revoked credential not yet replaced.
async fn revocations(
    store: &dyn SecretStore,
    url: &str,
    path: Option<&Path>,
    out: &mut Vec<Finding>,
) {
    let revoked = match store.revocations().await {
        Ok(revoked) => revoked,
        Err(e) => {
            out.push(located(
                Finding::new(
                    "revoked",
                    Severity::Medium,
                    format!("the revocations in {url} cannot be read ({e})"),
                    format!("keyward secret list --store {}", quote(url)),
                ),
                path,
            ));
            return;
        }
    };
    for r in revoked {
        let reason = r
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        out.push(located(
            Finding::new(
                "revoked",
                Severity::High,
                format!(
                    "credential {:?} in {url} was revoked at {}{reason} and not yet replaced: clients refuse it",
                    r.name,
                    date(r.at)
                ),
                format!(
                    "create new credentials at the venue, then `keyward secret put {} --store {}` (this clears the revocation)",
                    r.name,
                    quote(url)
                ),
            ),
            path,
        ));
    }
}

/// One medium finding per credential older than `policy`, or an info finding for a store that
/// keeps no dates.
async fn rotation(
    store: &dyn SecretStore,
    url: &str,
    path: Option<&Path>,
    policy: &RotationPolicy,
    out: &mut Vec<Finding>,
) {
    let ages = match store.credential_ages().await {
        Ok(ages) => ages,
        Err(keyward::secrets::Error::Unsupported { .. }) => {
            out.push(located(
                Finding::new(
                    "rotation",
                    Severity::Info,
                    format!("the store {url} keeps no dates: rotation age not checked"),
                    "keep credentials in the vault, an encrypted file or AWS Secrets Manager to track their age",
                ),
                path,
            ));
            return;
        }
        Err(e) => {
            out.push(located(
                Finding::new(
                    "rotation",
                    Severity::Medium,
                    format!("the credential ages in {url} cannot be read ({e})"),
                    format!("keyward secret list --store {}", quote(url)),
                ),
                path,
            ));
            return;
        }
    };
    let now = SystemTime::now();
    for age in ages {
        let Some(at) = age.rotated_at.filter(|at| policy.is_due(*at, now)) else {
            continue;
        };
        let days = RotationPolicy::age(at, now).as_secs() / 86_400;
        out.push(located(
            Finding::new(
                "rotation",
                Severity::Medium,
                format!(
                    "credential {:?} in {url} is due for rotation: its value is {days} days old (limit {} days)",
                    age.name,
                    policy.limit().as_secs() / 86_400
                ),
                format!(
                    "rotate it at the venue, then `keyward secret put {} --store {}`",
                    age.name,
                    quote(url)
                ),
            ),
            path,
        ));
    }
}

/// The local file a store URL names, if any.
fn local_path(url: &str) -> Option<PathBuf> {
    match url.split_once(':') {
        Some(("sqlite" | "file" | "dotenv", path)) => Some(PathBuf::from(path)),
        _ => None,
    }
}

fn located(finding: Finding, path: Option<&Path>) -> Finding {
    match path {
        Some(path) => finding.at(path),
        None => finding,
    }
}

fn quote(url: &str) -> String {
    shell_quote(Path::new(url))
}

/// A time in RFC 3339 (UTC, whole seconds).
fn date(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{secs} s after the Unix epoch"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(date(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            date(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
            "2023-11-14T22:13:20Z"
        );
    }

    #[test]
    fn local_paths() {
        assert_eq!(
            local_path("file:/x/s.fernet"),
            Some(PathBuf::from("/x/s.fernet"))
        );
        assert_eq!(local_path("aws"), None);
    }
}
