//! Interactive Brokers' Client Portal (Web API) gateway session: [`IbkrGateway`], the
//! [`SessionVenue`] a [`SessionSupervisor`](super::SessionSupervisor) keeps alive.
//!
//! The facts, from IBKR's Web API documentation (the `Session` endpoints of its OpenAPI
//! specification; sources in `docs/guides/broker-sessions.md`):
//! - The gateway (a Java process the user runs, `https://localhost:5000` by default, with a
//!   self-signed certificate) holds the login a person made at its page. Every endpoint is
//!   under `/v1/api`.
//! - `POST /v1/api/tickle` keeps the session open: "if the gateway has not received any
//!   requests for several minutes an open session will automatically timeout"; IBKR asks for
//!   a call "approximately every 60 seconds" ([`KEEPALIVE_INTERVAL`]); sessions end after
//!   about five to six idle minutes ([`IDLE_TIMEOUT`]). Its answer: `session`, `ssoExpires`
//!   (ms), `collission`, `userId`, `hmds`, `iserver.authStatus`.
//! - `POST /v1/api/iserver/auth/status` answers `authenticated`, `competing`, `connected`,
//!   `message`, `MAC`, `serverInfo`: `authenticated: false` means the brokerage session
//!   dropped (a competing login, a daily reset) while the gateway session lives.
//! - `POST /v1/api/iserver/reauthenticate` re-authenticates the brokerage session "as long as
//!   there is a valid SSO session"; its answer, `{"message": "triggered"}`, only says it was
//!   asked for: the status tells whether it worked.
//! - A gateway session that is over answers 401: only a new login at the gateway's page
//!   opens another (no API call can; IBKR's OAuth is another product).

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::supervisor_venue::{SessionCallError, SessionState, SessionVenue};
use super::token::AccessToken;
use crate::body_limit::{BodyError, read_capped};
use crate::error::Result;
use crate::transport::Transport;
use crate::url_policy::{BaseUrl, check_base_url};

/// The venue's name.
pub const NAME: &str = "ibkr";
/// The gateway's default address.
pub const DEFAULT_GATEWAY: &str = "https://localhost:5000";
/// How often IBKR asks for a `/tickle`: about every minute.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(60);
/// How long an idle gateway session lives, as IBKR's guides give it (five to six minutes;
/// the shorter one here).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// The keepalive path.
pub const TICKLE_PATH: &str = "/v1/api/tickle";
/// The auth-status path.
pub const AUTH_STATUS_PATH: &str = "/v1/api/iserver/auth/status";
/// The re-authentication path.
pub const REAUTHENTICATE_PATH: &str = "/v1/api/iserver/reauthenticate";
/// The largest session answer read (they are a few hundred bytes).
const MAX_ANSWER: usize = 64 * 1024;
/// The time limit of one session call.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// `brokerageSessionStatus`: the fields the supervisor reads.
#[derive(Debug, Deserialize)]
struct AuthStatus {
    authenticated: bool,
    #[serde(default)]
    connected: Option<bool>,
}

/// `/tickle`'s `iserver`.
#[derive(Debug, Deserialize)]
struct Iserver {
    #[serde(rename = "authStatus")]
    auth_status: AuthStatus,
}

/// `/tickle`'s answer: the fields the supervisor reads.
#[derive(Debug, Deserialize)]
struct Tickle {
    iserver: Iserver,
}

/// An IBKR Client Portal gateway's session calls.
#[derive(Debug, Clone)]
pub struct IbkrGateway {
    base: BaseUrl,
    http: reqwest::Client,
}

impl IbkrGateway {
    /// The gateway at `base` (such as [`DEFAULT_GATEWAY`]): `https://`, or `http://` to a
    /// loopback address only. The gateway's own certificate is self-signed: trust it with
    /// [`with_transport`](Self::with_transport) and
    /// [`Transport::add_root_certificate`]; verification cannot be turned off.
    pub fn new(base: &str) -> Result<Self> {
        Self::with_transport(base, &Transport::default())
    }

    /// The gateway at `base`, reached through `transport` (its roots and User-Agent).
    pub fn with_transport(base: &str, transport: &Transport) -> Result<Self> {
        let base = check_base_url(base)?;
        let http = transport.http_client(base.origin_url(), CALL_TIMEOUT)?;
        Ok(Self { base, http })
    }

