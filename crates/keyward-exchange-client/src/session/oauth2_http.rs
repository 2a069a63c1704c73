//! The HTTP side of [`OAuth2Login`](super::OAuth2Login): its endpoints, each URL checked by
//! `url_policy::check_endpoint_url`. Cookies, capped answers and transport errors are every
//! broker login's (`login_http.rs`).

use std::time::Duration;

use url::Url;

use crate::error::Result;
use crate::transport::Transport;

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
