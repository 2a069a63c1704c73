//! The task behind a [`WsSession`](super::WsSession): serves one connection (pings, messages,
//! commands, the age limit) and, when it is lost, reconnects with backoff and jitter,
//! authenticates again and resubscribes. A rejected authentication stops it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use keyward_resilience::retry::JitterRng;
use keyward_signing::Scheme;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tracing::Instrument;

use super::config::WsConfig;
use super::connect::{Connected, Stream, parse};
use super::error::WsError;
use super::reauth::authenticate;
use super::session::{ReconnectReason, WsEvent};
use super::stats::Counters;

/// What a [`WsSession`](super::WsSession) asks of its task.
pub(crate) enum Command {
    /// Send `text`; keep it to send again after each reconnect when `subscribe`.
    Send {
        text: String,
        subscribe: bool,
        reply: oneshot::Sender<Result<(), WsError>>,
    },
    /// Close and stop.
    Close { reply: oneshot::Sender<()> },
}

/// Why the task stops.
enum Stop {
    /// `close()` was called.
    Closed(oneshot::Sender<()>),
    /// The session handle was dropped.
    Abandoned,
    /// Reconnecting gave up (authentication rejected, or too many attempts).
    GaveUp,
}

/// Why a connection ended.
enum End {
    Lost(ReconnectReason, String),
    Stop(Stop),
}

pub(crate) struct Driver {
    cfg: WsConfig,
    url: String,
    commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::Sender<WsEvent>,
    subscriptions: Vec<String>,
    rng: JitterRng,
    /// The last auth message id used.
    next_id: u64,
    /// When the last authentication was sent, in Unix milliseconds.
    last_auth_ms: u64,
    counters: Arc<Counters>,
}

impl Driver {
    pub(crate) fn new(
        cfg: WsConfig,
        commands: mpsc::UnboundedReceiver<Command>,
        events: mpsc::Sender<WsEvent>,
        counters: Arc<Counters>,
        last_id: u64,
    ) -> Self {
        let rng = cfg
            .seed
            .map_or_else(JitterRng::from_os, JitterRng::seed_from_u64);
        Self {
            url: cfg.redacted_url(),
            cfg,
            commands,
            events,
            subscriptions: Vec::new(),
            rng,
            next_id: last_id,
            last_auth_ms: now_ms(),
            counters,
        }
    }

    /// Runs until the session is closed, dropped, or gives up.
    pub(crate) async fn run(mut self, first: Connected) {
        let mut stream = first.stream;
        self.emit(WsEvent::Authenticated).await;
        for value in first.early {
            self.emit(WsEvent::Message(value)).await;
        }
        loop {
            let stop = match self.serve(&mut stream).await {
                End::Stop(stop) => {
                    let _ = stream.close(None).await;
                    stop
                }
                End::Lost(reason, detail) => {
                    tracing::warn!(venue = %self.cfg.venue, url = %self.url, event = "disconnected", ?reason, %detail, "WebSocket connection lost");
                    if reason == ReconnectReason::MaxAge {
                        let _ = stream.close(None).await;
                    }
                    match self.reconnect(reason).await {
                        Ok(next) => {
                            stream = next;
                            continue;
                        }
                        Err(stop) => stop,
                    }
                }
            };
            match stop {
                Stop::Closed(reply) => {
                    tracing::info!(venue = %self.cfg.venue, url = %self.url, event = "closed", "WebSocket session closed");
                    self.emit(WsEvent::Closed).await;
                    let _ = reply.send(());
                }
                Stop::GaveUp => {
                    self.emit(WsEvent::Closed).await;
                }
                Stop::Abandoned => {}
            }
            return;
        }
    }

