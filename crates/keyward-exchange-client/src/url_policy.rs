//! The base-URL policy: `https://` anywhere, `http://` only to a loopback address. There is no
//! switch to turn TLS verification off or to allow plain HTTP elsewhere.

use std::net::IpAddr;

use url::{Host, Url};

use crate::error::{Error, Result};

/// A checked base URL: scheme and authority, and a path prefix without a trailing slash
/// (`/svc/keyward-v1` for the service schemes, empty for venues).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BaseUrl {
    /// `https://host:port` or `http://127.0.0.1:port`.
    pub(crate) origin: String,
    /// The path prefix every request path is appended to.
    pub(crate) prefix: String,
    /// The origin, parsed once: each request's URL is this with its path and query set, so
    /// the scheme and host (IDNA processing included) are not parsed again per request.
    parsed: Url,
}

impl BaseUrl {
    /// The URL of a request: the origin with `path` (which starts with `/`) and `query` (empty
    /// for none). The same URL as parsing `origin + path + "?" + query` gives.
    pub(crate) fn request_url(&self, path: &str, query: &str) -> Url {
        let mut url = self.parsed.clone();
        url.set_path(path);
        url.set_query((!query.is_empty()).then_some(query));
        url
    }

    /// The origin, parsed.
    pub(crate) fn origin_url(&self) -> &Url {
        &self.parsed
    }
}

/// Checks `base` against the policy.
pub(crate) fn check_base_url(base: &str) -> Result<BaseUrl> {
    let url = Url::parse(base).map_err(|e| {
        Error::config(format!(
            "base URL {:?} is not a URL: {e}",
            redact_unparsed(base)
        ))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(
            "the base URL must not carry credentials; give them through a secret store",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(format!(
            "base URL {} must not have a query or fragment",
            redact(&url)
        )));
    }
    let host = url
        .host()
        .ok_or_else(|| Error::config(format!("base URL {} has no host", redact(&url))))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => {
            return Err(Error::config(format!(
                "plain http:// is only allowed to a loopback address (127.0.0.0/8, ::1, localhost), not {host}; use https://"
            )));
        }
        other => {
            return Err(Error::config(format!(
                "base URL scheme {other:?} is not supported; use https://"
            )));
        }
    }
    let origin = url.origin().ascii_serialization();
    let prefix = url.path().trim_end_matches('/').to_owned();
    let parsed = Url::parse(&origin).map_err(|e| {
        Error::config(format!(
            "base URL {} has no usable origin: {e}",
            redact(&url)
        ))
    })?;
    Ok(BaseUrl {
        origin,
        prefix,
        parsed,
    })
}

/// Checks an endpoint's URL (a login form, an authorization or token endpoint, a redirect URI)
/// against the same policy as base URLs, except that it may carry a query; `what` names it in
/// the error. Returns the whole URL, query included.
pub(crate) fn check_endpoint_url(text: &str, what: &str) -> Result<Url> {
    let url =
        Url::parse(text).map_err(|e| Error::config(format!("the {what} is not a URL: {e}")))?;
    let mut without_query = url.clone();
    without_query.set_query(None);
    check_base_url(without_query.as_str()).map_err(|e| match e {
        Error::Config { reason, .. } => Error::config(format!("the {what}: {reason}")),
        other => other,
    })?;
    Ok(url)
}

/// A URL as errors, logs and `Debug` show it, parsed or not: `scheme://host/path` with the user
/// info, the query and the fragment cut off by hand (a URL that did not parse has no parsed
/// form to take them from).
pub fn redact_unparsed(text: &str) -> String {
    let text = text.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, text),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host = authority.rsplit('@').next().unwrap_or_default();
    match scheme {
        Some(scheme) => format!("{scheme}://{host}{path}"),
        None => format!("{host}{path}"),
    }
}

fn redact(url: &Url) -> String {
    format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""))
}

