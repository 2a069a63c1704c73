//! What the signing proxy (`RestClient::relay`, `keyward proxy`) needs to know of a venue,
//! declared by the venue's module from its documentation: which paths are public (sent
//! unsigned), the request class, weight and order count of the endpoints that are not plain
//! reads, what a client's own signing puts into a request (refused in plain mode, stripped
//! in re-sign mode), the fields the signer generates itself (always stripped: the proxy owns
//! timestamps and nonces), and which answer headers carry the venue's rate-limit usage.

// reason: every venue declares its rules; only the proxy (feature `proxy`) reads all of them.
#![cfg_attr(not(feature = "proxy"), allow(dead_code))]

use keyward_resilience::RequestClass;
use serde_json::Value;

use super::Call;
use crate::params::Params;

/// One endpoint's class and costs, where they differ from a read of weight 1.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoint {
    pub(crate) method: &'static str,
    pub(crate) path: &'static str,
    pub(crate) class: RequestClass,
    pub(crate) weight: u32,
    pub(crate) orders: u32,
}

/// A venue's relay rules.
#[derive(Debug)]
pub(crate) struct RelayRules {
    /// Path prefixes of the public endpoints, sent unsigned.
    pub(crate) public: &'static [&'static str],
    /// The endpoints that are not reads of weight 1. A listed path matches exactly; any other
    /// `GET` is a read, and any other method a non-idempotent write (retried only when the
    /// failure proves it was not executed), the safe reading of an unknown endpoint.
    pub(crate) endpoints: &'static [Endpoint],
    /// Parameters (query or body) that carry a client's signature or key.
    pub(crate) credential_params: &'static [&'static str],
    /// Headers (lower-case) that carry a client's key, signature, passphrase or signing time.
    pub(crate) credential_headers: &'static [&'static str],
    /// Parameters the signer generates (timestamp, nonce): a client's own are dropped.
    pub(crate) generated_params: &'static [&'static str],
    /// Answer header name prefixes (lower-case) that carry the venue's usage counts.
    pub(crate) answer_headers: &'static [&'static str],
    /// Whether the proxy passes the venue's private WebSocket sessions through.
    pub(crate) ws: WsRelay,
}

/// The WebSocket pass-through of a venue.
#[derive(Debug, Clone, Copy)]
pub(crate) enum WsRelay {
    /// The venue's private streams need an auth message on connect: the proxy sends it and
    /// passes the session through. `client_auth` recognises a client's own auth message
    /// (refused in plain mode, answered by the proxy in re-sign mode): the venue's acceptance
    /// of it, or None for any other message.
    Served {
        client_auth: fn(&Value) -> Option<Value>,
    },
    /// Not passed through: how a bot reaches the venue's private streams instead, through the
    /// proxy's REST relay.
    NotNeeded(&'static str),
}

impl RelayRules {
    /// The call for a relayed request: signed unless public, with the endpoint's class and
    /// costs.
    pub(crate) fn call(&self, method: &'static str, path: &str, params: Params) -> Call {
        let known = self
            .endpoints
            .iter()
            .find(|e| e.method == method && e.path == path);
        let class = match (known, method) {
            (Some(e), _) => e.class,
            (None, "GET") => RequestClass::Read,
            (None, _) => RequestClass::NonIdempotentWrite,
        };
        let mut call = Call::new(method, path, params)
            .class(class)
            .weight(known.map_or(1, |e| e.weight))
            .orders(known.map_or(0, |e| e.orders));
        if self.public.iter().any(|p| path.starts_with(p)) {
            call = call.public();
        }
        call
    }

    /// Whether a parameter name carries a client's credentials.
    pub(crate) fn is_credential_param(&self, name: &str) -> bool {
        self.credential_params.contains(&name)
    }

    /// Whether a parameter name is one the signer generates.
    pub(crate) fn is_generated_param(&self, name: &str) -> bool {
        self.generated_params.contains(&name)
    }

    /// Whether a header (any case) carries a client's credentials.
    pub(crate) fn is_credential_header(&self, name: &str) -> bool {
        self.credential_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
    }
}
