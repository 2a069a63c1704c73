//! [`JwtClaims`]: the header and claims of a JWT, decoded WITHOUT verifying its signature.
//!
//! A broker's access token is often a JWT whose `exp` claim says when it dies. keyward reads it
//! only to schedule a refresh (and `keyward token inspect` to show it): nothing here checks the
//! signature, so nothing read here may be trusted for an authorisation decision. The signature
//! segment is never decoded, kept or shown.
//!
//! Hand-written rather than with `jsonwebtoken`: that crate decodes without verification only
//! through its validation machinery (and pulls its own crypto backends), while this is two
//! base64url segments and two JSON objects, with a size ceiling of our own.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::expiry_error::ExpiryError;

/// The longest token text decoded: 16 KiB. Broker JWTs are well under 2 KiB; anything larger is
/// refused before it is decoded.
pub const MAX_JWT_LEN: usize = 16 * 1024;

/// The header and claims of a JWT, read without verifying the signature.
///
/// `Debug` shows the header and the claim names only: claim values can identify a user.
#[derive(Clone, PartialEq)]
pub struct JwtClaims {
    header: Map<String, Value>,
    claims: Map<String, Value>,
}

impl JwtClaims {
    /// Decodes `token` (`header.claims.signature`, base64url without padding, as RFC 7515's
    /// compact form), without verifying the signature. A text longer than [`MAX_JWT_LEN`], with
    /// other than three segments, or whose first two segments are not base64url JSON objects,
    /// is an [`ExpiryError::NotJwt`] that names what is wrong and never the text.
    pub fn decode_unverified(token: &str) -> Result<Self, ExpiryError> {
        let token = token.trim();
        if token.len() > MAX_JWT_LEN {
            return Err(ExpiryError::NotJwt(format!(
                "the token is longer than {MAX_JWT_LEN} bytes"
            )));
        }
        let mut segments = token.split('.');
        let (Some(header), Some(claims), Some(_signature), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(ExpiryError::NotJwt(
                "a JWT has three segments separated by dots".into(),
            ));
        };
        Ok(Self {
            header: object(header, "header")?,
            claims: object(claims, "claims")?,
        })
    }

    /// The JOSE header (`alg`, `typ`, `kid`, ...).
    pub fn header(&self) -> &Map<String, Value> {
        &self.header
    }

    /// The claims.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The `exp` claim as a time: a JSON number of seconds since the Unix epoch (RFC 7519
    /// 4.1.4; a fraction is allowed). `None` when absent; an error when it is not a
    /// non-negative number a `SystemTime` can hold.
    pub fn expires_at(&self) -> Result<Option<SystemTime>, ExpiryError> {
        numeric_date(&self.claims, "exp")
    }

    /// The `iat` claim as a time, when present (same rules as [`expires_at`](Self::expires_at)).
    pub fn issued_at(&self) -> Result<Option<SystemTime>, ExpiryError> {
        numeric_date(&self.claims, "iat")
    }
}

impl std::fmt::Debug for JwtClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtClaims")
            .field("header", &self.header)
            .field("claims", &self.claims.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// One base64url segment holding a JSON object.
fn object(segment: &str, which: &'static str) -> Result<Map<String, Value>, ExpiryError> {
    // Some issuers pad their segments; RFC 7515 says they must not, but the data is the same.
    let bytes = URL_SAFE_NO_PAD
        .decode(segment.trim_end_matches('='))
        .map_err(|_| ExpiryError::NotJwt(format!("the {which} segment is not base64url")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ExpiryError::NotJwt(format!(
            "the {which} segment is not a JSON object"
        ))),
        Err(_) => Err(ExpiryError::NotJwt(format!(
            "the {which} segment is not JSON"
        ))),
    }
}

/// A NumericDate claim (RFC 7519 section 2) as a time.
fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<SystemTime>, ExpiryError> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let seconds = value
        .as_f64()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .ok_or(ExpiryError::BadClaim { claim: name })?;
    let since_epoch =
        Duration::try_from_secs_f64(seconds).map_err(|_| ExpiryError::BadClaim { claim: name })?;
    UNIX_EPOCH
        .checked_add(since_epoch)
        .map(Some)
        .ok_or(ExpiryError::BadClaim { claim: name })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(header: &str, claims: &str) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn reads_exp_and_iat() {
        let claims =
            JwtClaims::decode_unverified(&jwt(r#"{"alg":"HS256"}"#, r#"{"exp":10,"iat":5}"#))
                .unwrap();
        assert_eq!(
            claims.expires_at().unwrap(),
            Some(UNIX_EPOCH + Duration::from_secs(10))
        );
        assert_eq!(
            claims.issued_at().unwrap(),
            Some(UNIX_EPOCH + Duration::from_secs(5))
        );
        assert_eq!(claims.header()["alg"], "HS256");
    }

    #[test]
    fn refuses_what_is_not_a_jwt() {
        for text in [
            "",
            "opaque-token",
            "a.b",
            "a.b.c.d",
            "!!.e30.x",
            &jwt("[1]", "{}"),
            &jwt("{}", "not json"),
        ] {
            assert!(
                matches!(
                    JwtClaims::decode_unverified(text),
                    Err(ExpiryError::NotJwt(_))
                ),
                "{text}"
            );
        }
        let long = "a".repeat(MAX_JWT_LEN + 1);
        assert!(JwtClaims::decode_unverified(&long).is_err());
    }

    #[test]
    fn a_bad_exp_is_a_typed_error() {
        for exp in [r#""soon""#, "-1", "1e300", "null"] {
            let claims =
                JwtClaims::decode_unverified(&jwt("{}", &format!(r#"{{"exp":{exp}}}"#))).unwrap();
            assert!(
                matches!(
                    claims.expires_at(),
                    Err(ExpiryError::BadClaim { claim: "exp" })
                ),
                "{exp}"
            );
        }
    }

    #[test]
    fn debug_shows_claim_names_only() {
        let claims =
            JwtClaims::decode_unverified(&jwt("{}", r#"{"sub":"CANARY-user","exp":1}"#)).unwrap();
        let shown = format!("{claims:?}");
        assert!(!shown.contains("CANARY"), "{shown}");
        assert!(shown.contains("sub"), "{shown}");
    }
}
