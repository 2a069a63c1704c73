//! Kraken: its private WebSocket channels take a token obtained from REST, sent in each
//! subscribe. Where the token comes from and how its errors read are Kraken's descriptor's
//! (`venue/kraken.rs`, [`WsToken`]); this file makes the request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use keyward_signing::{Request, SignOptions, Signer};
use secrecy::SecretString;
use serde_json::Value;
use url::Url;

use super::config::{is_loopback, redact_url};
use super::error::{AuthFailure, WsError};
use crate::transport::Transport;
use crate::venue::{Venue, WsToken, lookup};

/// A future that yields a Kraken WebSocket token.
pub type TokenFuture = Pin<Box<dyn Future<Output = Result<SecretString, WsError>> + Send>>;

/// Where a Kraken WebSocket token comes from: called before each (re)connection, since a token
/// is good for one connection's subscriptions.
pub type TokenProvider = Arc<dyn Fn() -> TokenFuture + Send + Sync>;

/// The token request's timeout when none is given ([`kraken_rest_token`]).
const DEFAULT_TOKEN_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`TokenProvider`] that signs `POST /0/private/GetWebSocketsToken` with `signer` and sends
/// it to `rest_origin` (`https://`, or `http://` to a loopback address only), with the default
/// [`Transport`] and a 10 s timeout; see [`kraken_rest_token_with`].
pub fn kraken_rest_token(rest_origin: &str, signer: Arc<Signer>) -> Result<TokenProvider, WsError> {
    kraken_rest_token_with(
        rest_origin,
        signer,
        &Transport::default(),
        DEFAULT_TOKEN_TIMEOUT,
    )
}

/// As [`kraken_rest_token`], with `transport`'s roots and User-Agent, and `timeout` for the whole
/// request. The request never follows a redirect (its signed headers go to `rest_origin` only),
/// never uses a proxy, and fails with [`WsError::TokenTimeout`] when no answer arrives in time.
pub fn kraken_rest_token_with(
    rest_origin: &str,
    signer: Arc<Signer>,
    transport: &Transport,
    timeout: Duration,
) -> Result<TokenProvider, WsError> {
    let origin = Url::parse(rest_origin).map_err(|_| WsError::InvalidUrl {
        url: rest_origin.split('?').next().unwrap_or_default().to_owned(),
        reason: "it is not a valid URL",
    })?;
    check_rest_origin(&origin)?;
    let venue = signer.scheme();
    let token = Venue::new(venue)
        .ws_token()
        .ok_or(WsError::Unsupported { venue, key: None })?;
    // The REST client's own construction: keyward's TLS configuration, no redirects, no proxy
    // (a token request is not venue traffic that a proxy option covers), the User-Agent.
    let client = transport
        .clone()
        .without_proxy()
        .http_client(&origin, timeout)
        .map_err(|e| WsError::Token {
            reason: e.to_string(),
        })?;
    let endpoint = origin.join(token.path).map_err(|_| WsError::InvalidUrl {
        url: redact_url(&origin),
        reason: "the token path cannot be joined to it",
    })?;
    Ok(Arc::new(move || {
        let (client, signer, endpoint) = (client.clone(), signer.clone(), endpoint.clone());
        Box::pin(async move { fetch(&client, &signer, token, endpoint, timeout).await })
    }))
}

/// The REST origin matching a WebSocket URL: `ws` → `http`, `wss` → `https`, same host and port.
pub(crate) fn rest_origin_of(ws: &Url) -> String {
    let scheme = if ws.scheme() == "ws" { "http" } else { "https" };
    let host = ws.host_str().unwrap_or_default();
    match ws.port() {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    }
}

fn check_rest_origin(origin: &Url) -> Result<(), WsError> {
    match origin.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(origin) => Ok(()),
        _ => Err(WsError::InvalidUrl {
            url: redact_url(origin),
            reason: "the token endpoint must be https:// (or http:// to a loopback address)",
        }),
    }
}

