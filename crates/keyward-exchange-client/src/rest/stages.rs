//! The stages of one attempt, in the order [`Inner::attempt_once`](super::Inner) runs them:
//! wait for the rate limiter, encode and sign, build the HTTP request, take a breaker permit,
//! send, read what the headers say (Retry-After, the venue's usage), read the body within its
//! ceiling, and settle the permit by the venue's answer. After the retries,
//! [`settle`] turns the last failure of a write that may have been executed into
//! [`Error::UnknownOutcome`]. Each stage is a function of what it needs, tested alone below.

use std::time::{Duration, SystemTime};

use keyward_resilience::breaker::OwnedPermit;
use keyward_resilience::limiter::RateLimiter;
use keyward_resilience::{CircuitBreaker, RequestClass, Sleep, parse_retry_after};
use keyward_signing::{QueryEncoding, Request, Scheme, SignOptions, Signer};
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;

use super::PathUrls;
use crate::body_limit::{BodyError, read_capped};
use crate::error::{Error, ErrorKind, Result};
use crate::url_policy::BaseUrl;
use crate::venue::Call;

/// Waits for the client's rate limiter (keyed by the venue's name) to admit the call's costs.
/// A wait past the limiter's ceiling is [`Error::RateLimitWait`], at once and unsent; a cost
/// the limits can never admit is [`Error::Config`]. No breaker permit is involved yet.
pub(super) async fn wait_for_limiter(
    limiter: Option<&RateLimiter<&'static str>>,
    venue: Scheme,
    call: &Call,
    sleep: &dyn Sleep,
) -> Result<()> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    limiter
        .until_ready(&venue.name(), &call.costs(), sleep)
        .await
        .map_err(|e| limit_error(venue, e))
}

/// A refusal of the rate limiter or the shared budget as the client's error: a wait past the
/// ceiling is [`Error::RateLimitWait`]; anything else (a cost the limits can never admit, bad
/// data in the budget's Redis keys) is [`Error::Config`].
fn limit_error(venue: Scheme, error: keyward_resilience::Error) -> Error {
    match error {
        keyward_resilience::Error::RateLimited { limit, wait } => {
            Error::RateLimitWait { venue, limit, wait }
        }
        keyward_resilience::Error::SharedBudget(_) => {
            Error::config_from("the fleet's shared rate budget cannot be used", error)
        }
        other => Error::config_from("the call's cost does not fit the rate limits", other),
    }
}

/// Waits for the fleet's shared budget (feature `redis`) to admit the call's costs in every
/// scope, with [`wait_for_limiter`]'s errors: a wait past the ceiling is
/// [`Error::RateLimitWait`]; a cost the limits can never admit, or bad data in the budget's
/// Redis keys, is [`Error::Config`]. Redis unreachable is no error: the budget decides on its
/// local share (see [`SharedBudget`](crate::fleet::SharedBudget)).
#[cfg(feature = "redis")]
pub(super) async fn wait_for_budget(
    budget: &crate::fleet::FleetBudget,
    venue: Scheme,
    call: &Call,
    sleep: &dyn Sleep,
) -> Result<()> {
    budget
        .until_ready(&call.costs(), sleep)
        .await
        .map_err(|e| limit_error(venue, e))
}

/// Gives the answer's usage headers to the fleet's shared budget (feature `redis`), so every
/// process of the fleet sees the venue's count.
#[cfg(feature = "redis")]
pub(super) async fn resync_budget(
    budget: &crate::fleet::FleetBudget,
    response: &reqwest::Response,
) {
    let headers: Vec<(&str, &str)> = response
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
    budget.resync(&headers).await;
}

/// The request to send: the call's parameters encoded as the venue reads them (query or
/// body, with its content type), at `endpoint`, signed with `signer` when the call is signed.
pub(super) fn encode_and_sign(
    call: &Call,
    endpoint: String,
    encoding: QueryEncoding,
    signer: &Signer,
    options: &SignOptions,
) -> Result<Request> {
    let (query, body, content_type) = call.params.encode(encoding);
    let mut request = Request::new(call.method, endpoint)
        .with_query(query)
        .with_body(body);
    if let Some(ct) = content_type {
        request.set_header("Content-Type", ct);
    }
    if !call.signed {
        return Ok(request);
    }
    signer.sign(request, options).map_err(|e| Error::Signing {
        venue: signer.scheme(),
        source: e.into(),
    })
}

