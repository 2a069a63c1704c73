//! The signed REST client: one venue, one key. Every call goes rate limiter → sign → breaker →
//! send → map the answer, inside the retry policy of its request class. The breaker permit is
//! taken last, right before sending, so that only the venue's own answers (or its silence)
//! count for or against it: a local failure never reaches the breaker. The stages of one
//! attempt are named, and tested one by one, in [`stages`].

mod path_urls;
mod relay;
mod stages;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use keyward_resilience::limiter::RateLimiter;
use keyward_resilience::{CircuitBreaker, Monotonic, RequestClass, RetryPolicy, Sleep};
use keyward_signing::{NonceSource, Scheme, SignOptions, Signer};
use serde_json::Value;
use tokio::sync::broadcast;
use tracing::Instrument;

use crate::body_limit::MAX_RESPONSE_BODY;
use crate::credentials::{CredentialSource, KeyHint, differ, key_hint};
use crate::error::{Error, ErrorKind, Result};
use crate::nonce_order::KeyOrder;
use crate::order::{CancelRequest, OrderAck, OrderRequest};
use crate::params::Params;
use crate::time_sync::TimeSync;
use crate::url_policy::BaseUrl;
use crate::venue::{Call, Venue};

pub(crate) use path_urls::PathUrls;
use relay::RawSlot;
pub use relay::Relayed;

/// A signed REST client for one venue and one key. Cheap to clone; clones share everything
/// (signer, clock offset, nonce order, rate limiter, breaker). Build one with
/// [`RestClient::builder`].
#[derive(Clone)]
pub struct RestClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) venue: Venue,
    pub(crate) base: BaseUrl,
    /// Each path's URL, parsed once (see [`path_urls`]).
    pub(crate) urls: PathUrls,
    pub(crate) http: reqwest::Client,
    pub(crate) source: CredentialSource,
    pub(crate) signer: RwLock<Arc<Signer>>,
    /// The credentials the signer was built from, to tell whether a reload changed them.
    pub(crate) creds: RwLock<keyward_signing::Credentials>,
    pub(crate) rotation: Mutex<Option<broadcast::Receiver<String>>>,
    pub(crate) time: TimeSync,
    pub(crate) nonces: Arc<dyn NonceSource>,
    /// The key's ordering lock, held from signing to the answer for nonce venues (see
    /// [`crate::nonce_order`]).
    pub(crate) key_order: Arc<KeyOrder>,
    /// Calls wait for the rate limiter one at a time, in arrival order (tokio's mutex is
    /// fair): governor admits whichever waiter checks first after a wait, so without a queue
    /// one call of many could be passed over until its wait ceiling ran out. The queue is as
    /// long as the calls in flight, each waiting its emission interval at most.
    pub(crate) limiter_turn: tokio::sync::Mutex<()>,
    /// Keyed by the venue's name (one key per client).
    pub(crate) limiter: Option<RateLimiter<&'static str>>,
    /// The fleet's shared budget, when the builder was given one (then `limiter` is None).
    #[cfg(feature = "redis")]
    pub(crate) shared: Option<crate::fleet::FleetBudget>,
    pub(crate) breaker: CircuitBreaker,
    pub(crate) retry: RetryPolicy,
    pub(crate) clock: Arc<dyn Monotonic>,
    pub(crate) sleep: Arc<dyn Sleep>,
    pub(crate) options: SignOptions,
    /// Headers every request carries (OKX demo trading's), besides the signed ones.
    pub(crate) headers: Vec<(&'static str, &'static str)>,
}

impl fmt::Debug for RestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("RestClient")
            .field("venue", &i.venue.name())
            .field("base", &format!("{}{}", i.base.origin, i.base.prefix))
            .field("key", &key_hint(i.signer().api_key()))
            .field("credentials", &i.source)
            .field("breaker", &i.breaker.name())
            .finish_non_exhaustive()
    }
}

impl RestClient {
    /// A builder for a client of `scheme` at `base_url` (see [`ClientBuilder`](crate::ClientBuilder)).
    pub fn builder(scheme: Scheme, base_url: impl Into<String>) -> crate::ClientBuilder {
        crate::ClientBuilder::new(scheme, base_url)
    }

    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The scheme (venue preset) this client signs for.
    pub fn scheme(&self) -> Scheme {
        self.inner.venue.scheme
    }

