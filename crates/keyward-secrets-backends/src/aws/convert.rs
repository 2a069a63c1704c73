//! Conversions between our model and Secrets Manager's: stage names and labels, values, dates,
//! page tokens.

use std::collections::HashMap;
use std::time::SystemTime;

use aws_sdk_secretsmanager::primitives::{Blob, DateTime};
use zeroize::Zeroizing;

use super::{AWS_CURRENT, AWS_PENDING, AWS_PREVIOUS, KIND};
use crate::error::{Error, Result};
use crate::store::{CURRENT, PENDING, PREVIOUS};
use crate::value::SecretValue;

/// The id of the version holding `AWSCURRENT`.
pub(super) fn current_of(name: &str, labels: &HashMap<String, Vec<String>>) -> Result<String> {
    labels
        .iter()
        .find(|(_, labels)| labels.iter().any(|l| l == AWS_CURRENT))
        .map(|(id, _)| id.clone())
        .ok_or_else(|| Error::NotFound {
            name: name.to_owned(),
            detail: Some(format!("stage {CURRENT}")),
        })
}

/// The most pages one listing reads: a service that never stops paging is an error, not a hang.
const MAX_PAGES: usize = 10_000;

/// The token of the next page, if any: an empty token (some emulators send one) ends the listing.
pub(super) fn next_page(token: Option<String>, pages: &mut usize) -> Result<Option<String>> {
    *pages += 1;
    let token = token.filter(|t| !t.is_empty());
    if token.is_some() && *pages >= MAX_PAGES {
        return Err(Error::Backend {
            store: KIND,
            message: format!("a listing did not end after {MAX_PAGES} pages"),
        });
    }
    Ok(token)
}

/// Our stage name as an AWS staging label; other labels pass through.
pub(super) fn to_aws_stage(stage: &str) -> &str {
    match stage {
        CURRENT => AWS_CURRENT,
        PREVIOUS => AWS_PREVIOUS,
        PENDING => AWS_PENDING,
        other => other,
    }
}

/// An AWS staging label as our stage name; other labels pass through.
pub(super) fn from_aws_stage(label: &str) -> String {
    match label {
        AWS_CURRENT => CURRENT,
        AWS_PREVIOUS => PREVIOUS,
        AWS_PENDING => PENDING,
        other => other,
    }
    .to_owned()
}

/// AWS labels as our stage names.
pub(super) fn stages_of(labels: Option<Vec<String>>) -> Vec<String> {
    labels
        .unwrap_or_default()
        .iter()
        .map(|l| from_aws_stage(l))
        .collect()
}

/// A service date as a `SystemTime`, if it is representable.
pub(super) fn system_time(date: Option<DateTime>) -> Option<SystemTime> {
    date.and_then(|d| SystemTime::try_from(d).ok())
}

/// The AWS form of a value: a string when the stored form is UTF-8, else binary.
pub(super) enum Payload {
    /// `SecretString`.
    Text(Zeroizing<String>),
    /// `SecretBinary`.
    Binary(Blob),
}

/// The AWS form of `value`.
pub(super) fn payload(value: &SecretValue) -> Payload {
    let stored = value.to_stored();
    match std::str::from_utf8(&stored) {
        Ok(text) => Payload::Text(Zeroizing::new(text.to_owned())),
        Err(_) => Payload::Binary(Blob::new(stored.to_vec())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_page_tokens_end_a_listing_and_endless_ones_fail() {
        let mut pages = 0;
        assert_eq!(next_page(Some(String::new()), &mut pages).unwrap(), None);
        assert_eq!(next_page(None, &mut pages).unwrap(), None);
        assert_eq!(
            next_page(Some("t".into()), &mut pages).unwrap().as_deref(),
            Some("t")
        );
        let mut pages = MAX_PAGES;
        assert!(matches!(
            next_page(Some("t".into()), &mut pages),
            Err(Error::Backend { .. })
        ));
    }

    #[test]
    fn stages_map_both_ways() {
        for (ours, theirs) in [
            (CURRENT, AWS_CURRENT),
            (PREVIOUS, AWS_PREVIOUS),
            (PENDING, AWS_PENDING),
            ("custom", "custom"),
        ] {
            assert_eq!(to_aws_stage(ours), theirs);
            assert_eq!(from_aws_stage(theirs), ours);
        }
    }

    #[test]
    fn utf8_values_are_strings_and_others_binary() {
        let fields = SecretValue::fields([("api_secret", "s")]);
        assert!(
            matches!(payload(&fields), Payload::Text(t) if t.as_str() == r#"{"api_secret":"s"}"#)
        );
        let raw = SecretValue::bytes(vec![0xff, 0x00]);
        assert!(matches!(payload(&raw), Payload::Binary(_)));
    }
}
