//! The state of an IBKR Client Portal gateway session, on the testnet's clock: the gateway
//! session (the SSO login a person made through the gateway's page), which ends after
//! [`IDLE_TIMEOUT_MS`] without a request or [`SSO_LIFETIME_MS`] after the login, and the
//! brokerage session inside it (`authenticated`), which a competing login drops and
//! `/iserver/reauthenticate` or `/iserver/auth/ssodh/init` restores.
//!
//! Written from IBKR's Web API documentation (the `Session` endpoints of its OpenAPI
//! specification and the Client Portal gateway guides; see `docs/guides/broker-sessions.md`),
//! not from the client's `session::ibkr` module.

use serde_json::{Value, json};

/// A gateway session without a request for this long is over: IBKR's guides give about five
/// to six minutes and ask for a `/tickle` about every minute; the testnet ends it at six.
pub(crate) const IDLE_TIMEOUT_MS: u64 = 6 * 60 * 1000;
/// A gateway session lasts at most this long after its login (IBKR resets sessions daily).
pub(crate) const SSO_LIFETIME_MS: u64 = 24 * 60 * 60 * 1000;
/// The gateway's `serverInfo.serverName`.
const SERVER_NAME: &str = "keyward-testnet";
/// The `MAC` the gateway reports (a locally administered address).
const MAC: &str = "02:00:00:00:00:01";

/// One gateway session.
#[derive(Debug)]
pub(crate) struct GatewaySession {
    /// The `session` id `/tickle` reports (32 hex digits).
    id: String,
    /// The `userId` `/tickle` reports.
    user_id: u32,
    /// When the login happened (ms).
    started_ms: u64,
    /// The last request (ms).
    last_ms: u64,
    /// False once it timed out, expired or was logged out.
    open: bool,
    /// Whether the brokerage session is authenticated.
    authenticated: bool,
    /// Whether another login competes for the brokerage session.
    competing: bool,
}

impl GatewaySession {
    /// A fresh, authenticated session logged in at `now_ms`.
    pub(crate) fn new(now_ms: u64, id: String, user_id: u32) -> Self {
        Self {
            id,
            user_id,
            started_ms: now_ms,
            last_ms: now_ms,
            open: true,
            authenticated: true,
            competing: false,
        }
    }

    /// Whether the gateway session is still open at `now_ms` (closing it when its idle time
    /// or its lifetime ran out). A request to an open session counts as activity.
    pub(crate) fn touch(&mut self, now_ms: u64) -> bool {
        if self.open
            && (now_ms.saturating_sub(self.last_ms) >= IDLE_TIMEOUT_MS
                || now_ms.saturating_sub(self.started_ms) >= SSO_LIFETIME_MS)
        {
            self.open = false;
        }
        if self.open {
            self.last_ms = self.last_ms.max(now_ms);
        }
        self.open
    }

    /// Drops the brokerage session, as a competing login does.
    pub(crate) fn drop_brokerage(&mut self) {
        self.authenticated = false;
        self.competing = true;
    }

    /// Ends the gateway session (the idle timeout, or `/logout`).
    pub(crate) fn close(&mut self) {
        self.open = false;
        self.authenticated = false;
    }

    /// Re-authenticates the brokerage session, unless `fail`.
    pub(crate) fn reauthenticate(&mut self, fail: bool) {
        if !fail {
            self.authenticated = true;
            self.competing = false;
        }
    }

    /// The brokerage session's status, as `/iserver/auth/status` answers it.
    pub(crate) fn auth_status(&self) -> Value {
        json!({
            "authenticated": self.authenticated,
            "competing": self.competing,
            "connected": true,
            "message": "",
            "MAC": MAC,
            "serverInfo": {
                "serverName": SERVER_NAME,
                "serverVersion": env!("CARGO_PKG_VERSION"),
            },
            "fail": "",
        })
    }

    /// The `/tickle` answer at `now_ms`.
    pub(crate) fn tickle(&self, now_ms: u64) -> Value {
        let sso_expires = (self.started_ms + SSO_LIFETIME_MS).saturating_sub(now_ms);
        json!({
            "session": self.id,
            "ssoExpires": sso_expires,
            "collission": false,
            "userId": self.user_id,
            "hmds": {"error": "no bridge"},
            "iserver": {
                "tickle": true,
                "authStatus": self.auth_status(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> GatewaySession {
        GatewaySession::new(1_000, "ab".repeat(16), 7)
    }

    #[test]
    fn requests_keep_it_open_and_idleness_ends_it() {
        let mut s = session();
        let mut now = 1_000;
        for _ in 0..30 {
            now += 60_000;
            assert!(s.touch(now));
        }
        assert!(s.touch(now + IDLE_TIMEOUT_MS - 1));
        let last = now + IDLE_TIMEOUT_MS - 1;
        assert!(!s.touch(last + IDLE_TIMEOUT_MS));
        assert!(!s.touch(last + IDLE_TIMEOUT_MS + 1), "closed stays closed");
    }

    #[test]
    fn the_lifetime_ends_even_an_active_session() {
        let mut s = session();
        let mut now = 1_000;
        while now + 60_000 < 1_000 + SSO_LIFETIME_MS {
            now += 60_000;
            assert!(s.touch(now));
        }
        assert!(!s.touch(1_000 + SSO_LIFETIME_MS));
    }

    #[test]
    fn a_dropped_brokerage_session_comes_back_with_reauthentication() {
        let mut s = session();
        s.drop_brokerage();
        assert_eq!(s.auth_status()["authenticated"], false);
        assert_eq!(s.auth_status()["competing"], true);
        s.reauthenticate(true);
        assert_eq!(s.auth_status()["authenticated"], false);
        s.reauthenticate(false);
        assert_eq!(s.auth_status()["authenticated"], true);
        let t = s.tickle(61_000);
        assert_eq!(t["iserver"]["authStatus"]["authenticated"], true);
        assert_eq!(t["ssoExpires"], SSO_LIFETIME_MS - 60_000);
        assert_eq!(t["userId"], 7);
        s.close();
        assert!(!s.touch(61_000));
    }
}
