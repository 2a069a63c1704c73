//! One authenticated connection, with the retries a refusal allows. The venue's declared error
//! code says what a refusal means ([`WsRefusal`]):
//! - a timestamp outside the venue's window: the bound client's clock is resynced and the
//!   authentication tried once more;
//! - a rate limit: tried again after the session's backoff (through its injected sleep), at
//!   most [`MAX_RATE_LIMIT_RETRIES`] times;
//! - the credentials: the bound client's store is read again, past its cache, and if that gave
//!   other credentials the authentication is tried once more.
//!
//! Anything else, or a refusal past its retry, is final: [`WsError::AuthRejected`].

use super::config::WsConfig;
use super::connect::{Connected, establish};
use super::error::WsError;
use crate::venue::WsRefusal;

/// The most times a rate-limited authentication is tried again.
pub(crate) const MAX_RATE_LIMIT_RETRIES: u32 = 3;

/// Opens and authenticates a connection; `id` is the last auth message id used and is advanced
/// for each attempt.
pub(crate) async fn authenticate(cfg: &WsConfig, id: &mut u64) -> Result<Connected, WsError> {
    let venue = cfg.rules;
    let url = cfg.redacted_url();
    let (mut resynced, mut reread, mut waits) = (false, false, 0u32);
    loop {
        let (attempt, epoch) = match &cfg.live {
            Some(live) => {
                let (signer, epoch) = live.prepare().await?;
                (cfg.with_current_signer(signer)?, epoch)
            }
            None => (cfg.clone(), 0),
        };
        *id += 1;
        let err = match establish(&attempt, *id).await {
            Ok(connected) => return Ok(connected),
            Err(err) => err,
        };
        let Some(failure) = err.auth_failure() else {
            return Err(err);
        };
        let code = failure.code.as_deref().unwrap_or("");
        match (venue.ws_auth_refusal(failure.code.as_deref()), &cfg.live) {
            (WsRefusal::Timestamp, Some(live)) if !resynced && live.can_resync() => {
                tracing::warn!(venue = %cfg.venue, %url, event = "auth_timestamp_refused", code, "the venue refused the auth's timestamp; resyncing the clock");
                live.resync(epoch).await?;
                resynced = true;
            }
            (WsRefusal::RateLimited, _) if waits < MAX_RATE_LIMIT_RETRIES => {
                waits += 1;
                let delay = cfg.backoff.delay(waits, cfg.backoff_cap);
                tracing::warn!(venue = %cfg.venue, %url, event = "auth_rate_limited", code, attempt = waits, ?delay, "the venue rate-limited the auth; trying again");
                cfg.sleep.sleep(delay).await;
            }
            (WsRefusal::Credentials, Some(live)) if !reread => {
                reread = true;
                if !live.reread().await? {
                    return Err(err);
                }
                tracing::warn!(venue = %cfg.venue, %url, event = "auth_credentials_reread", code, "the venue refused the key; the store holds other credentials, trying them");
            }
            _ => return Err(err),
        }
    }
}
