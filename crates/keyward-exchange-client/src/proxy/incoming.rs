//! Reading a bot's request: where it comes from (no web page, no rebound host name), the
//! access token, the body within its ceiling, the parameters
//! from the query or the body (form or JSON, by content type), and the client's own signing
//! refused (plain mode) or stripped (re-sign mode) as the venue's relay rules name it.

use axum::body::to_bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use secrecy::ExposeSecret as _;
use serde_json::Value;
use subtle::ConstantTimeEq as _;

use super::refusal::Refusal;
use super::{Mode, ProxyConfig};
use crate::params::Params;
use crate::venue::RelayRules;

/// Refuses a request a web browser made for a page: a page the user visits may send a form
/// `POST` or open a WebSocket to any loopback port (neither needs the proxy's consent), and a
/// host name the page's site rebinds to 127.0.0.1 reaches it too. A browser always names the
/// page's origin in `Origin` on both, and the name it resolved in `Host`; bots send no `Origin`
/// (or, as Python's websocket-client, the proxy's own loopback address) and a loopback `Host`.
/// `check_host` is off on a Unix socket, which no browser reaches and whose clients may send
/// any `Host`.
pub(super) fn check_origin(headers: &HeaderMap, check_host: bool) -> Result<(), Refusal> {
    let loopback = |value: &str, scheme: bool| {
        let rest = if scheme {
            match value.split_once("://") {
                Some(("http" | "https" | "ws" | "wss", rest)) => rest,
                _ => return false,
            }
        } else {
            value
        };
        // The authority's host: `[::1]:port`, `127.0.0.1:port`, `localhost`.
        let host = match rest.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => rest.split(':').next().unwrap_or_default(),
        };
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    };
    let refuse = |what: &str| {
        Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "cross_origin",
            format!(
                "{what}: a web page could otherwise make the proxy sign for it; bots send no Origin and a loopback Host"
            ),
        ))
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        if !origin.to_str().is_ok_and(|o| loopback(o, true)) {
            return refuse("the request comes from a web page (its Origin is not this machine)");
        }
    }
    if check_host {
        if let Some(host) = headers.get(header::HOST) {
            if !host.to_str().is_ok_and(|h| loopback(h, false)) {
                return refuse("the Host is not a loopback address (a rebound host name)");
            }
        }
    }
    Ok(())
}

/// The `Proxy-Authorization: Bearer <token>` check, when the proxy has a token.
pub(super) fn check_access(config: &ProxyConfig, headers: &HeaderMap) -> Result<(), Refusal> {
    let Some(expected) = &config.access_token else {
        return Ok(());
    };
    let given = headers
        .get(header::PROXY_AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .unwrap_or_default();
    let expected = expected.expose_secret().as_bytes();
    // Lengths may differ; ct_eq of slices of different lengths is false, without a branch on
    // the contents.
    if bool::from(given.ct_eq(expected)) && !expected.is_empty() {
        Ok(())
    } else {
        Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this proxy needs Proxy-Authorization: Bearer <token>",
        ))
    }
}

/// The request's method, path and parameters, ready for [`crate::RestClient::relay`].
pub(super) async fn read(
    request: Request,
    rules: &RelayRules,
    mode: Mode,
    max_body: usize,
) -> Result<(String, String, Params), Refusal> {
    let (parts, body) = request.into_parts();
    if let Some(name) = parts
        .headers
        .keys()
        .find(|name| rules.is_credential_header(name.as_str()))
    {
        if mode == Mode::Plain {
            return Err(carries(name.as_str()));
        }
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let body = to_bytes(body, max_body).await.map_err(|_| {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is over the proxy's {max_body}-byte ceiling"),
        )
    })?;
    let query = parts.uri.query().unwrap_or_default();
    if !query.is_empty() && !body.is_empty() {
        return Err(Refusal::bad_request(
            "give the parameters in the query or in the body, not both",
        ));
    }
    let params = if !body.is_empty() {
        if content_type.starts_with("application/json") {
            let value: Value = serde_json::from_slice(&body)
                .map_err(|e| Refusal::bad_request(format!("the JSON body cannot be read: {e}")))?;
            Params::Json(json_params(value, rules, mode)?)
        } else if content_type.starts_with("application/x-www-form-urlencoded")
            || content_type.is_empty()
        {
            Params::Form(pairs(&body, rules, mode)?)
        } else {
            return Err(Refusal::bad_request(
                "the body must be application/x-www-form-urlencoded or application/json",
            ));
        }
    } else if !query.is_empty() {
        Params::Query(pairs(query.as_bytes(), rules, mode)?)
    } else {
        Params::None
    };
    Ok((
        parts.method.as_str().to_owned(),
        parts.uri.path().to_owned(),
        params,
    ))
}