    /// The venue's circuit breaker (its state, metrics, listeners).
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.inner.breaker
    }

    /// The fleet's shared rate budget (feature `redis`), if the builder was given one: its
    /// key names, scopes and degraded state.
    #[cfg(feature = "redis")]
    pub fn shared_budget(&self) -> Option<&crate::fleet::FleetBudget> {
        self.inner.shared.as_ref()
    }

    /// The measured offset of the venue's clock to the local one, in milliseconds.
    pub fn clock_offset_ms(&self) -> i64 {
        self.inner.time.offset_ms()
    }

    /// How many times the clock was synced (at start and after timestamp refusals).
    pub fn clock_syncs(&self) -> u64 {
        self.inner.time.syncs()
    }

    /// Measures the clock offset now, and returns it (ms). A [`Error::Config`] for the service
    /// schemes, which have no time endpoint.
    pub async fn sync_clock(&self) -> Result<i64> {
        let i = &self.inner;
        i.time.sync_now(|| i.fetch_server_time()).await
    }

    /// The venue's time in milliseconds since the epoch, from its public time endpoint.
    pub async fn server_time(&self) -> Result<u64> {
        let i = &self.inner;
        let call = i
            .venue
            .time_call()
            .ok_or_else(|| i.unsupported("server time"))?;
        let answer = i.execute(&call, None).await?;
        i.venue
            .parse_time(&answer)
            .ok_or_else(|| i.no_time(&call.path))
    }

    /// The account's balances, as the venue reports them.
    pub async fn balance(&self) -> Result<Value> {
        let i = &self.inner;
        let call = i.venue.balance().ok_or_else(|| i.unsupported("balance"))?;
        i.execute(&call, None).await
    }

    /// Places an order. A non-idempotent write: retried only when the failure proves the
    /// venue never executed it; a 5xx, a timeout, an answer that is neither 2xx nor 4xx, or a
    /// 2xx that cannot be read gives [`Error::UnknownOutcome`]. On a venue that takes a client
    /// order id the order always carries one (the caller's, or a generated UUID v4 in the
    /// venue's form), returned in [`OrderAck::client_order_id`] and in the unknown-outcome
    /// error, so the order can be looked up.
    pub async fn place_order(&self, order: &OrderRequest) -> Result<OrderAck> {
        let i = &self.inner;
        let order = i.venue.prepare_order(order)?;
        let call = i
            .venue
            .place(&order)
            .ok_or_else(|| i.unsupported("orders"))?;
        let mut ack = i
            .execute(&call, None)
            .await
            .map(|raw| OrderAck::from_raw(raw, call.answer_order_id))?;
        ack.client_order_id = order.client_order_id;
        Ok(ack)
    }

    /// Cancels an order (an idempotent write).
    pub async fn cancel_order(&self, cancel: &CancelRequest) -> Result<OrderAck> {
        let i = &self.inner;
        let call = i
            .venue
            .cancel(cancel)
            .ok_or_else(|| i.unsupported("orders"))?;
        i.execute(&call, None)
            .await
            .map(|raw| OrderAck::from_raw(raw, call.answer_order_id))
    }

    /// Sends any signed request: `path` below the base URL (no query: give parameters in
    /// `params`), retried as `class` allows, charged `weight` on the rate limiter.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        params: Params,
        class: RequestClass,
        weight: u32,
    ) -> Result<Value> {
        let method = checked_method(method)?;
        check_path(path)?;
        let call = Call::new(method, path, params).class(class).weight(weight);
        self.inner.execute(&call, None).await
    }
}

/// `method` as one of the methods a venue takes (compared without upper-casing into a new
/// String on every call), or [`Error::Config`].
pub(crate) fn checked_method(method: &str) -> Result<&'static str> {
    ["GET", "POST", "PUT", "DELETE", "PATCH"]
        .into_iter()
        .find(|m| m.eq_ignore_ascii_case(method))
        .ok_or_else(|| Error::config(format!("unsupported HTTP method {method:?}")))
}

