//! The HTTP side of [`OAuth2Login`](super::OAuth2Login): checked endpoints. Cookies, capped
//! answers and transport errors are the login's shared ones (`login_http.rs`).

use std::time::Duration;

use url::Url;

use crate::error::{Error, Result};
use crate::transport::Transport;
use crate::url_policy::is_loopback;

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
}
