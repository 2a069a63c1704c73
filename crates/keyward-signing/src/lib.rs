#![doc = include_str!("../README.md")]
// On docs.rs (`--cfg docsrs`, a nightly rustdoc): each feature-gated item says which feature it
// needs. `doc_cfg` includes what `doc_auto_cfg` did before Rust 1.92.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "axum")]
pub mod axum;
mod clock;
mod credentials;
mod descriptor;
mod error;
mod jwt;
mod key;
mod mac;
mod nonce;
mod options;
mod params;
mod presets;
#[cfg(feature = "redis")]
pub mod redis;
mod request;
mod scheme;
pub mod schemes;
mod server_clock;
mod signature;
mod signer;
#[cfg(test)]
mod test_support;
mod timestamp;
mod timestamp_method_path;
pub mod verify;

/// Asymmetric API keys (Ed25519, ECDSA P-256 and, with the `rsa` feature, RSA): the forms a
/// secret text is read in (listed in the crate documentation's "Asymmetric keys"), key
/// generation and inspection.
pub mod keys {
    pub use crate::key::{GeneratedKey, KeyError, KeyInfo, KeyKind, generate, inspect, public_pem};
}

/// Entry points for the cargo-fuzz targets (`fuzz/`) to parsers that are private: thin
/// wrappers, no logic. Feature `fuzzing`; not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use crate::schemes::keyward_v1::SignatureParams;

    /// One entry of a keyward-v1 `Signature-Input` header as the verifier reads it.
    #[derive(Debug)]
    pub struct SignatureInput {
        /// The entry's label (`sig1`, ...).
        pub label: String,
        /// Its parameters (covered headers after the derived components, times, nonce, key id).
        pub params: SignatureParams,
        /// Its `alg` parameter.
        pub alg: String,
        /// Whether it covers `@method`, `@path`, `@query` and `content-digest` first.
        pub derived_ok: bool,
    }

    /// The keyward-v1 `Signature-Input` parser; `None` when the header is not keyward-v1.
    pub fn parse_signature_input(text: &str) -> Option<Vec<SignatureInput>> {
        crate::schemes::keyward_v1::parse_inputs(text).map(|entries| {
            entries
                .into_iter()
                .map(|e| SignatureInput {
                    label: e.label,
                    params: e.params,
                    alg: e.alg,
                    derived_ok: e.derived_ok,
                })
                .collect()
        })
    }

    /// The signature for `label` in a keyward-v1 `Signature` header.
    pub fn signature_for<'a>(header: &'a str, label: &str) -> Option<&'a str> {
        crate::schemes::keyward_v1::signature_for(header, label)
    }
}

pub use clock::{Clock, FixedClock, SystemClock};
pub use credentials::Credentials;
pub use error::{Error, Result};
#[cfg(unix)]
pub use nonce::FileNonce;
pub use nonce::{MonotonicNonce, NonceSource, NonceUnit};
pub use options::SignOptions;
pub use params::{QueryEncoding, build_query};
pub use request::Request;
pub use scheme::{Scheme, UnknownScheme};
pub use server_clock::ServerClock;
pub use signer::Signer;

/// Re-exported so callers name the same `secrecy` types this crate takes.
pub use secrecy;
