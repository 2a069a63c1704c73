//! BitMart: WebSocket `login` only (keyward signs no BitMART REST request), and its public
//! time endpoint. Codes: <https://developer-pro.bitmart.com/en/spot/#error-code>.

use serde_json::Value;

use super::Found;
use super::rules::VenueRules;
use super::time::{ServerTime, TimeUnit};
use super::ws_auth::{Ack, WsAuthBy, field_text, str_field};

/// BitMart.
pub(super) struct Bitmart;

impl VenueRules for Bitmart {
    /// `GET /system/time`: `{"code":1000,"data":{"server_time":1527777538000}}`, ms.
    fn server_time(&self) -> Option<ServerTime> {
        Some(ServerTime {
            path: "/system/time",
            field: "data.server_time",
            unit: TimeUnit::Millis,
        })
    }

    /// No REST calls are made, so no REST answer is read.
    fn classify(&self, _status: u16, _v: &Value) -> Option<Found> {
        None
    }

    fn ws_auth(&self) -> Option<WsAuthBy> {
        Some(WsAuthBy::Message)
    }

    /// `{"event":"login"}`, or a non-zero `errorCode` with `errorMessage`.
    fn ws_ack(&self, _id: &Value, msg: &Value) -> Ack {
        let code = field_text(msg, "errorCode").filter(|c| !c.is_empty() && c != "0");
        match (str_field(msg, "event"), code) {
            (_, Some(code)) => Ack::refused(Some(code), field_text(msg, "errorMessage")),
            (Some("login"), None) => Ack::Accepted,
            _ => Ack::Other,
        }
    }
}
