//! Reading TOTP seeds: base32 text (spaces, dashes, lower case and missing `=` padding
//! accepted), `otpauth://totp/` URIs, and secrets of a [`SecretStore`].
//!
//! The base32 alphabet is checked here, so that an error can say where the seed is wrong
//! without echoing it; the decoding itself is totp-rs's (its `Secret`, which zeroizes on drop).
//! URIs are read with `url` rather than totp-rs's `otpauth` feature, whose parse errors carry
//! the URI's secret.

use keyward_secrets_backends::{SecretStore, SecretValue, Selector};
use secrecy::ExposeSecret as _;
use url::Url;
use zeroize::Zeroizing;

use super::totp::TotpAlgorithm;
use super::totp_error::TotpError;

/// The field of a secret of named fields that holds the TOTP seed (a base32 seed or an
/// `otpauth://` URI), so that a broker's login fields and its seed can live in one secret.
pub const TOTP_SECRET_FIELD: &str = "totp_secret";

/// A seed's bytes and the parameters that came with it (an `otpauth://` URI's) or the
/// defaults (SHA-1, 6 digits, 30 s).
pub(super) struct SeedParams {
    pub(super) seed: Zeroizing<Vec<u8>>,
    pub(super) algorithm: TotpAlgorithm,
    pub(super) digits: u32,
    pub(super) period: u64,
}

/// Reads `text`: an `otpauth://` URI, or else a base32 seed with the default parameters.
pub(super) fn parse(text: &str) -> Result<SeedParams, TotpError> {
    let text = text.trim();
    let is_uri = text
        .get(..10)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("otpauth://"));
    if is_uri {
        return parse_uri(text);
    }
    Ok(SeedParams {
        seed: decode_base32(text)?,
        algorithm: TotpAlgorithm::Sha1,
        digits: 6,
        period: 30,
    })
}

/// Decodes a base32 seed as authenticator apps show it: in groups, in either case, with or
/// without padding.
pub(super) fn decode_base32(text: &str) -> Result<Zeroizing<Vec<u8>>, TotpError> {
    let mut clean = Zeroizing::new(String::with_capacity(text.len()));
    clean.extend(
        text.chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase()),
    );
    let unpadded = clean.trim_end_matches('=');
    if unpadded.is_empty() {
        return Err(TotpError::EmptySeed);
    }
    if let Some(at) = unpadded
        .chars()
        .position(|c| !matches!(c, 'A'..='Z' | '2'..='7'))
    {
        return Err(TotpError::NotBase32 { position: at + 1 });
    }
    let chars = unpadded.len();
    // 8 base32 characters carry 5 bytes; a final group of 1, 3 or 6 characters ends mid-byte.
    if matches!(chars % 8, 1 | 3 | 6) {
        return Err(TotpError::Base32Length { chars });
    }
    let secret = totp_rs::Secret::Encoded(unpadded.to_owned());
    secret
        .to_bytes()
        .map(Zeroizing::new)
        .map_err(|_| TotpError::Base32Length { chars })
}

fn uri_error(reason: &'static str) -> TotpError {
    TotpError::Uri { reason }
}

/// Reads an `otpauth://totp/LABEL?secret=...&algorithm=...&digits=...&period=...` URI (Google
/// Authenticator's key URI format); absent parameters take their defaults.
fn parse_uri(text: &str) -> Result<SeedParams, TotpError> {
    let url = Url::parse(text).map_err(|_| uri_error("it is not a URI"))?;
    match url.host_str() {
        Some(kind) if kind.eq_ignore_ascii_case("totp") => {}
        Some(kind) if kind.eq_ignore_ascii_case("hotp") => {
            return Err(uri_error("it is an HOTP (counter) URI, not TOTP"));
        }
        _ => return Err(uri_error("its type is not totp")),
    }
    let mut seed = None;
    let mut params = SeedParams {
        seed: Zeroizing::default(),
        algorithm: TotpAlgorithm::Sha1,
        digits: 6,
        period: 30,
    };
    for (key, value) in url.query_pairs() {
        let value = Zeroizing::new(value.into_owned());
        match key.to_ascii_lowercase().as_str() {
            "secret" => seed = Some(decode_base32(&value)?),
            "algorithm" => params.algorithm = value.parse()?,
            "digits" => {
                params.digits = value
                    .parse()
                    .map_err(|_| uri_error("digits is not a number"))?;
            }
            "period" => {
                params.period = value
                    .parse()
                    .map_err(|_| uri_error("period is not a number"))?;
            }
            _ => {}
        }
    }
    // The URI's text holds the seed: wipe it.
    drop(Zeroizing::new(String::from(url)));
    params.seed = seed.ok_or_else(|| uri_error("it has no secret parameter"))?;
    Ok(params)
}

/// Reads the seed of the secret `name`: its whole value, or its [`TOTP_SECRET_FIELD`] field.
pub(super) async fn from_store(
    store: &dyn SecretStore,
    name: &str,
) -> Result<SeedParams, TotpError> {
    let secret = store
        .get(name, &Selector::Current)
        .await
        .map_err(|source| TotpError::Store {
            name: name.to_owned(),
            source,
        })?;
    match &secret.value {
        SecretValue::Fields(fields) => match fields.get(TOTP_SECRET_FIELD) {
            Some(seed) => parse(seed.expose_secret()),
            None => Err(TotpError::MissingField {
                name: name.to_owned(),
            }),
        },
        SecretValue::Bytes(bytes) => match std::str::from_utf8(bytes.expose_secret()) {
            Ok(text) => parse(text),
            Err(_) => Err(TotpError::NotText {
                name: name.to_owned(),
            }),
        },
    }
}