async fn fetch(
    client: &reqwest::Client,
    signer: &Signer,
    token: WsToken,
    endpoint: Url,
    timeout: Duration,
) -> Result<SecretString, WsError> {
    let signed = signer
        .sign(Request::post(token.path), &SignOptions::default())
        .map_err(|source| WsError::Signing {
            venue: signer.scheme(),
            source,
        })?;
    let mut request = client
        .post(endpoint)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(signed.body);
    for (name, value) in signed.headers {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(|e| send_error(e, timeout))?;
    let status = response.status();
    if status.is_redirection() {
        return Err(WsError::Token {
            reason: format!("HTTP {status}: the token request does not follow redirects"),
        });
    }
    let body: Value = response.json().await.map_err(|e| {
        if e.is_timeout() {
            WsError::TokenTimeout { timeout }
        } else {
            WsError::Token {
                reason: format!("HTTP {status} with a body that is not JSON"),
            }
        }
    })?;
    if let Some((text, refused)) = (token.error)(&body) {
        return Err(token_error(signer.scheme(), &text, refused));
    }
    lookup(&body, token.field)
        .and_then(Value::as_str)
        .map(|t| SecretString::from(t.to_owned()))
        .ok_or_else(|| WsError::Token {
            reason: format!("HTTP {status} without {}", token.field),
        })
}

/// A failed send: a timeout, or what reqwest says without the URL, with its causes (a refused
/// certificate is named there).
fn send_error(e: reqwest::Error, timeout: Duration) -> WsError {
    if e.is_timeout() {
        return WsError::TokenTimeout { timeout };
    }
    let e = e.without_url();
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        source = s.source();
    }
    WsError::Token { reason }
}

/// The venue's error for the token request: a refusal of the key (final) or anything else,
/// such as a rate limit or a nonce out of order (worth another attempt).
fn token_error(venue: keyward_signing::Scheme, text: &str, refused: bool) -> WsError {
    if refused {
        let code = text.split(':').next().map(str::to_owned);
        AuthFailure::new(venue, code, text).into()
    } else {
        WsError::Token {
            reason: text.chars().take(200).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_origin_follows_the_ws_url() {
        let ws = Url::parse("ws://127.0.0.1:4100/ws?x=1").unwrap();
        assert_eq!(rest_origin_of(&ws), "http://127.0.0.1:4100");
        let wss = Url::parse("wss://ws-auth.kraken.com/v2").unwrap();
        assert_eq!(rest_origin_of(&wss), "https://ws-auth.kraken.com");
    }

    /// The error of a token answer `{"error":[text]}`, read by Kraken's descriptor.
    fn token_error_of(text: &str) -> WsError {
        let venue = keyward_signing::Scheme::Kraken;
        let token = Venue::new(venue).ws_token().unwrap();
        let (text, refused) = (token.error)(&serde_json::json!({"error": [text]})).unwrap();
        token_error(venue, &text, refused)
    }

    #[test]
    fn only_a_rejected_key_is_final() {
        for text in [
            "EAPI:Invalid key",
            "EAPI:Invalid signature",
            "EGeneral:Permission denied",
        ] {
            assert!(token_error_of(text).auth_failure().is_some(), "{text}");
        }
        for text in [
            "EAPI:Rate limit exceeded",
            "EAPI:Invalid nonce",
            "EService:Unavailable",
        ] {
            assert!(
                matches!(token_error_of(text), WsError::Token { .. }),
                "{text}"
            );
        }
    }

    #[test]
    fn plain_http_only_to_loopback() {
        let creds = keyward_signing::Credentials::new("k", "c2VjcmV0".into());
        let signer = Arc::new(Signer::new(keyward_signing::Scheme::Kraken, &creds).unwrap());
        assert!(kraken_rest_token("http://127.0.0.1:1", signer.clone()).is_ok());
        assert!(kraken_rest_token("http://api.kraken.com", signer).is_err());
    }
}
