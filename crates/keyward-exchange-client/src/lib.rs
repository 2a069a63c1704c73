#![doc = include_str!("../README.md")]
// On docs.rs (`--cfg docsrs`, a nightly rustdoc): each feature-gated item says which feature it
// needs. `doc_cfg` includes what `doc_auto_cfg` did before Rust 1.92.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body_limit;
mod builder;
mod credentials;
mod error;
#[cfg(feature = "redis")]
pub mod fleet;
mod nonce_order;
mod observe;
mod order;
mod params;
#[cfg(feature = "proxy")]
pub mod proxy;
mod refusal_audit;
mod rest;
pub mod session;
mod time_sync;
mod transport;
mod url_policy;
mod venue;
pub mod ws;

/// What the fuzz targets (fuzz/, feature `fuzzing`) reach that the public API only reaches
/// through an HTTP answer: each venue's reading of an answer. Thin wrappers only; not part
/// of the supported API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use std::time::Duration;

    use keyward_resilience::limiter::Limit;
    use keyward_signing::Scheme;
    use serde_json::Value;

    use crate::venue::Venue;

    /// An answer (status, `Retry-After` already read, body) as `scheme`'s venue reads it: the
    /// value, or the error it carries.
    pub fn interpret(
        scheme: Scheme,
        status: u16,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> crate::Result<Value> {
        Venue::new(scheme).interpret("/fuzz", status, retry_after, body)
    }

    /// The server time, in milliseconds, `scheme`'s venue reads from its time endpoint's answer.
    pub fn parse_time(scheme: Scheme, answer: &Value) -> Option<u64> {
        Venue::new(scheme).parse_time(answer)
    }

    /// The rate limits a client of `scheme`'s venue starts with (their usage headers are what
    /// the limiter resyncs from).
    pub fn default_limits(scheme: Scheme) -> Vec<Limit> {
        Venue::new(scheme).default_limits()
    }
}

pub use body_limit::MAX_RESPONSE_BODY;
pub use builder::ClientBuilder;
pub use error::{Cause, Error, ErrorKind, Result, VenueDetail};
pub use order::{CancelRequest, OrderAck, OrderRequest, OrderType, Side};
pub use params::Params;
pub use refusal_audit::RefusalAudit;
pub use rest::{Relayed, RestClient};
pub use session::{Totp, TotpAlgorithm, TotpCode, TotpError};
pub use transport::{DEFAULT_USER_AGENT, RootCertificate, Transport};
pub use venue::{LimitScope, limit_scope, production_origin};
pub use ws::{WsConfig, WsError, WsEvent, WsSession};

/// Re-exported: the request classes that decide retries, and the signing schemes.
pub use keyward_resilience::RequestClass;
pub use keyward_signing::{Credentials, Scheme};
/// Re-exported: the URL type [`ClientBuilder::proxy`] takes.
pub use url::Url;
