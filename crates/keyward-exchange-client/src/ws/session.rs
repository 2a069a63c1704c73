//! [`WsSession`]: the handle a caller holds, and [`WsEvent`], what it reports.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::config::WsConfig;
use super::driver::{Command, Driver};
use super::error::{AuthFailure, WsError};
use super::kraken::{kraken_rest_token_with, rest_origin_of};
use super::reauth::authenticate;
use super::stats::{Counters, WsStats};
use crate::venue::WsAuthBy;

/// Why a session is reconnecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReconnectReason {
    /// The connection failed or ended without a close frame.
    Dropped,
    /// The venue closed the connection.
    ClosedByVenue,
    /// Nothing, not even a pong, arrived within the pong timeout after a ping.
    PongTimeout,
    /// The connection reached the configured age limit and is replaced before the venue
    /// closes it.
    MaxAge,
    /// The previous reconnect attempt failed.
    AttemptFailed,
}

/// What a session reports, in order.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WsEvent {
    /// A message from the venue: JSON, or a JSON string for a text that is not JSON.
    Message(Value),
    /// The connection is authenticated (first after connecting, then after each reconnect).
    Authenticated,
    /// The connection was lost; attempt `attempt` starts after `delay`.
    Reconnecting {
        /// 1 for the first attempt after a loss.
        attempt: u32,
        /// The (jittered) backoff delay before it.
        delay: Duration,
        /// Why.
        reason: ReconnectReason,
    },
    /// Reconnected, authenticated and resubscribed.
    Reconnected,
    /// The venue rejected the credentials on a reconnect: the session stops (a `Closed`
    /// follows) instead of hammering the venue with a bad key.
    AuthFailed(AuthFailure),
    /// The session is closed; no event follows.
    Closed,
}

/// An authenticated WebSocket session that keeps itself connected: it pings, replaces a dead
/// or too old connection with backoff and jitter, authenticates again and resubscribes.
///
/// ```no_run
/// use keyward_exchange_client::ws::{WsConfig, WsEvent, WsSession};
/// use keyward_signing::{Credentials, Scheme};
///
/// # async fn run() -> Result<(), keyward_exchange_client::ws::WsError> {
/// let creds = Credentials::new("api-key", "api-secret".into());
/// let config = WsConfig::from_credentials(Scheme::Bybit, "wss://stream-testnet.bybit.com/v5/private", &creds)?;
/// let mut session = WsSession::connect(config).await?;
/// session.subscribe(serde_json::json!({"op": "subscribe", "args": ["order"]})).await?;
/// while let Some(event) = session.next_event().await {
///     match event {
///         WsEvent::Message(msg) => println!("{msg}"),
///         WsEvent::AuthFailed(failure) => eprintln!("{failure}"),
///         WsEvent::Closed => break,
///         _ => {}
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub struct WsSession {
    config: WsConfig,
    commands: mpsc::UnboundedSender<Command>,
    events: mpsc::Receiver<WsEvent>,
    /// Events read off the channel by `close` (so the task is never stuck on a full channel),
    /// handed out before the channel's.
    pending: VecDeque<WsEvent>,
    counters: Arc<Counters>,
    task: Option<JoinHandle<()>>,
}

impl WsSession {
    /// Connects and authenticates. Fails with [`WsError::AuthRejected`] when the venue refuses
    /// the credentials, [`WsError::AckTimeout`] when it does not answer in time, and
    /// [`WsError::Connect`] when it cannot be reached; the first event is
    /// [`WsEvent::Authenticated`].
    pub async fn connect(mut config: WsConfig) -> Result<Self, WsError> {
        if config.rules.ws_auth() == Some(WsAuthBy::Token) && config.token_provider.is_none() {
            let origin = rest_origin_of(&config.url);
            config.token_provider = Some(kraken_rest_token_with(
                &origin,
                config.signer.clone(),
                &config.transport,
                config.connect_timeout,
            )?);
            config.default_token = true;
        }
        let url = config.redacted_url();
        let venue = config.venue;
        let key: String = config.signer.api_key().chars().take(4).collect();
        tracing::info!(%venue, %url, key = %format_args!("{key}…"), event = "connecting", "opening the WebSocket");
        let mut id = 0;
        // The session's span (crate::observe): the first connection and the driver's life.
        let span = crate::observe::ws_session_span(venue.name());
        let connected = match authenticate(&config, &mut id)
            .instrument(span.clone())
            .await
        {
            Ok(connected) => connected,
            Err(e) => {
                super::driver::log_failure(venue, &url, &e);
                return Err(e);
            }
        };
        tracing::info!(%venue, %url, event = "authenticated", "WebSocket authenticated");
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (event_tx, events) = mpsc::channel(config.event_buffer);
        let counters = Arc::new(Counters::default());
        let driver = Driver::new(config.clone(), command_rx, event_tx, counters.clone(), id);
        let task = tokio::spawn(driver.run(connected).instrument(span));
        Ok(Self {
            config,
            commands,
            events,
            pending: VecDeque::new(),
            counters,
            task: Some(task),
        })
    }

    /// The next event; `None` once the session has closed and every event was read.
    pub async fn next_event(&mut self) -> Option<WsEvent> {
        match self.pending.pop_front() {
            Some(event) => Some(event),
            None => self.events.recv().await,
        }
    }

    /// The session's counters: pings, pongs, messages, reconnects.
    pub fn stats(&self) -> WsStats {
        self.counters.snapshot()
    }

    /// Sends `message` once. Fails with [`WsError::NotConnected`] while reconnecting.
    pub async fn send(&self, message: &Value) -> Result<(), WsError> {
        self.command(message.to_string(), false).await
    }

    /// Sends `text` once, as it is (the signing proxy's pass-through: a bot's message need
    /// not be JSON, as OKX's text `ping`).
    #[cfg(feature = "proxy")]
    pub(crate) async fn send_text(&self, text: String) -> Result<(), WsError> {
        self.command(text, false).await
    }

    /// Sends `message` now (or, while reconnecting, on the next connection) and again after
    /// each reconnect.
    pub async fn subscribe(&self, message: Value) -> Result<(), WsError> {
        self.command(message.to_string(), true).await
    }

    /// Closes the connection with a close frame and stops the session. Events not yet read,
    /// then [`WsEvent::Closed`], remain readable.
    pub async fn close(&mut self) {
        let (reply, done) = oneshot::channel();
        if self.commands.send(Command::Close { reply }).is_ok() {
            tokio::pin!(done);
            loop {
                tokio::select! {
                    _ = &mut done => break,
                    event = self.events.recv() => match event {
                        Some(event) => self.pending.push_back(event),
                        None => break,
                    },
                }
            }
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    async fn command(&self, text: String, subscribe: bool) -> Result<(), WsError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Send {
                text,
                subscribe,
                reply,
            })
            .map_err(|_| WsError::Closed)?;
        answer.await.map_err(|_| WsError::Closed)?
    }
}

impl Drop for WsSession {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl fmt::Debug for WsSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsSession")
            .field("venue", &self.config.venue)
            .field("url", &self.config.redacted_url())
            .field(
                "running",
                &self.task.as_ref().is_some_and(|t| !t.is_finished()),
            )
            .finish_non_exhaustive()
    }
}
