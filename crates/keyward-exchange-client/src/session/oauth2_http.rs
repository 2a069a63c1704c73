//! The HTTP side of [`OAuth2Login`](super::OAuth2Login): checked endpoints, the cookies of one
//! login, and capped answers.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use url::Url;
use zeroize::Zeroizing;

use super::login_error::LoginError;
use super::oauth2::MAX_ANSWER;
use crate::body_limit::{BodyError, read_capped};
use crate::error::{Error, Result};
use crate::transport::Transport;
use crate::url_policy::is_loopback;

/// The most cookies one login keeps, and the longest cookie kept.
const MAX_COOKIES: usize = 32;
const MAX_COOKIE_LEN: usize = 4096;

/// Checks `text` against the crate's URL policy: `https://`, or `http://` to a loopback
/// address; no user info, no fragment. `what` names it in the error.
pub(super) fn check_url(text: &str, what: &str) -> Result<Url> {
    let url =
        Url::parse(text).map_err(|e| Error::config(format!("the {what} is not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(format!(
            "the {what} must not carry credentials"
        )));
    }
    if url.fragment().is_some() {
        return Err(Error::config(format!(
            "the {what} must not have a fragment"
        )));
    }
    let host = url
        .host()
        .ok_or_else(|| Error::config(format!("the {what} has no host")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&host) => Ok(url),
        _ => Err(Error::config(format!(
            "the {what} must be https://, or http:// to a loopback address, not {}://{host}",
            url.scheme()
        ))),
    }
}

/// One endpoint of the flow and the HTTP client for it (no redirects followed, no proxy
/// from the environment: [`Transport::http_client`]).
pub(super) struct Endpoint {
    url: Url,
    http: reqwest::Client,
}

impl Endpoint {
    pub(super) fn new(url: Url, transport: &Transport, timeout: Duration) -> Result<Self> {
        let http = transport.http_client(&url, timeout)?;
        Ok(Self { url, http })
    }

    pub(super) fn url(&self) -> &Url {
        &self.url
    }

    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

/// The cookies servers set during one login, per host; sent back only to the host that set
/// them. Values are session secrets: wiped on drop, never shown.
#[derive(Default)]
pub(super) struct Cookies(BTreeMap<String, BTreeMap<String, Zeroizing<String>>>);

impl Cookies {
    /// Keeps the `name=value` of each `Set-Cookie` of an answer from `url`.
    pub(super) fn take(&mut self, url: &Url, headers: &HeaderMap) {
        let Some(host) = url.host_str() else { return };
        let jar = self.0.entry(host.to_owned()).or_default();
        for header in headers.get_all(reqwest::header::SET_COOKIE) {
            let Ok(text) = header.to_str() else { continue };
            let pair = text.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let name = name.trim();
            if name.is_empty() || pair.len() > MAX_COOKIE_LEN {
                continue;
            }
            if jar.len() >= MAX_COOKIES && !jar.contains_key(name) {
                continue;
            }
            jar.insert(name.to_owned(), Zeroizing::new(value.trim().to_owned()));
        }
    }

    /// The `Cookie` header for a request to `url`, if there are cookies for its host.
    pub(super) fn header(&self, url: &Url) -> Option<HeaderValue> {
        let jar = self.0.get(url.host_str()?)?;
        if jar.is_empty() {
            return None;
        }
        let text = Zeroizing::new(
            jar.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str()))
                .collect::<Vec<_>>()
                .join("; "),
        );
        let mut value = HeaderValue::from_str(&text).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

/// Sends `request`, mapping a failure to [`LoginError::Transport`] without its URL.
pub(super) async fn send(
    request: reqwest::RequestBuilder,
    venue: &'static str,
    step: &'static str,
) -> std::result::Result<reqwest::Response, LoginError> {
    request.send().await.map_err(|e| LoginError::Transport {
        venue,
        step,
        detail: e.without_url().to_string(),
    })
}

/// Reads at most [`MAX_ANSWER`] bytes of `response`'s body, wiped on drop.
pub(super) async fn body(
    response: reqwest::Response,
    venue: &'static str,
    step: &'static str,
) -> std::result::Result<Zeroizing<Vec<u8>>, LoginError> {
    match read_capped(response, MAX_ANSWER).await {
        Ok(body) => Ok(Zeroizing::new(body)),
        Err(BodyError::TooLarge { limit }) => Err(LoginError::Protocol {
            venue,
            step,
            detail: format!("the answer is larger than {limit} bytes"),
        }),
        Err(BodyError::Transport(e)) => Err(LoginError::Transport {
            venue,
            step,
            detail: e.without_url().to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_policy() {
        assert!(check_url("https://broker.example/login", "login URL").is_ok());
        assert!(check_url("http://127.0.0.1:8080/login", "login URL").is_ok());
        assert!(check_url("http://localhost/cb", "redirect URI").is_ok());
        for bad in [
            "http://broker.example/login",
            "ftp://broker.example/",
            "https://user:pw@broker.example/",
            "https://broker.example/#x",
            "not a url",
        ] {
            let err = check_url(bad, "login URL").unwrap_err();
            assert!(!err.to_string().contains("pw@"), "{err}");
        }
    }

    #[test]
    fn cookies_go_back_only_to_their_host() {
        let mut cookies = Cookies::default();
        let mut headers = HeaderMap::new();
        headers.append(
            reqwest::header::SET_COOKIE,
            HeaderValue::from_static("sid=abc; Path=/; HttpOnly"),
        );
        headers.append(reqwest::header::SET_COOKIE, HeaderValue::from_static("x=1"));
        let here = Url::parse("http://127.0.0.1:1/login").unwrap();
        cookies.take(&here, &headers);
        let header = cookies.header(&here).unwrap();
        assert_eq!(header.to_str().unwrap(), "sid=abc; x=1");
        assert!(header.is_sensitive());
        assert!(
            cookies
                .header(&Url::parse("http://localhost:1/").unwrap())
                .is_none()
        );
    }
}
