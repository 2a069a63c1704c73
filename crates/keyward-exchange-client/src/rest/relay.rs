//! The raw pass-through of [`RestClient::relay`]: a request at the venue's own path goes through
//! the same pipeline as every call (rate limits, nonce order, signing, breaker, retries by
//! request class, one clock resync on a timestamp refusal, credential reload on an auth
//! refusal), and the caller gets the venue's own answer back (status, content type, the
//! venue's rate-limit usage headers, body), a refusal as much as a success. The typed reading
//! of the answer still decides retries, resyncs and the breaker. keyward's own refusals (a
//! rate-limit wait past the ceiling, an open circuit, an unknown outcome, no answer) stay
//! [`Error`]s. This is what `keyward proxy` forwards.

use std::sync::{Mutex, PoisonError};

use crate::error::{Error, ErrorKind, Result};
use crate::params::Params;
use crate::venue::Venue;

use super::{RestClient, check_path, checked_method};

/// The venue's answer to a relayed request, as the venue gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Relayed {
    /// The HTTP status.
    pub status: u16,
    /// The answer's headers that are safe to pass on: `Content-Type`, `Retry-After` and the
    /// venue's rate-limit usage headers (lower-case names), nothing else.
    pub headers: Vec<(String, String)>,
    /// The body, at most the client's answer ceiling.
    pub body: Vec<u8>,
}

/// The status and passed-on headers of an answer, taken before its body is read.
pub(super) struct Head {
    status: u16,
    headers: Vec<(String, String)>,
}

/// Picks the answer's status and the headers [`Relayed::headers`] lists.
pub(super) fn head(response: &reqwest::Response, venue: Venue) -> Head {
    let passed = venue.relay().map_or(&[][..], |r| r.answer_headers);
    let headers = response
        .headers()
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            name == "content-type"
                || name == "retry-after"
                || passed.iter().any(|prefix| name.starts_with(prefix))
        })
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    Head {
        status: response.status().as_u16(),
        headers,
    }
}

/// Where each attempt leaves the venue's answer it read (cleared when an attempt starts, so a
/// local failure of a later attempt never returns an earlier answer).
#[derive(Default)]
pub(super) struct RawSlot(Mutex<Option<Relayed>>);

impl RawSlot {
    pub(super) fn clear(&self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    pub(super) fn keep(&self, head: Head, body: &[u8]) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(Relayed {
            status: head.status,
            headers: head.headers,
            body: body.to_vec(),
        });
    }

    fn take(&self) -> Option<Relayed> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

impl RestClient {
    /// The venue's relay rules, None when the proxy does not serve it.
    #[cfg(feature = "proxy")]
    pub(crate) fn relay_rules(&self) -> Option<&'static crate::venue::RelayRules> {
        self.inner.venue.relay()
    }

    /// Sends a request at the venue's own `path` (below the base URL; parameters in `params`),
    /// signed unless the venue declares the path public, with the request class, weight and
    /// order count the venue's module declares for it, and returns the venue's answer as it
    /// came: [`Relayed`], whether the venue accepted or refused. keyward's own refusals are
    /// errors: [`Error::RateLimitWait`], [`Error::CircuitOpen`], [`Error::UnknownOutcome`] (a
    /// write that may have been executed: never passed on as the venue's 5xx), a timeout or a
    /// transport failure, and [`Error::Config`] for a venue the proxy does not describe or a
    /// bad method or path.
    pub async fn relay(&self, method: &str, path: &str, params: Params) -> Result<Relayed> {
        let i = &self.inner;
        let method = checked_method(method)?;
        check_path(path)?;
        let rules = i.venue.relay().ok_or_else(|| {
            Error::config(format!(
                "{} has no relay rules; the signing proxy does not serve it",
                i.venue.name()
            ))
        })?;
        let call = rules.call(method, path, params);
        let slot = RawSlot::default();
        match i.execute(&call, Some(&slot)).await {
            Ok(_) => slot
                .take()
                .ok_or_else(|| Error::config("the venue's answer was not kept")),
            Err(e) if e.kind() == ErrorKind::UnknownOutcome => Err(e),
            // The venue answered (a refusal, a body that is not JSON): pass its answer on.
            Err(e) => slot.take().ok_or(e),
        }
    }
}