    /// Serves one connection until it is lost or the session stops.
    async fn serve(&mut self, stream: &mut Stream) -> End {
        let period = self.cfg.ping_interval;
        let mut ping = tokio::time::interval_at(Instant::now() + period, period);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // When the oldest ping that nothing has followed yet was sent.
        let mut unanswered: Option<Instant> = None;
        let mut age = match self.cfg.max_age {
            Some(max_age) => self.cfg.sleep.sleep(max_age),
            None => Box::pin(std::future::pending()),
        };
        loop {
            tokio::select! {
                frame = stream.next() => {
                    unanswered = None;
                    let value = match frame {
                        None => return lost(ReconnectReason::Dropped, "the connection ended"),
                        Some(Err(e)) => return lost(ReconnectReason::Dropped, &e.to_string()),
                        Some(Ok(Message::Text(text))) => parse(text.as_str().as_bytes()),
                        Some(Ok(Message::Binary(bytes))) => parse(&bytes),
                        Some(Ok(Message::Ping(_))) => {
                            Counters::bump(&self.counters.pings_answered);
                            tracing::trace!(venue = %self.cfg.venue, event = "ping", "answering a ping");
                            // The pong is queued by tungstenite; flushing sends it.
                            if let Err(e) = stream.flush().await {
                                return lost(ReconnectReason::Dropped, &e.to_string());
                            }
                            continue;
                        }
                        Some(Ok(Message::Close(frame))) => {
                            let code = frame.map_or(1005, |f| u16::from(f.code));
                            return lost(ReconnectReason::ClosedByVenue, &format!("close code {code}"));
                        }
                        Some(Ok(Message::Pong(_))) => {
                            Counters::bump(&self.counters.pongs_received);
                            continue;
                        }
                        Some(Ok(_)) => continue,
                    };
                    Counters::bump(&self.counters.messages_received);
                    tracing::trace!(venue = %self.cfg.venue, event = "message", "message received");
                    if !self.emit(WsEvent::Message(value)).await {
                        return End::Stop(Stop::Abandoned);
                    }
                }
                _ = ping.tick() => {
                    if unanswered.is_some_and(|sent| sent.elapsed() >= self.cfg.pong_timeout) {
                        return lost(ReconnectReason::PongTimeout, "nothing arrived after a ping");
                    }
                    unanswered.get_or_insert_with(Instant::now);
                    Counters::bump(&self.counters.pings_sent);
                    if let Err(e) = stream.send(Message::Ping(Bytes::new())).await {
                        return lost(ReconnectReason::Dropped, &e.to_string());
                    }
                }
                () = &mut age => return lost(ReconnectReason::MaxAge, "the connection age limit was reached"),
                command = self.commands.recv() => match command {
                    None => return End::Stop(Stop::Abandoned),
                    Some(Command::Close { reply }) => return End::Stop(Stop::Closed(reply)),
                    Some(Command::Send { text, subscribe, reply }) => {
                        match stream.send(Message::text(text.clone())).await {
                            Ok(()) => {
                                if subscribe {
                                    self.subscriptions.push(text);
                                }
                                let _ = reply.send(Ok(()));
                            }
                            Err(e) => {
                                let reason = e.to_string();
                                let _ = reply.send(Err(WsError::Send { reason: reason.clone() }));
                                return lost(ReconnectReason::Dropped, &reason);
                            }
                        }
                    }
                },
            }
        }
    }