/// The HTTP request for `request` below `base`, its URL from `urls`, and the request's path
/// (moved out, not copied: errors and logs name the endpoint by it). A request that cannot be
/// built (a header value the credentials made invalid) is never sent: it is a configuration
/// error, not a request that may have been executed.
///
/// Built as a `reqwest::Request` directly rather than through the client's request builder,
/// which would clone the client, look for a login in the URL (a base URL never has one) and
/// copy each header value: the same request, with each header appended as the builder
/// appends it.
pub(super) fn build_http(
    urls: &PathUrls,
    base: &BaseUrl,
    mut request: Request,
) -> Result<(reqwest::Request, String)> {
    let url = urls.request_url(base, &request.path, &request.query);
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|_| Error::config("invalid HTTP method"))?;
    let mut http = reqwest::Request::new(method, url);
    let headers = http.headers_mut();
    for (name, value) in &request.headers {
        let name = HeaderName::from_bytes(name.as_bytes());
        let value = HeaderValue::from_str(value);
        let (Ok(name), Ok(value)) = (name, value) else {
            return Err(unbuildable(&request.path));
        };
        headers.append(name, value);
    }
    let body = std::mem::take(&mut request.body);
    if !body.is_empty() {
        *http.body_mut() = Some(body.into());
    }
    Ok((http, request.path))
}

fn unbuildable(endpoint: &str) -> Error {
    Error::config(format!(
        "the request to {endpoint} could not be built; check the API key for control characters"
    ))
}

/// A permit of the venue's circuit breaker, or [`Error::CircuitOpen`].
pub(super) fn take_permit(breaker: &CircuitBreaker, venue: Scheme) -> Result<OwnedPermit> {
    breaker.try_acquire_owned().map_err(|e| match e {
        keyward_resilience::Error::CircuitOpen { retry_after, .. } => {
            Error::CircuitOpen { venue, retry_after }
        }
        _ => Error::CircuitOpen {
            venue,
            retry_after: None,
        },
    })
}

/// Sends the request. On a failure the permit is settled here: ignored for a request the HTTP
/// client refused to build (nothing left), a failure for the venue otherwise.
pub(super) async fn send(
    http: &reqwest::Client,
    request: reqwest::Request,
    permit: OwnedPermit,
    venue: Scheme,
    endpoint: &str,
) -> Result<(reqwest::Response, OwnedPermit)> {
    match http.execute(request).await {
        Ok(response) => Ok((response, permit)),
        Err(e) if e.is_builder() => {
            permit.ignore();
            Err(unbuildable(endpoint))
        }
        Err(e) => {
            permit.failure();
            Err(transport_error(venue, endpoint, &e))
        }
    }
}

/// What the answer's headers say: the venue's `Retry-After`, returned, and its usage headers,
/// given to the rate limiter to resync its count.
pub(super) fn answer_headers(
    response: &reqwest::Response,
    limiter: Option<&RateLimiter<&'static str>>,
    venue: Scheme,
) -> Option<Duration> {
    let headers = response.headers();
    if let Some(limiter) = limiter {
        limiter.resync(
            &venue.name(),
            headers
                .iter()
                .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?))),
        );
    }
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
}

/// Reads the body, at most `limit` bytes. A failure is one for the venue (the permit is
/// settled so): a larger body is [`Error::Decode`], a broken connection a transport error.
pub(super) async fn read(
    response: reqwest::Response,
    permit: OwnedPermit,
    limit: usize,
    venue: Scheme,
    endpoint: &str,
) -> Result<(Vec<u8>, OwnedPermit)> {
    match read_capped(response, limit).await {
        Ok(bytes) => Ok((bytes, permit)),
        Err(BodyError::Transport(e)) => {
            permit.failure();
            Err(transport_error(venue, endpoint, &e))
        }
        Err(BodyError::TooLarge { limit }) => {
            permit.failure();
            Err(Error::Decode {
                venue,
                endpoint: endpoint.to_owned(),
                reason: format!("the answer is larger than the {} MiB limit", limit >> 20),
            })
        }
    }
}

/// Settles the permit by the venue's answer: a server error or a status that is no answer
/// counts against the venue, a rate limit is neither for nor against it, anything else (a
/// success, or a refusal the venue gave while healthy) counts for it.
pub(super) fn settle_permit(permit: OwnedPermit, result: &Result<Value>) {
    match result.as_ref().map_err(Error::kind) {
        Err(ErrorKind::Server | ErrorKind::UnexpectedStatus) => permit.failure(),
        Err(ErrorKind::RateLimited) => permit.ignore(),
        _ => permit.success(),
    }
}

