//! An Upstox-shaped TOTP login, as the `upstox-totp` Python SDK (1.0.8) drives it
//! (docs/guides/broker-sessions.md names the SDK file each fact comes from). The hosts
//! `api.upstox.com` and `service.upstox.com` are served on one listener as `<base>/api/...` and
//! `<base>/service/...` at the real paths, so the SDK with `base_domain = "<base>/{stage}"`
//! reaches them:
//!
//! 1. `GET /api/v2/login/authorization/dialog` redirects (302) to `<base>/login/?...` with
//!    `client_id`, `user_id` and `user_type`, and sets the login-session cookie;
//! 2. `POST /service/login/open/v6/auth/1fa/otp/generate` answers a `validateOTPToken`;
//! 3. `POST /service/login/open/v4/auth/1fa/otp-totp/verify` checks the TOTP code;
//! 4. `POST /service/login/open/v3/auth/2fa` checks the base64 PIN;
//! 5. `POST /service/login/v2/oauth/authorize` answers the app's redirect URI with a `code`;
//! 6. `POST /api/v2/login/authorization/token` exchanges the code (form body) for a token;
//!
//! and `GET /api/v2/user/profile` accepts the token (`Authorization: Bearer`). The login
//! service answers HTTP 200 with `{"success": false, "error": {"code", "message"}}` when it
//! refuses; the API answers its documented `{"status": "error", "errors": [...]}`. Every JSON
//! answer has `Content-Type: application/json` exactly (the SDK compares the header as a
//! string), and nothing redirects off loopback.

mod login;
mod token;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use axum::response::Response;
use axum::routing::{get, post};
use keyward_signing::Clock as _;
use serde_json::{Value, json};

use crate::broker_credentials::BrokerCredentials;
use crate::clock::VenueClock;
use crate::credentials::{hex, random_bytes};
use crate::error::{Error, Result};
use crate::faults::FaultControl;
use crate::guard::Shared;
use crate::reply;

/// The listener's name, for hits and faults.
pub(crate) const NAME: &str = "upstox";
/// The cookie that carries a login session from the dialog to the authorization step.
pub(crate) const SESSION_COOKIE: &str = "keyward_upstox_login";
/// The most login sessions and unused codes kept; the oldest go first.
const MAX_FLOWS: usize = 256;
/// How long a login session or an authorization code lives, in milliseconds.
const FLOW_TTL_MS: u64 = 10 * 60 * 1000;
/// The login service's code for a refused TOTP code (this testnet's choice; the SDK reads any).
pub(crate) const CODE_BAD_TOTP: u64 = 1_017_014;
/// The login service's code for a refused PIN ("You have entered an incorrect PIN").
pub(crate) const CODE_BAD_PIN: u64 = 1_017_106;
/// The login service's code for a blocked account (too many failed attempts).
pub(crate) const CODE_LOCKED: u64 = 1_017_069;
/// The login service's code for an expired or unknown login session.
pub(crate) const CODE_SESSION: u64 = 1_017_076;
/// The login service's code for a request it cannot read.
pub(crate) const CODE_BAD_REQUEST: u64 = 1_017_016;

/// How far a login session got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// The dialog was opened.
    Dialog,
    /// An OTP was generated.
    OtpSent,
    /// The TOTP code was accepted.
    OneFa,
    /// The PIN was accepted.
    TwoFa,
}

/// One login in progress, keyed by its cookie.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) stage: Stage,
    pub(crate) validate_token: Option<String>,
    pub(crate) created_ms: u64,
}

/// What the flows share: sessions, unused codes, refusals since the last successful login.
#[derive(Debug, Default)]
pub(crate) struct Flows {
    pub(crate) sessions: HashMap<String, Session>,
    /// Authorization codes and when they were issued.
    pub(crate) codes: HashMap<String, u64>,
    pub(crate) failures: u32,
}

/// The listener's state.
pub(crate) struct Upstox {
    pub(crate) creds: BrokerCredentials,
    /// The account's Upstox user id (six characters, as Upstox's are).
    pub(crate) user_id: String,
    /// The TOTP generator that checks codes (SHA-1, 6 digits, 30 s, one step of skew).
    pub(crate) totp: totp_rs::TOTP,
    /// The HS256 key of the access tokens (the testnet's own).
    pub(crate) jwt_key: Vec<u8>,
    /// This listener's own base URL: the only place the dialog redirects to.
    pub(crate) base: String,
    pub(crate) clock: VenueClock,
    pub(crate) faults: Arc<FaultControl>,
    pub(crate) flows: Mutex<Flows>,
}

impl Upstox {
    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    pub(crate) fn flows(&self) -> MutexGuard<'_, Flows> {
        self.flows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops expired sessions and codes, then the oldest while over [`MAX_FLOWS`].
    pub(crate) fn prune(flows: &mut Flows, now_ms: u64) {
        flows
            .sessions
            .retain(|_, s| now_ms.saturating_sub(s.created_ms) < FLOW_TTL_MS);
        flows
            .codes
            .retain(|_, at| now_ms.saturating_sub(*at) < FLOW_TTL_MS);
        while flows.sessions.len() >= MAX_FLOWS {
            let Some(oldest) = flows
                .sessions
                .iter()
                .min_by_key(|(_, s)| s.created_ms)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            flows.sessions.remove(&oldest);
        }
        while flows.codes.len() >= MAX_FLOWS {
            let Some(oldest) = flows
                .codes
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            flows.codes.remove(&oldest);
        }
    }

