#![doc = include_str!("../README.md")]

mod body_limit;
mod builder;
mod credentials;
mod error;
#[cfg(feature = "redis")]
pub mod fleet;
mod nonce_order;
mod order;
mod params;
mod refusal_audit;
mod rest;
pub mod session;
mod time_sync;
mod transport;
mod url_policy;
mod venue;
pub mod ws;

pub use body_limit::MAX_RESPONSE_BODY;
pub use builder::ClientBuilder;
pub use error::{Cause, Error, ErrorKind, Result, VenueDetail};
pub use order::{CancelRequest, OrderAck, OrderRequest, OrderType, Side};
pub use params::Params;
pub use refusal_audit::RefusalAudit;
pub use rest::RestClient;
pub use session::{Totp, TotpAlgorithm, TotpCode, TotpError};
pub use transport::{DEFAULT_USER_AGENT, RootCertificate, Transport};
pub use venue::{LimitScope, limit_scope, production_origin};
pub use ws::{WsConfig, WsError, WsEvent, WsSession};

/// Re-exported: the request classes that decide retries, and the signing schemes.
pub use keyward_resilience::RequestClass;
pub use keyward_signing::{Credentials, Scheme};
/// Re-exported: the URL type [`ClientBuilder::proxy`] takes.
pub use url::Url;
