//! Credential age: the policy that says when a credential is due for rotation (stores read the
//! time from an injected [`Clock`](crate::Clock)).

use std::time::{Duration, SystemTime};

/// When a credential is due for rotation: once its current version is older than `max_age`
/// (90 days unless configured).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    max_age: Duration,
}

impl RotationPolicy {
    /// The default maximum age: 90 days.
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(90 * 24 * 60 * 60);

    /// A policy that makes a credential due once it is older than `max_age`.
    pub fn max_age(max_age: Duration) -> Self {
        Self { max_age }
    }

    /// The maximum age.
    pub fn limit(&self) -> Duration {
        self.max_age
    }

    /// The age at `now` of a credential last rotated at `since` (zero if `since` is later).
    pub fn age(since: SystemTime, now: SystemTime) -> Duration {
        now.duration_since(since).unwrap_or_default()
    }

    /// Whether a credential last rotated at `since` is due at `now`.
    pub fn is_due(&self, since: SystemTime, now: SystemTime) -> bool {
        Self::age(since, now) > self.max_age
    }
}

impl Default for RotationPolicy {
    fn default() -> Self {
        Self::max_age(Self::DEFAULT_MAX_AGE)
    }
}

/// The rotation age of one credential, as a store that keeps dates reports it
/// ([`SecretStore::credential_ages`](crate::SecretStore::credential_ages)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialAge {
    /// The secret's name.
    pub name: String,
    /// When its current version was stored or made current; `None` if the store has no date
    /// for it (or no current version).
    pub rotated_at: Option<SystemTime>,
    /// How old the current version is.
    pub age: Option<Duration>,
    /// Whether it is due for rotation under the store's policy.
    pub due: bool,
}

impl CredentialAge {
    /// The age of `name` last rotated at `rotated_at`, judged at `now` under `policy`.
    pub fn at(
        name: impl Into<String>,
        rotated_at: Option<SystemTime>,
        policy: &RotationPolicy,
        now: SystemTime,
    ) -> Self {
        Self {
            name: name.into(),
            rotated_at,
            age: rotated_at.map(|at| RotationPolicy::age(at, now)),
            due: rotated_at.is_some_and(|at| policy.is_due(at, now)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_only_past_the_limit() {
        let day = Duration::from_secs(86_400);
        let t0 = SystemTime::UNIX_EPOCH + 1000 * day;
        let policy = RotationPolicy::default();
        assert!(!policy.is_due(t0, t0 + 90 * day));
        assert!(policy.is_due(t0, t0 + 90 * day + Duration::from_secs(1)));
        assert!(
            !policy.is_due(t0, t0 - day),
            "a clock going back is not an age"
        );
        assert!(RotationPolicy::max_age(7 * day).is_due(t0, t0 + 8 * day));
    }
}
