//! What a process variable may do to a value from an environment's `.env` file.

use super::name::Environment;

/// What happens when a process variable under the prefix is set to a value other than the one
/// the `.env` file gives the same variable (an equal value overrides nothing and is let
/// through). A variable only the process sets is always read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OverridePolicy {
    /// The process's value is used, silently. The default outside production, and refused for
    /// a production environment
    /// ([`Error::UnsafeOverridePolicy`](crate::Error::UnsafeOverridePolicy)).
    ProcessWins,
    /// The file's value is used and the process's ignored.
    FileWins,
    /// Loading fails with [`Error::OverrideRefused`](crate::Error::OverrideRefused), naming the
    /// first such variable (never a value); each one is audited as an `integrity_alert` with
    /// outcome `refused`. The default for a production environment.
    Refuse,
    /// The process's value is used, with a `tracing` warning naming the variable and an audit
    /// entry (`integrity_alert`, outcome `success`) for each one.
    WarnAndAudit,
}

impl OverridePolicy {
    /// The default for `environment`: [`Refuse`](Self::Refuse) for a production environment
    /// ([`Environment::is_production`]), else [`ProcessWins`](Self::ProcessWins) (also the rule
    /// for a `.env` file read with no environment).
    pub fn default_for(environment: Option<&Environment>) -> Self {
        if environment.is_some_and(Environment::is_production) {
            Self::Refuse
        } else {
            Self::ProcessWins
        }
    }

    /// The policy's word (`process-wins`, `file-wins`, `refuse`, `warn`).
    pub fn word(self) -> &'static str {
        match self {
            Self::ProcessWins => "process-wins",
            Self::FileWins => "file-wins",
            Self::Refuse => "refuse",
            Self::WarnAndAudit => "warn",
        }
    }

    /// The policy a word names ([`word`](Self::word)), `None` for any other text.
    pub fn from_word(word: &str) -> Option<Self> {
        [
            Self::ProcessWins,
            Self::FileWins,
            Self::Refuse,
            Self::WarnAndAudit,
        ]
        .into_iter()
        .find(|p| p.word() == word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_defaults_to_refuse() {
        let prod = Environment::new("production").unwrap();
        let staging = Environment::new("staging").unwrap();
        assert_eq!(
            OverridePolicy::default_for(Some(&prod)),
            OverridePolicy::Refuse
        );
        assert_eq!(
            OverridePolicy::default_for(Some(&staging)),
            OverridePolicy::ProcessWins
        );
        assert_eq!(
            OverridePolicy::default_for(None),
            OverridePolicy::ProcessWins
        );
        for p in [
            OverridePolicy::ProcessWins,
            OverridePolicy::FileWins,
            OverridePolicy::Refuse,
            OverridePolicy::WarnAndAudit,
        ] {
            assert_eq!(OverridePolicy::from_word(p.word()), Some(p));
        }
        assert_eq!(OverridePolicy::from_word("yes"), None);
    }
}