/// Form or query pairs, with the client's signing refused or stripped and the generated
/// parameters dropped.
fn pairs(text: &[u8], rules: &RelayRules, mode: Mode) -> Result<Vec<(String, String)>, Refusal> {
    let mut out = Vec::new();
    for (name, value) in url::form_urlencoded::parse(text) {
        if rules.is_credential_param(&name) {
            if mode == Mode::Plain {
                return Err(carries(&name));
            }
            continue;
        }
        if rules.is_generated_param(&name) {
            continue;
        }
        out.push((name.into_owned(), value.into_owned()));
    }
    Ok(out)
}

/// A JSON body's top-level fields, treated as [`pairs`] treats a form.
fn json_params(mut value: Value, rules: &RelayRules, mode: Mode) -> Result<Value, Refusal> {
    if let Value::Object(map) = &mut value {
        if mode == Mode::Plain {
            if let Some(name) = map.keys().find(|k| rules.is_credential_param(k)) {
                return Err(carries(name));
            }
        }
        map.retain(|k, _| !rules.is_credential_param(k) && !rules.is_generated_param(k));
    }
    Ok(value)
}

fn carries(name: &str) -> Refusal {
    Refusal::new(
        StatusCode::BAD_REQUEST,
        "carries_credentials",
        format!(
            "the request carries {name}, a client's own signing; send it unsigned, or start the proxy with --resign to sign it again"
        ),
    )
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn bots_pass_and_web_pages_and_rebound_names_are_refused() {
        for ok in [
            headers(&[(header::HOST, "127.0.0.1:8801")]),
            headers(&[(header::HOST, "localhost:8801")]),
            headers(&[(header::HOST, "[::1]:8801")]),
            headers(&[
                (header::HOST, "127.0.0.1:8801"),
                (header::ORIGIN, "http://127.0.0.1:8801"),
            ]),
            HeaderMap::new(),
        ] {
            assert!(check_origin(&ok, true).is_ok(), "{ok:?}");
        }
        for bad in [
            headers(&[
                (header::HOST, "127.0.0.1:8801"),
                (header::ORIGIN, "https://evil.example"),
            ]),
            headers(&[(header::HOST, "127.0.0.1:8801"), (header::ORIGIN, "null")]),
            headers(&[
                (header::HOST, "127.0.0.1:8801"),
                (header::ORIGIN, "http://127.0.0.1.evil.example"),
            ]),
            headers(&[(header::HOST, "evil.example:8801")]),
            headers(&[(header::HOST, "127.0.0.1.evil.example")]),
        ] {
            let refused = check_origin(&bad, true).unwrap_err();
            assert_eq!(
                (refused.status, refused.kind),
                (StatusCode::FORBIDDEN, "cross_origin")
            );
        }
        // A Unix socket: any Host, but still no web page.
        assert!(check_origin(&headers(&[(header::HOST, "%2Ftmp%2Fp.sock")]), false).is_ok());
        assert!(
            check_origin(&headers(&[(header::ORIGIN, "https://evil.example")]), false).is_err()
        );
    }
}
