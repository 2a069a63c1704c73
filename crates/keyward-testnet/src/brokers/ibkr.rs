//! An Interactive Brokers Client Portal (Web API) gateway, as far as its session goes: the
//! listener named [`NAME`], serving under `/v1/api`:
//!
//! | request | answer |
//! | --- | --- |
//! | `POST /tickle` | `{"session", "ssoExpires", "collission", "userId", "hmds", "iserver": {"tickle": true, "authStatus": {...}}}` |
//! | `POST` or `GET /iserver/auth/status` | `{"authenticated", "competing", "connected", "message", "MAC", "serverInfo", "fail"}` |
//! | `POST` or `GET /iserver/reauthenticate` | `{"message": "triggered"}` |
//! | `POST /iserver/auth/ssodh/init` | the auth status, after re-authenticating |
//! | `POST /logout` | `{"status": true}`, and the gateway session ends |
//!
//! Every answer is JSON (`Content-Type: application/json`). Any request to an open gateway
//! session keeps it open; after six minutes without one (or a day after its login) every
//! request answers 401 `{"error": "no session"}` until a new login (the `new_session` fault).
//! Re-authentication is asynchronous at IBKR: its answer only says it was triggered, and the
//! status tells whether it worked. The faults `drop_session`, `expire_session`, `fail_reauth`
//! and `new_session` change the session (see [`Faults`](crate::Faults)); `fail_5xx`,
//! `error_rate`, `force_429` and `latency_ms` apply as on every listener.

use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use keyward_signing::Clock;
use serde::Deserialize;
use serde_json::json;

use super::ibkr_session::GatewaySession;
use crate::clock::VenueClock;
use crate::guard::Shared;
use crate::reply;

/// The listener's name in [`Testnet::urls`](crate::Testnet::urls) and for faults and hits.
pub(crate) const NAME: &str = "ibkr";

/// The gateway's state.
struct Gateway {
    shared: Arc<Shared>,
    clock: VenueClock,
    session: Mutex<GatewaySession>,
}

impl Gateway {
    /// A fresh session logged in now.
    fn fresh_session(&self) -> GatewaySession {
        let mut id = [0u8; 16];
        let mut user = [0u8; 4];
        // A failed draw leaves zeros: the ids are labels, not secrets.
        let _ = getrandom::getrandom(&mut id);
        let _ = getrandom::getrandom(&mut user);
        let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        GatewaySession::new(self.clock.now_ms(), id, u32::from_be_bytes(user) >> 4)
    }

    /// Runs `f` on the session if it is open at now (after applying pending session faults);
    /// 401 otherwise.
    fn with_session(&self, f: impl FnOnce(&mut GatewaySession, u64) -> Response) -> Response {
        let changes = self.shared.faults.take_session_changes(NAME);
        let fresh = changes.renew.then(|| self.fresh_session());
        let now = self.clock.now_ms();
        let mut session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(fresh) = fresh {
            *session = fresh;
        }
        if changes.expire {
            session.close();
        }
        if changes.drop {
            session.drop_brokerage();
        }
        if !session.touch(now) {
            return reply::json(401, json!({"error": "no session"}));
        }
        f(&mut session, now)
    }

    /// Re-authenticates the brokerage session unless a `fail_reauth` fault is pending.
    fn reauthenticate(&self, session: &mut GatewaySession) {
        let fail = self.shared.faults.take_reauth_failure(NAME);
        session.reauthenticate(fail);
    }
}

/// The router of the gateway's listener.
pub(crate) fn router(shared: Arc<Shared>, clock: VenueClock) -> Router {
    let mut gateway = Gateway {
        shared,
        clock,
        session: Mutex::new(GatewaySession::new(0, String::new(), 0)),
    };
    gateway.session = Mutex::new(gateway.fresh_session());
    let guard = Arc::new(super::BrokerGuard {
        shared: gateway.shared.clone(),
        name: NAME,
        too_many,
    });
    let gateway = Arc::new(gateway);
    Router::new()
        .route("/v1/api/tickle", post(tickle))
        .route("/v1/api/iserver/auth/status", post(status).get(status))
        .route(
            "/v1/api/iserver/reauthenticate",
            post(reauthenticate).get(reauthenticate),
        )
        .route("/v1/api/iserver/auth/ssodh/init", post(ssodh_init))
        .route("/v1/api/logout", post(logout))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(guard, super::guard))
        .with_state(gateway)
}

/// The gateway's 429 answer (injected by `force_429`).
fn too_many() -> Response {
    reply::json(429, json!({"error": "too many requests"}))
}

/// `POST /v1/api/tickle`.
async fn tickle(State(g): State<Arc<Gateway>>) -> Response {
    g.with_session(|s, now| reply::json(200, s.tickle(now)))
}

/// `POST|GET /v1/api/iserver/auth/status`.
async fn status(State(g): State<Arc<Gateway>>) -> Response {
    g.with_session(|s, _| reply::json(200, s.auth_status()))
}

/// `POST|GET /v1/api/iserver/reauthenticate`.
async fn reauthenticate(State(g): State<Arc<Gateway>>) -> Response {
    g.with_session(|s, _| {
        g.reauthenticate(s);
        reply::json(200, json!({"message": "triggered"}))
    })
}

/// The body of `/iserver/auth/ssodh/init` (both fields optional).
#[derive(Debug, Deserialize)]
#[allow(dead_code)] // Read to refuse malformed bodies; the testnet has no competing session to evict.
struct InitRequest {
    publish: Option<bool>,
    compete: Option<bool>,
}

/// `POST /v1/api/iserver/auth/ssodh/init`.
async fn ssodh_init(State(g): State<Arc<Gateway>>, body: Bytes) -> Response {
    if !body.is_empty() && serde_json::from_slice::<InitRequest>(&body).is_err() {
        return reply::json(
            400,
            json!({"error": "the body must be JSON with the booleans publish and compete"}),
        );
    }
    g.with_session(|s, _| {
        g.reauthenticate(s);
        reply::json(200, s.auth_status())
    })
}

/// `POST /v1/api/logout`.
async fn logout(State(g): State<Arc<Gateway>>) -> Response {
    g.with_session(|s, _| {
        s.close();
        reply::json(200, json!({"status": true}))
    })
}

/// Anything else.
async fn not_found() -> Response {
    reply::json(404, json!({"error": "not found"}))
}