/// A path below the base URL: it starts with `/` and carries no query, fragment or control
/// character (parameters go in [`Params`]).
pub(crate) fn check_path(path: &str) -> Result<()> {
    if !path.starts_with('/') || path.contains(['?', '#']) || path.chars().any(char::is_control) {
        return Err(Error::config(
            "the path must start with / and carry no query, fragment or control character; give parameters in Params",
        ));
    }
    Ok(())
}

impl Inner {
    pub(crate) fn signer(&self) -> Arc<Signer> {
        self.signer
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn unsupported(&self, what: &str) -> Error {
        Error::config(format!(
            "{} has no {what} endpoint; use RestClient::send",
            self.venue.name()
        ))
    }

    fn no_time(&self, endpoint: &str) -> Error {
        Error::Decode {
            venue: self.venue.scheme,
            endpoint: endpoint.to_owned(),
            reason: "the answer has no server time".into(),
        }
    }

    /// The venue's time from its public endpoint: one plain request, no retry. It goes through
    /// the rate limiter and the circuit breaker like any request to the venue: an open circuit
    /// stops clock probes too, and a probe's answer is evidence of the venue's health. (It used
    /// to say "no breaker" because the permit was taken before the limiter and held around the
    /// clock sync of the call; now the permit is taken right before each send, so a probe
    /// never nests inside another permit and cannot take a second half-open slot.)
    pub(crate) async fn fetch_server_time(&self) -> Result<u64> {
        let call = self
            .venue
            .time_call()
            .ok_or_else(|| self.unsupported("server time"))?;
        let answer = self.attempt_once(&call, &self.signer(), None).await?;
        self.venue
            .parse_time(&answer)
            .ok_or_else(|| self.no_time(&call.path))
    }

    /// One call, with retries as its class allows (with `keep`, each attempt that reads an
    /// answer of the venue leaves it there: see [`relay`]), inside its `keyward.request` span (see
    /// [`crate::observe`]).
    async fn execute(&self, call: &Call, keep: Option<&RawSlot>) -> Result<Value> {
        let span = crate::observe::request_span(self.venue.name(), call);
        let attempts = std::sync::atomic::AtomicU32::new(0);
        let result = self
            .execute_counted(call, keep, &attempts)
            .instrument(span.clone())
            .await;
        crate::observe::finish(&span, self.venue.name(), &result, attempts.into_inner());
        result
    }

    /// [`Self::execute`]'s work, counting attempts in `attempts`.
    async fn execute_counted(
        &self,
        call: &Call,
        keep: Option<&RawSlot>,
        attempts: &std::sync::atomic::AtomicU32,
    ) -> Result<Value> {
        self.take_rotation().await?;
        if call.signed && self.venue.uses_timestamps() {
            if let Err(e) = self.time.ensure(|| self.fetch_server_time()).await {
                // Not fatal: unsynced, a timestamp refusal resyncs later.
                tracing::warn!(venue = self.venue.name(), error = %e, "initial clock sync failed");
            }
        }
        let result = self
            .retry
            .retry(
                call.class,
                &*self.clock,
                &*self.sleep,
                || {
                    let n = attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    self.attempt(call, keep)
                        .instrument(crate::observe::attempt_span(n))
                },
                Error::failure_kind,
            )
            .await;
        result.map_err(|stop| {
            let attempts = stop.attempts();
            let last = stop.into_last();
            tracing::debug!(
                venue = self.venue.name(),
                endpoint = %call.path,
                attempts,
                kind = ?last.kind(),
                "call failed"
            );
            stages::settle(call, last, self.venue.scheme, self.endpoint(call))
        })
    }

    fn endpoint(&self, call: &Call) -> String {
        let mut endpoint = String::with_capacity(self.base.prefix.len() + call.path.len());
        endpoint.push_str(&self.base.prefix);
        endpoint.push_str(&call.path);
        endpoint
    }

    /// One attempt, plus the one re-send a refusal allows when it proves the request was not
    /// executed: after a clock resync (timestamp refused) or new credentials (auth refused and
    /// the store holds other credentials now).
    async fn attempt(&self, call: &Call, keep: Option<&RawSlot>) -> Result<Value> {
        let mut resynced = false;
        let mut reloaded = false;
        loop {
            let signer = self.signer();
            let epoch = self.time.epoch();
            match self.attempt_once(call, &signer, keep).await {
                Ok(value) => return Ok(value),
                Err(e)
                    if e.kind() == ErrorKind::Timestamp
                        && !resynced
                        && self.time.enabled()
                        && self.venue.time_path().is_some() =>
                {
                    resynced = true;
                    tracing::info!(
                        venue = self.venue.name(),
                        "timestamp refused; resyncing the clock"
                    );
                    self.time
                        .resync_after(epoch, || self.fetch_server_time())
                        .await?;
                }
                Err(e)
                    if e.kind() == ErrorKind::Authentication
                        && !reloaded
                        && self.source.reloadable() =>
                {
                    reloaded = true;
                    // Past any cache: it may still hold the refused credentials.
                    if !self.reload_credentials(true).await? {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Limiter → nonce order (and the nonce source's reserve) → encode and sign → build → breaker → send → headers → read →
    /// interpret → settle the permit. Everything before the breaker is local: a failure there
    /// (a rate-limit wait past the ceiling, a cost above a limit's capacity, signing, the
    /// nonce source, a request that cannot be built) says nothing about the venue, so it
    /// takes no permit: it neither counts as a venue failure nor holds a half-open trial slot.
    async fn attempt_once(
        &self,
        call: &Call,
        signer: &Signer,
        keep: Option<&RawSlot>,
    ) -> Result<Value> {
        let (venue, name) = (self.venue.scheme, self.venue.name());
        if let Some(slot) = keep {
            // An answer of an earlier attempt must not stand for this one's local failure.
            slot.clear();
        }
        {
            let _turn = self.limiter_turn.lock().await;
            stages::wait_for_limiter(self.limiter.as_ref(), venue, call, &*self.sleep).await?;
            #[cfg(feature = "redis")]
            if let Some(budget) = &self.shared {
                stages::wait_for_budget(budget, venue, call, &*self.sleep).await?;
            }
        }
        // Nonce venues: nonce order must equal arrival order (see crate::nonce_order).
        let _order = if call.signed && self.venue.uses_nonces() {
            let order = self.key_order.lock.lock().await;
            // A nonce source that leases over the network (Redis) takes its lease here, so
            // signing below draws without I/O; under the key's lock, no other call of this
            // process can take the nonce made ready. No lease, no request.
            self.nonces.reserve().await.map_err(|e| Error::Signing {
                venue,
                source: e.into(),
            })?;
            Some(order)
        } else {
            None
        };
        let encoding = self.venue.query_encoding();
        let mut request =
            stages::encode_and_sign(call, self.endpoint(call), encoding, signer, &self.options)?;
        for (name, value) in &self.headers {
            request.set_header(name, *value);
        }
        let (built, endpoint) = stages::build_http(&self.urls, &self.base, request)?;
        let permit = stages::take_permit(&self.breaker, venue)?;
        let (started, key) = (Instant::now(), KeyHint(signer.api_key()));
        let (response, permit) = stages::send(&self.http, built, permit, venue, &endpoint)
            .await
            .inspect_err(|error| {
                tracing::warn!(venue = name, method = call.method, endpoint = %endpoint, key = %key,
                    latency_ms = elapsed_ms(started), error = %error, "request failed");
            })?;
        let status = response.status().as_u16();
        crate::observe::status(status);
        let retry_after = stages::answer_headers(&response, self.limiter.as_ref(), venue);
        let relayed_head = keep.map(|_| relay::head(&response, self.venue));
        #[cfg(feature = "redis")]
        if let Some(budget) = &self.shared {
            stages::resync_budget(budget, &response).await;
        }
        let (bytes, permit) =
            stages::read(response, permit, MAX_RESPONSE_BODY, venue, &endpoint).await?;
        if let (Some(slot), Some(head)) = (keep, relayed_head) {
            slot.keep(head, &bytes);
        }
        tracing::debug!(venue = name, method = call.method, endpoint = %endpoint, status,
            latency_ms = elapsed_ms(started), key = %key, "response");
        let result = self
            .venue
            .interpret(&endpoint, status, retry_after, &bytes)
            .map_err(|e| e.without_key(signer.api_key()));
        stages::settle_permit(permit, &result);
        result
    }

    /// Reads the credentials again if a rotation notice named ours.
    pub(crate) async fn take_rotation(&self) -> Result<()> {
        let Some(name) = self.source.name() else {
            return Ok(());
        };
        let mut due = false;
        {
            let mut guard = self.rotation.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(rx) = guard.as_mut() {
                loop {
                    match rx.try_recv() {
                        Ok(changed) => due |= changed == name,
                        Err(broadcast::error::TryRecvError::Lagged(_)) => due = true,
                        Err(broadcast::error::TryRecvError::Empty) => break,
                        Err(broadcast::error::TryRecvError::Closed) => {
                            *guard = None;
                            break;
                        }
                    }
                }
            }
        }
        if due {
            self.reload_credentials(false).await?;
        }
        Ok(())
    }

    /// Reads the credentials again (from the store itself, past any cache, if `past_cache`);
    /// true if they changed (and the signer was replaced).
    async fn reload_credentials(&self, past_cache: bool) -> Result<bool> {
        let fresh = if past_cache {
            self.source.load_fresh().await?
        } else {
            self.source.load().await?
        };
        self.install_credentials(fresh)
    }

    /// Signs with `fresh` from now on if they differ from the credentials in use; true if so.
    pub(crate) fn install_credentials(&self, fresh: keyward_signing::Credentials) -> Result<bool> {
        let changed = differ(
            &self.creds.read().unwrap_or_else(PoisonError::into_inner),
            &fresh,
        );
        if !changed {
            return Ok(false);
        }
        let signer = build_signer(self.venue.scheme, &fresh, &self.time, &self.nonces)?;
        *self.signer.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(signer);
        tracing::info!(venue = self.venue.name(), key = %KeyHint(fresh.api_key()), "credentials reloaded");
        *self.creds.write().unwrap_or_else(PoisonError::into_inner) = fresh;
        Ok(true)
    }
}

/// A signer on the synced clock and the client's nonce source.
pub(crate) fn build_signer(
    scheme: Scheme,
    creds: &keyward_signing::Credentials,
    time: &TimeSync,
    nonces: &Arc<dyn NonceSource>,
) -> Result<Signer> {
    Ok(Signer::new(scheme, creds)
        .map_err(|e| Error::config_from(format!("the credentials cannot sign for {scheme}"), e))?
        .with_clock(time.clock())
        .with_nonces(nonces.clone()))
}

/// Milliseconds since `started`, for logs.
fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use keyward_resilience::limiter::Limit;
    use keyward_resilience::{ManualClock, ManualSleep};
    use keyward_signing::Credentials;

    use super::*;
    use crate::params::Params;

    /// The limiter stage comes before the breaker: a wait past the ceiling fails the call
    /// unsent, and the breaker never hears of it (no permit taken, none refused).
    #[tokio::test]
    async fn a_limiter_refusal_takes_no_breaker_permit() {
        let clock = Arc::new(ManualClock::new());
        let client = RestClient::builder(Scheme::KeywardV1, "http://127.0.0.1:9/svc/keyward-v1")
            .credentials(Credentials::new("key-1", "secret".into()))
            .rate_limits(vec![Limit::new(
                "weight/1h",
                "weight",
                1,
                Duration::from_secs(3600),
            )])
            .max_rate_limit_wait(Duration::from_secs(1))
            .clock(clock.clone())
            .sleep(Arc::new(ManualSleep::new(clock)))
            .build()
            .await
            .unwrap();
        let limiter = client.inner.limiter.as_ref().unwrap();
        limiter
            .until_ready(
                &Scheme::KeywardV1.name(),
                &[("weight", 1)],
                &*client.inner.sleep,
            )
            .await
            .unwrap();
        let err = client
            .send("GET", "/a", Params::None, RequestClass::Read, 1)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimitWait, "{err}");
        let m = client.breaker().metrics();
        assert_eq!(
            (m.buffered_calls, m.not_permitted_calls, m.cancelled_calls),
            (0, 0, 0)
        );
    }
}