    /// Reconnects, authenticates and resubscribes, with backoff between attempts.
    async fn reconnect(&mut self, mut reason: ReconnectReason) -> Result<Stream, Stop> {
        let venue = self.cfg.venue;
        let mut prev = None;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            if self.cfg.max_reconnects.is_some_and(|max| attempt > max) {
                tracing::error!(%venue, url = %self.url, event = "gave_up", attempts = attempt - 1, "WebSocket reconnect attempts exhausted");
                return Err(Stop::GaveUp);
            }
            let delay = if reason == ReconnectReason::MaxAge {
                Duration::ZERO
            } else {
                self.delay(attempt, prev)
            };
            prev = Some(delay);
            tracing::info!(%venue, url = %self.url, event = "reconnecting", attempt, ?delay, ?reason, "reconnecting the WebSocket");
            if !self
                .emit(WsEvent::Reconnecting {
                    attempt,
                    delay,
                    reason,
                })
                .await
            {
                return Err(Stop::Abandoned);
            }
            reason = ReconnectReason::AttemptFailed;
            let sleep = self.cfg.sleep.sleep(delay);
            self.while_disconnected(sleep).await?;
            if let Some(wait) = self.same_second_wait() {
                self.while_disconnected(self.cfg.sleep.sleep(wait)).await?;
            }
            self.last_auth_ms = now_ms();
            let cfg = self.cfg.clone();
            let mut id = self.next_id;
            let result = self
                .while_disconnected(
                    authenticate(&cfg, &mut id)
                        .instrument(crate::observe::ws_connect_span(attempt)),
                )
                .await?;
            self.next_id = id;
            let connected = match result {
                Ok(connected) => connected,
                Err(e) => {
                    log_failure(venue, &self.url, &e);
                    if let Some(failure) = e.auth_failure() {
                        self.emit(WsEvent::AuthFailed(failure)).await;
                        return Err(Stop::GaveUp);
                    }
                    continue;
                }
            };
            let mut stream = connected.stream;
            tracing::info!(%venue, url = %self.url, event = "authenticated", attempt, "WebSocket authenticated again");
            self.emit(WsEvent::Authenticated).await;
            for value in connected.early {
                self.emit(WsEvent::Message(value)).await;
            }
            if let Err(e) = self.resubscribe(&mut stream).await {
                tracing::warn!(%venue, url = %self.url, event = "resubscribe_failed", error = %e, "resubscribing failed");
                continue;
            }
            tracing::info!(%venue, url = %self.url, event = "reconnected", subscriptions = self.subscriptions.len(), "WebSocket reconnected");
            Counters::bump(&self.counters.reconnects);
            crate::observe::ws_reconnected(venue.name());
            self.emit(WsEvent::Reconnected).await;
            return Ok(stream);
        }
    }

    async fn resubscribe(&self, stream: &mut Stream) -> Result<(), WsError> {
        for text in &self.subscriptions {
            stream
                .send(Message::text(text.clone()))
                .await
                .map_err(|e| WsError::Send {
                    reason: e.to_string(),
                })?;
        }
        Ok(())
    }

    /// A scheme whose auth is signed over a time in whole seconds and refused when repeated (see
    /// `Venue::ws_auth_repeat_refused_within_a_second`) would send the very same signature
    /// twice within one second: the wait until the next second, if the last auth was sent in
    /// this one.
    fn same_second_wait(&self) -> Option<Duration> {
        if !self.cfg.rules.ws_auth_repeat_refused_within_a_second() {
            return None;
        }
        let now = now_ms();
        (now / 1000 == self.last_auth_ms / 1000).then(|| Duration::from_millis(1000 - now % 1000))
    }

    /// The jittered backoff delay before attempt `attempt`.
    fn delay(&mut self, attempt: u32, prev: Option<Duration>) -> Duration {
        let cap = self.cfg.backoff_cap;
        let backoff = self.cfg.backoff.delay(attempt, cap);
        self.cfg
            .jitter
            .apply(backoff, self.cfg.backoff.base(), prev, cap, &mut self.rng)
    }

    /// Awaits `fut` while answering commands: a close stops, a subscription is kept for the
    /// next connection, a one-off send fails with [`WsError::NotConnected`].
    async fn while_disconnected<T>(&mut self, fut: impl Future<Output = T>) -> Result<T, Stop> {
        tokio::pin!(fut);
        loop {
            tokio::select! {
                out = &mut fut => return Ok(out),
                command = self.commands.recv() => match command {
                    None => return Err(Stop::Abandoned),
                    Some(Command::Close { reply }) => return Err(Stop::Closed(reply)),
                    Some(Command::Send { text, subscribe: true, reply }) => {
                        self.subscriptions.push(text);
                        let _ = reply.send(Ok(()));
                    }
                    Some(Command::Send { reply, .. }) => {
                        let _ = reply.send(Err(WsError::NotConnected));
                    }
                },
            }
        }
    }

    /// Sends an event; false when nobody listens any more.
    async fn emit(&self, event: WsEvent) -> bool {
        self.events.send(event).await.is_ok()
    }
}

/// The wall clock in Unix milliseconds (0 before 1970).
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn lost(reason: ReconnectReason, detail: &str) -> End {
    End::Lost(reason, detail.to_owned())
}

/// Logs a failed connection: loudly when the venue rejected the credentials.
pub(crate) fn log_failure(venue: Scheme, url: &str, e: &WsError) {
    match e {
        WsError::AuthRejected { code, message, .. } => {
            tracing::error!(%venue, %url, event = "auth_rejected", code = code.as_deref().unwrap_or(""), reason = %message, "the venue rejected the WebSocket authentication; not reconnecting");
        }
        other => {
            tracing::warn!(%venue, %url, event = "connect_failed", error = %other, "WebSocket connection failed");
        }
    }
}