    /// Whether the account is locked (`lockout_after` refusals since the last success).
    pub(crate) fn locked(&self, flows: &Flows) -> bool {
        self.faults
            .lockout_after(NAME)
            .is_some_and(|n| flows.failures >= n)
    }

    /// Counts a refused TOTP code or PIN and says how many attempts are left, if a lockout is
    /// set.
    pub(crate) fn refuse(&self, flows: &mut Flows) -> String {
        flows.failures = flows.failures.saturating_add(1);
        match self.faults.lockout_after(NAME) {
            Some(n) => format!(" {} attempts left.", n.saturating_sub(flows.failures)),
            None => String::new(),
        }
    }
}

/// A fresh random token of `bytes` bytes, as hex.
pub(crate) fn random_hex(bytes: usize) -> String {
    random_bytes(bytes).map(|b| hex(&b)).unwrap_or_default()
}

/// The login service's refusal: HTTP 200 (as the service answers) with `success: false`.
pub(crate) fn service_error(code: u64, message: &str) -> Response {
    reply::json(
        200,
        json!({"success": false, "data": null, "error": {"code": code, "message": message}}),
    )
}

/// The login service's success: `{"success": true, "data": ...}`.
pub(crate) fn service_ok(data: Value) -> Response {
    reply::json(200, json!({"success": true, "data": data, "error": null}))
}

/// The API's documented error shape (`UDAPI...` codes).
pub(crate) fn api_error(status: u16, code: &str, message: &str) -> Response {
    reply::json(
        status,
        json!({"status": "error", "errors": [{
            "errorCode": code,
            "message": message,
            "propertyPath": null,
            "invalidValue": null,
            "error_code": code,
            "property_path": null,
            "invalid_value": null,
        }]}),
    )
}

/// Upstox's 429: `UDAPI10005`.
pub(crate) fn too_many() -> Response {
    api_error(429, "UDAPI10005", "Too Many Request Sent")
}

/// The login-session cookie's value, if the request carries one.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The query's parameters (the last of a repeated name wins).
pub(crate) fn query(uri: &axum::http::Uri) -> HashMap<String, String> {
    form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// The account a listener serves: its user id and the key of its access tokens. Fresh, or
/// (replicas, feature `redis`) the one every replica on the shared state serves, so a token
/// from one replica is accepted by all. Only credentials given in the configuration are
/// shared: generated ones differ from replica to replica, so their account stays this
/// replica's own.
pub(crate) async fn account(
    creds: &BrokerCredentials,
    config: &crate::TestnetConfig,
) -> Result<(String, Vec<u8>)> {
    let user_id = random_bytes(3).map(|b| hex(&b).to_ascii_uppercase())?;
    let jwt_key = random_bytes(32)?;
    #[cfg(feature = "redis")]
    if let Some(state) = &config.shared_state
        && config.broker_credentials.iter().any(|c| c.venue == NAME)
    {
        let seed = secrecy::zeroize::Zeroizing::new(seed(creds)?);
        return state.upstox_account(&seed, user_id, jwt_key).await;
    }
    #[cfg(not(feature = "redis"))]
    let _ = (creds, config);
    Ok((user_id, jwt_key))
}

fn seed(creds: &BrokerCredentials) -> Result<Vec<u8>> {
    creds.seed().ok_or_else(|| Error::InvalidCredentials {
        venue: NAME.to_owned(),
        reason: "the totp_secret is not a base32 seed".to_owned(),
    })
}

/// The router of the Upstox listener at `base`, on the venue clock `clock`, serving `account`
/// (user id, token key).
pub(crate) fn router(
    creds: &BrokerCredentials,
    base: &str,
    shared: &Arc<Shared>,
    clock: VenueClock,
    (user_id, jwt_key): (String, Vec<u8>),
) -> Result<Router> {
    let seed = seed(creds)?;
    let state = Arc::new(Upstox {
        creds: creds.clone(),
        user_id,
        totp: totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, seed),
        jwt_key,
        base: base.to_owned(),
        clock,
        faults: shared.faults.clone(),
        flows: Mutex::new(Flows::default()),
    });
    let guard = Arc::new(super::BrokerGuard {
        shared: shared.clone(),
        name: NAME,
        too_many,
    });
    Ok(Router::new()
        .route("/api/v2/login/authorization/dialog", get(login::dialog))
        .route("/login/", get(login::page))
        .route(
            "/service/login/open/v6/auth/1fa/otp/generate",
            post(login::otp_generate),
        )
        .route(
            "/service/login/open/v4/auth/1fa/otp-totp/verify",
            post(login::otp_verify),
        )
        .route("/service/login/open/v3/auth/2fa", post(login::two_fa))
        .route("/service/login/v2/oauth/authorize", post(login::authorize))
        .route("/api/v2/login/authorization/token", post(token::exchange))
        .route("/api/v2/user/profile", get(token::profile))
        .fallback(|| async { api_error(404, "UDAPI100060", "Resource not Found.") })
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(guard, super::guard)))
}