    /// POSTs to `path` and returns the status and body (at most [`MAX_ANSWER`] bytes).
    async fn post(
        &self,
        call: &'static str,
        path: &str,
    ) -> std::result::Result<(u16, Vec<u8>), SessionCallError> {
        let url = self
            .base
            .request_url(&format!("{}{path}", self.base.prefix), "");
        let transport = |detail: String| SessionCallError::Transport {
            venue: NAME,
            call,
            detail,
        };
        let response = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_LENGTH, "0")
            .send()
            .await
            .map_err(|e| transport(describe(&e)))?;
        let status = response.status().as_u16();
        let body = read_capped(response, MAX_ANSWER)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge { limit } => SessionCallError::Protocol {
                    venue: NAME,
                    call,
                    detail: format!("the answer is larger than {limit} bytes"),
                },
                BodyError::Transport(e) => transport(describe(&e)),
            })?;
        Ok((status, body))
    }

    /// The state an answer of `call` says, reading its auth status with `read`.
    fn state_of(
        call: &'static str,
        status: u16,
        body: &[u8],
        read: impl FnOnce(&[u8]) -> serde_json::Result<AuthStatus>,
    ) -> std::result::Result<SessionState, SessionCallError> {
        match status {
            200 => {
                let auth = read(body).map_err(|e| SessionCallError::Protocol {
                    venue: NAME,
                    call,
                    detail: format!("the answer is not the documented JSON: {e}"),
                })?;
                Ok(if auth.authenticated {
                    SessionState::Active
                } else if auth.connected == Some(false) {
                    // Gateway up, but not connected to IBKR: as good as over.
                    SessionState::Expired
                } else {
                    SessionState::Dropped
                })
            }
            401 => Ok(SessionState::Expired),
            other => Err(SessionCallError::Protocol {
                venue: NAME,
                call,
                detail: format!("HTTP status {other}"),
            }),
        }
    }
}

/// A transport error without its URL (which holds nothing secret here, but the client's
/// rule is that errors carry no URL).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        e.without_url_ref().to_string()
    }
}

/// `reqwest::Error::without_url` on a reference.
trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let text = self.to_string();
        match self.url() {
            Some(url) => text.replace(url.as_str(), "<url>"),
            None => text,
        }
    }
}

#[async_trait]
impl SessionVenue for IbkrGateway {
    fn name(&self) -> &'static str {
        NAME
    }

    fn keepalive_interval(&self) -> Duration {
        KEEPALIVE_INTERVAL
    }

    async fn keepalive(
        &self,
        _token: Option<&AccessToken>,
    ) -> std::result::Result<SessionState, SessionCallError> {
        let (status, body) = self.post("tickle", TICKLE_PATH).await?;
        Self::state_of("tickle", status, &body, |b| {
            serde_json::from_slice::<Tickle>(b).map(|t| t.iserver.auth_status)
        })
    }

    async fn status(
        &self,
        _token: Option<&AccessToken>,
    ) -> std::result::Result<SessionState, SessionCallError> {
        let (status, body) = self.post("auth status", AUTH_STATUS_PATH).await?;
        Self::state_of("auth status", status, &body, |b| serde_json::from_slice(b))
    }

    async fn reauthenticate(
        &self,
        _token: Option<&AccessToken>,
    ) -> std::result::Result<(), SessionCallError> {
        let (status, _) = self.post("reauthenticate", REAUTHENTICATE_PATH).await?;
        match status {
            200 => Ok(()),
            other => Err(SessionCallError::Protocol {
                venue: NAME,
                call: "reauthenticate",
                detail: format!("HTTP status {other}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(status: u16, body: &str) -> std::result::Result<SessionState, SessionCallError> {
        IbkrGateway::state_of("tickle", status, body.as_bytes(), |b| {
            serde_json::from_slice::<Tickle>(b).map(|t| t.iserver.auth_status)
        })
    }

    /// A tickle answer as a gateway sent it (in a public report of IBKR's gateway, Voyz/ibeam
    /// issue 19), with the brokerage session dropped.
    const DROPPED: &str = r#"{"session":"b42059b2586ea798f8219b8ca26aa332","ssoExpires":594650,"collission":false,"userId":65305922,"iserver":{"tickle":true,"authStatus":{"authenticated":false,"competing":false,"connected":true,"message":"","MAC":"08:F1:EA:83:2D:DC"}}}"#;

    #[test]
    fn answers_map_to_states() {
        assert_eq!(state(200, DROPPED), Ok(SessionState::Dropped));
        let active = DROPPED.replace(r#""authenticated":false"#, r#""authenticated":true"#);
        assert_eq!(state(200, &active), Ok(SessionState::Active));
        let gone = DROPPED.replace(r#""connected":true"#, r#""connected":false"#);
        assert_eq!(state(200, &gone), Ok(SessionState::Expired));
        assert_eq!(state(401, "Access Denied"), Ok(SessionState::Expired));
        assert!(matches!(
            state(500, "{}"),
            Err(SessionCallError::Protocol { detail, .. }) if detail == "HTTP status 500"
        ));
        assert!(matches!(
            state(200, "{\"session\":\"x\"}"),
            Err(SessionCallError::Protocol { .. })
        ));
    }

    #[test]
    fn the_base_url_policy_applies() {
        assert!(IbkrGateway::new(DEFAULT_GATEWAY).is_ok());
        assert!(IbkrGateway::new("http://127.0.0.1:5000").is_ok());
        assert!(IbkrGateway::new("http://gateway.example:5000").is_err());
        assert!(IbkrGateway::new("https://user:pw@localhost:5000").is_err());
    }
}
