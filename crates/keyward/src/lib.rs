#![doc = include_str!("../README.md")]
// On docs.rs (`--cfg docsrs`, a nightly rustdoc): each feature-gated item says which feature it
// needs. `doc_cfg` includes what `doc_auto_cfg` did before Rust 1.92.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use keyward_core_crypto as crypto;
pub use keyward_exchange_client as exchange;
pub use keyward_resilience as resilience;
pub use keyward_secrets_backends as secrets;
pub use keyward_signing as signing;

/// The one client builder: the exchange client's, reached through
/// [`RestClient::builder`]. The facade has no builder of its own.
#[doc(no_inline)]
pub use keyward_exchange_client::ClientBuilder;
/// TOTP codes for broker logins (issue 16), from `keyward_exchange_client::session`.
pub use keyward_exchange_client::session::{Totp, TotpError};
pub use keyward_exchange_client::{
    Error, ErrorKind, OrderRequest, RestClient, RootCertificate, Side, WsConfig, WsEvent, WsSession,
};
pub use keyward_secrets_backends::{SecretStore, SecretValue};
pub use keyward_signing::{Credentials, Scheme};

/// The workspace README and the guides under `docs/guides/`, compiled as doctests (only under
/// `cfg(doctest)`) so their examples stay true to the API.
#[cfg(doctest)]
mod doctests {
    #[doc = include_str!("../../../docs/guides/audit-log.md")]
    struct AuditLog;
    #[doc = include_str!("../../../README.md")]
    struct Readme;
    #[doc = include_str!("../../../docs/guides/broker-sessions.md")]
    struct BrokerSessions;
    #[doc = include_str!("../../../docs/guides/client.md")]
    struct Client;
    #[doc = include_str!("../../../docs/guides/doctor.md")]
    struct Doctor;
    #[doc = include_str!("../../../docs/guides/environments.md")]
    struct Environments;
    #[cfg(feature = "redis")]
    #[doc = include_str!("../../../docs/guides/fleets.md")]
    struct Fleets;
    #[doc = include_str!("../../../docs/guides/quickstart.md")]
    struct Quickstart;
    #[doc = include_str!("../../../docs/guides/sign-a-request.md")]
    struct SignARequest;
    #[doc = include_str!("../../../docs/guides/store-and-rotate-credentials.md")]
    struct StoreAndRotateCredentials;
    #[doc = include_str!("../../../docs/guides/tokens.md")]
    struct Tokens;
    #[doc = include_str!("../../../docs/guides/totp.md")]
    struct Totp;
    #[doc = include_str!("../../../docs/guides/verify-requests.md")]
    struct VerifyRequests;
    #[doc = include_str!("../../../docs/guides/websocket-session.md")]
    struct WebsocketSession;
}