/// A transport failure, without the URL (it may hold a signature) but with its causes.
pub(super) fn transport_error(venue: Scheme, endpoint: &str, e: &reqwest::Error) -> Error {
    if e.is_timeout() {
        return Error::Timeout {
            venue,
            endpoint: endpoint.to_owned(),
        };
    }
    let mut reason = e.to_string();
    if let Some(url) = e.url() {
        reason = reason.replace(url.as_str(), "<url>");
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        source = s.source();
    }
    Error::Transport {
        venue,
        endpoint: endpoint.to_owned(),
        connect: e.is_connect(),
        reason,
    }
}

/// The error a call ends with after its retries: the last failure of a non-idempotent write
/// that may have been executed becomes [`Error::UnknownOutcome`]; anything else stays.
pub(super) fn settle(call: &Call, last: Error, venue: Scheme, endpoint: String) -> Error {
    if call.class != RequestClass::NonIdempotentWrite || last.failure_kind().never_executed() {
        return last;
    }
    let reason = match &last {
        Error::Venue {
            kind: ErrorKind::Server,
            detail,
            ..
        } => format!("the venue answered HTTP {}", detail.status),
        Error::Timeout { .. } => "no answer in time".to_owned(),
        Error::Transport {
            connect: false,
            reason,
            ..
        } => format!("the connection failed after sending: {reason}"),
        Error::UnexpectedStatus { status, .. } => {
            format!("the venue answered HTTP {status}, which is not a success")
        }
        Error::Decode { reason, .. } => format!("the answer could not be read: {reason}"),
        _ => return last,
    };
    Error::UnknownOutcome {
        venue,
        method: call.method.to_owned(),
        endpoint,
        reason,
        client_order_id: call.client_order_id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use keyward_resilience::limiter::Limit;
    use keyward_resilience::{BreakerConfig, ManualClock, ManualSleep};
    use keyward_signing::{Credentials, FixedClock};

    use super::*;
    use crate::error::VenueDetail;
    use crate::params::Params;

    fn signer(scheme: Scheme) -> Signer {
        Signer::new(scheme, &Credentials::new("key-1", "secret-1".into()))
            .unwrap()
            .with_clock(Arc::new(FixedClock::new(1_700_000_000_000)))
    }

    #[test]
    fn encode_and_sign_builds_the_venue_request() {
        let params = Params::query([("symbol", "BTCUSDT"), ("side", "BUY")]);
        let call = Call::new("POST", "/api/v3/order", params.clone());
        let signer = signer(Scheme::Binance);
        let options = SignOptions::default();
        let request = encode_and_sign(
            &call,
            "/api/v3/order".into(),
            QueryEncoding::Rfc3986,
            &signer,
            &options,
        )
        .unwrap();
        // The same request encoded and signed by hand: the stage adds nothing else.
        let (query, body, _) = params.encode(QueryEncoding::Rfc3986);
        let by_hand = signer
            .sign(
                Request::new("POST", "/api/v3/order")
                    .with_query(query)
                    .with_body(body),
                &options,
            )
            .unwrap();
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/api/v3/order");
        assert_eq!(request.query, by_hand.query);
        assert!(
            request.query.starts_with("symbol=BTCUSDT&side=BUY&"),
            "{}",
            request.query
        );
        assert!(
            request.query.contains("timestamp=1700000000000"),
            "{}",
            request.query
        );
        assert!(request.query.contains("&signature="), "{}", request.query);
        assert!(
            request
                .headers
                .iter()
                .any(|(n, v)| n == "X-MBX-APIKEY" && v == "key-1")
        );
        // A public call is encoded, not signed.
        let mut public = Call::new("GET", "/api/v3/time", Params::None);
        public.signed = false;
        let request = encode_and_sign(
            &public,
            "/prefix/api/v3/time".into(),
            QueryEncoding::Rfc3986,
            &signer,
            &options,
        )
        .unwrap();
        assert_eq!(request.path, "/prefix/api/v3/time");
        assert!(request.query.is_empty() && request.headers.is_empty());
    }

    #[tokio::test]
    async fn a_limiter_wait_past_the_ceiling_is_rate_limit_wait_and_takes_no_permit() {
        let clock = Arc::new(ManualClock::new());
        let limiter = RateLimiter::new(
            vec![Limit::new(
                "weight/1h",
                "weight",
                1,
                Duration::from_secs(3600),
            )],
            clock.clone(),
        )
        .unwrap()
        .with_max_wait(Duration::from_secs(1));
        let sleep = ManualSleep::new(clock);
        let call = Call::new("GET", "/x", Params::None);
        wait_for_limiter(Some(&limiter), Scheme::Binance, &call, &sleep)
            .await
            .unwrap();
        let err = wait_for_limiter(Some(&limiter), Scheme::Binance, &call, &sleep)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::RateLimitWait { venue: Scheme::Binance, limit, wait }
                if limit == "weight/1h" && *wait > Duration::from_secs(1)),
            "{err:?}"
        );
        // The stage has no breaker to touch; through the client, the permit comes after it.
        assert_eq!(err.kind(), ErrorKind::RateLimitWait);
        wait_for_limiter(None, Scheme::Binance, &call, &sleep)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_body_past_the_ceiling_is_decode_and_counts_against_the_venue() {
        let breaker = CircuitBreaker::new("t", BreakerConfig::default());
        let permit = take_permit(&breaker, Scheme::Okx).unwrap();
        let response = answer_with(vec![b'x'; 2 << 20]).await;
        let err = read(response, permit, 1 << 20, Scheme::Okx, "/api/v5/x")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Decode { venue: Scheme::Okx, endpoint, reason }
                if endpoint == "/api/v5/x" && reason.contains("1 MiB")),
            "{err:?}"
        );
        assert_eq!(breaker.metrics().failed_calls, 1);
        let permit = take_permit(&breaker, Scheme::Okx).unwrap();
        let response = answer_with(b"{}".to_vec()).await;
        let (bytes, permit) = read(response, permit, 1 << 20, Scheme::Okx, "/x")
            .await
            .unwrap();
        assert_eq!(bytes, b"{}");
        settle_permit(permit, &Ok(Value::Null));
        assert_eq!(breaker.metrics().successful_calls, 1);
    }

    /// A 200 answer with `body`, from a one-shot loopback server.
    async fn answer_with(body: Vec<u8>) -> reqwest::Response {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let head =
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n";
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(&body).await;
        });
        reqwest::get(format!("http://{addr}/")).await.unwrap()
    }

    #[test]
    fn settle_turns_a_5xx_of_an_order_into_unknown_outcome_and_leaves_reads_alone() {
        let server = || {
            Error::refused(
                ErrorKind::Server,
                Scheme::Bybit,
                VenueDetail::new(503, None, "busy"),
                None,
            )
        };
        let mut order = Call::new("POST", "/v5/order/create", Params::None)
            .class(RequestClass::NonIdempotentWrite);
        order.client_order_id = Some("cid-1".into());
        let err = settle(&order, server(), Scheme::Bybit, "/v5/order/create".into());
        assert!(
            matches!(&err, Error::UnknownOutcome { venue: Scheme::Bybit, method, endpoint, reason, client_order_id }
                if method == "POST" && endpoint == "/v5/order/create"
                    && reason == "the venue answered HTTP 503"
                    && client_order_id.as_deref() == Some("cid-1")),
            "{err:?}"
        );
        // A read keeps its error; so does a write the venue provably never executed.
        let read = Call::new("GET", "/v5/x", Params::None);
        assert_eq!(
            settle(&read, server(), Scheme::Bybit, "/v5/x".into()).kind(),
            ErrorKind::Server
        );
        let refused = Error::Transport {
            venue: Scheme::Bybit,
            endpoint: "/v5/order/create".into(),
            connect: true,
            reason: "refused".into(),
        };
        assert_eq!(
            settle(&order, refused, Scheme::Bybit, "/v5/order/create".into()).kind(),
            ErrorKind::Transport
        );
    }

    #[test]
    fn the_permit_is_settled_by_the_answer() {
        let breaker = CircuitBreaker::new("t", BreakerConfig::default());
        let refusal = |kind| {
            Err(Error::refused(
                kind,
                Scheme::Okx,
                VenueDetail::new(400, None, ""),
                None,
            ))
        };
        settle_permit(
            take_permit(&breaker, Scheme::Okx).unwrap(),
            &refusal(ErrorKind::Server),
        );
        settle_permit(
            take_permit(&breaker, Scheme::Okx).unwrap(),
            &refusal(ErrorKind::RateLimited),
        );
        settle_permit(
            take_permit(&breaker, Scheme::Okx).unwrap(),
            &refusal(ErrorKind::Authentication),
        );
        let m = breaker.metrics();
        assert_eq!((m.failed_calls, m.successful_calls), (1, 1));
    }
}
