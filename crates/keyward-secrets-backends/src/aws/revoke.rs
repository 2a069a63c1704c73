//! Revocation in AWS Secrets Manager: tags on the secret name the revoked version, the time and
//! the reason (`keyward-revoked-version`, `keyward-revoked-at` in milliseconds since the Unix
//! epoch, `keyward-revoked-reason` in base64, since tag values allow few characters). The
//! version is refused while it holds `AWSCURRENT`; once another version is current the tags
//! describe a replaced revocation and are ignored (and removed by the next `revoke`).

use aws_sdk_secretsmanager::types::Tag;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::revocation::{Revocation, from_ms};

/// The tag naming the revoked version.
pub(super) const TAG_VERSION: &str = "keyward-revoked-version";
/// The tag holding the time, in milliseconds since the Unix epoch.
pub(super) const TAG_AT: &str = "keyward-revoked-at";
/// The tag holding the reason, base64.
pub(super) const TAG_REASON: &str = "keyward-revoked-reason";

/// The revocation the tags record, if any (whether or not it was replaced since).
pub(super) fn from_tags(name: &str, tags: &[Tag]) -> Option<Revocation> {
    let tag = |key: &str| {
        tags.iter()
            .find(|t| t.key() == Some(key))
            .and_then(Tag::value)
    };
    let version = tag(TAG_VERSION)?;
    let at_ms = tag(TAG_AT).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let reason = tag(TAG_REASON)
        .and_then(|v| STANDARD.decode(v).ok())
        .and_then(|b| String::from_utf8(b).ok());
    Some(Revocation {
        name: name.to_owned(),
        version: version.to_owned(),
        at: from_ms(at_ms),
        reason,
    })
}

/// The tags recording `revocation`.
pub(super) fn to_tags(revocation: &Revocation) -> Vec<Tag> {
    let mut tags = vec![
        Tag::builder()
            .key(TAG_VERSION)
            .value(&revocation.version)
            .build(),
        Tag::builder()
            .key(TAG_AT)
            .value(revocation.at_ms().to_string())
            .build(),
    ];
    if let Some(reason) = &revocation.reason {
        tags.push(
            Tag::builder()
                .key(TAG_REASON)
                .value(STANDARD.encode(reason))
                .build(),
        );
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip() {
        let r = Revocation {
            name: "bot".into(),
            version: "v-1".into(),
            at: from_ms(1_700_000_000_123),
            reason: Some("leaked: in a CI log (job 12)".into()),
        };
        let tags = to_tags(&r);
        assert!(
            tags.iter()
                .all(|t| t.value().is_some_and(|v| v.len() <= 256))
        );
        assert_eq!(from_tags("bot", &tags), Some(r));
        assert_eq!(from_tags("bot", &[]), None);
    }
}
