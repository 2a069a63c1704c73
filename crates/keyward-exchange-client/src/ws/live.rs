//! A WebSocket session bound to a [`RestClient`] ([`RestClient::ws_config`]): each
//! authentication signs with the client's current credentials (after the rotation notices it
//! has received) on the client's synced server clock; a timestamp refusal resyncs that clock,
//! and a refusal of the key re-reads the client's secret store.

use std::sync::Arc;

use keyward_signing::Signer;

use super::config::WsConfig;
use super::error::WsError;
use crate::rest::RestClient;

/// The REST client a WebSocket configuration takes its credentials and clock from.
#[derive(Clone)]
pub(crate) struct Live {
    client: RestClient,
}

impl RestClient {
    /// A WebSocket configuration for `url` (`wss://`, or `ws://` to a loopback address) that
    /// authenticates as this client does: with its current credentials, so a rotation notice
    /// the client received is used by the next (re)authentication, and on its server clock,
    /// synced before the first authentication of a venue that signs a timestamp. A timestamp
    /// refusal resyncs that clock once; a refusal of the key re-reads the client's store once.
    /// Adjust the session's timing with the returned configuration's `with_*` methods.
    ///
    /// # Errors
    /// [`WsError::InvalidUrl`] for a URL that cannot be used, [`WsError::Unsupported`] for a
    /// scheme without WebSocket authentication.
    pub fn ws_config(&self, url: &str) -> Result<WsConfig, WsError> {
        let mut cfg = WsConfig::new(self.scheme(), url, self.inner.signer())?;
        cfg.live = Some(Live {
            client: self.clone(),
        });
        Ok(cfg)
    }
}

impl Live {
    /// The signer for the next authentication, and the clock epoch it signs in: rotation
    /// notices taken, the clock synced if it never was.
    pub(crate) async fn prepare(&self) -> Result<(Arc<Signer>, u64), WsError> {
        let inner = &self.client.inner;
        inner
            .take_rotation()
            .await
            .map_err(|e| self.credentials_error(e))?;
        if inner.venue.uses_timestamps() {
            if let Err(e) = inner.time.ensure(|| inner.fetch_server_time()).await {
                // As for REST: not fatal; a timestamp refusal resyncs later.
                tracing::warn!(venue = inner.venue.name(), error = %e, event = "clock_sync_failed", "initial clock sync failed");
            }
        }
        Ok((inner.signer(), inner.time.epoch()))
    }

    /// Whether a timestamp refusal can be answered by a resync (clock sync on for the venue).
    pub(crate) fn can_resync(&self) -> bool {
        self.client.inner.time.enabled()
    }

    /// Resyncs the clock after a refusal of an auth signed in `epoch` (unless another call
    /// already did since).
    pub(crate) async fn resync(&self, epoch: u64) -> Result<(), WsError> {
        let inner = &self.client.inner;
        inner
            .time
            .resync_after(epoch, || inner.fetch_server_time())
            .await
            .map_err(|e| WsError::ClockSync {
                venue: inner.venue.scheme,
                source: Box::new(e),
            })
    }

    /// Reads the credentials again from the store itself (past any cache); true if they changed
    /// and the next authentication uses them. False for credentials given directly.
    pub(crate) async fn reread(&self) -> Result<bool, WsError> {
        let inner = &self.client.inner;
        if !inner.source.reloadable() {
            return Ok(false);
        }
        let fresh = inner
            .source
            .load_fresh()
            .await
            .map_err(|e| self.credentials_error(e))?;
        inner
            .install_credentials(fresh)
            .map_err(|e| self.credentials_error(e))
    }

    fn credentials_error(&self, e: crate::Error) -> WsError {
        WsError::Credentials {
            name: self
                .client
                .inner
                .source
                .name()
                .unwrap_or_default()
                .to_owned(),
            source: Box::new(e),
        }
    }
}