pub(crate) fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls_follow_the_policy_and_keep_their_query() {
        assert!(check_endpoint_url("https://broker.example/login", "login URL").is_ok());
        assert!(check_endpoint_url("http://127.0.0.1:8080/login", "login URL").is_ok());
        assert!(check_endpoint_url("http://localhost/cb", "redirect URI").is_ok());
        let with_query = check_endpoint_url("https://broker.example/cb?app=1", "redirect URI");
        assert_eq!(with_query.unwrap().query(), Some("app=1"));
        for bad in [
            "http://broker.example/login",
            "ftp://broker.example/",
            "https://user:pw@broker.example/",
            "https://broker.example/#x",
            "not a url",
        ] {
            let err = check_endpoint_url(bad, "login URL").unwrap_err();
            assert!(err.to_string().contains("login URL"), "{err}");
            assert!(!err.to_string().contains("pw@"), "{err}");
        }
    }

    /// Finding 19: a base URL that does not parse is named without its user info, query or
    /// fragment.
    #[test]
    fn an_unparsable_base_url_is_echoed_redacted() {
        for bad in [
            "https://user:CANARY-pw@exa mple.com/api?key=CANARY-q",
            "https://CANARY-user@[::1/api#CANARY-f",
            "htt ps://CANARY-x@host/?CANARY-q",
        ] {
            let err = check_base_url(bad).unwrap_err().to_string();
            assert!(!err.contains("CANARY"), "{err}");
            assert!(err.contains("is not a URL"), "{err}");
        }
        assert_eq!(
            redact_unparsed("https://u:p@exa mple.com/api/v1?k=v#f"),
            "https://exa mple.com/api/v1"
        );
    }

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        for ok in [
            "https://api.binance.com",
            "http://127.0.0.1:8080",
            "http://127.3.4.5",
            "http://[::1]:9000/",
            "http://localhost:1",
            "http://LOCALHOST",
        ] {
            assert!(check_base_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.binance.com",
            "http://10.0.0.1",
            "http://192.168.1.1:80",
            "http://[::2]",
            "http://localhost.evil.com",
            "http://128.0.0.1",
            "ftp://127.0.0.1",
            "ws://127.0.0.1",
            "not a url",
            "https://user:pw@host",
            "https://host/?a=1",
        ] {
            let err = check_base_url(bad).unwrap_err();
            assert!(matches!(err, Error::Config { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn prefix_kept_without_trailing_slash() {
        let b = check_base_url("http://127.0.0.1:41010/svc/hmac-concat/").unwrap();
        assert_eq!(b.origin, "http://127.0.0.1:41010");
        assert_eq!(b.prefix, "/svc/hmac-concat");
        let b = check_base_url("https://api.bybit.com").unwrap();
        assert_eq!(b.prefix, "");
    }

    #[test]
    fn request_urls_equal_parsing_the_whole_url() {
        for base in [
            "http://127.0.0.1:41010",
            "https://api.binance.com/",
            "http://[::1]:9000/svc/x",
            "https://xn--mnchen-3ya.de",
        ] {
            let b = check_base_url(base).unwrap();
            for (path, query) in [
                ("/api/v3/account", ""),
                ("/api/v3/order", "symbol=BTCUSDT&timestamp=1&signature=ab"),
                ("/svc/keyward-v1/a b/ü", "q=1 2&r=%41&s=ü&t=a+b"),
                ("//double/slash", "x"),
                ("/dots/../x/./y", "a=%zz"),
                ("/", "="),
            ] {
                let whole = if query.is_empty() {
                    format!("{}{path}", b.origin)
                } else {
                    format!("{}{path}?{query}", b.origin)
                };
                assert_eq!(
                    b.request_url(path, query).as_str(),
                    Url::parse(&whole).unwrap().as_str(),
                    "{whole}"
                );
            }
        }
    }

    #[test]
    fn the_error_names_the_rule() {
        let err = check_base_url("http://example.com")
            .unwrap_err()
            .to_string();
        assert!(err.contains("loopback"), "{err}");
    }
}
