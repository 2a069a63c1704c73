//! What every request meets before its handler: the hit counter, injected faults and the rate
//! limit (with the venue's usage headers on the answer).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use keyward_signing::Clock;
use serde_json::json;

use crate::faults::{FaultControl, Injected};
use crate::hits::Hits;
use crate::ratelimit::RateLimits;
use crate::reply;
use crate::venues::VenueCtx;

/// What every listener shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) faults: Arc<FaultControl>,
    pub(crate) hits: Hits,
    pub(crate) limits: RateLimits,
    /// Whether requests count their venue's weight (else 1).
    pub(crate) request_weights: bool,
}

/// The guard of one listener: a venue's, or the service schemes' (no venue context).
pub(crate) struct Guard {
    pub(crate) shared: Arc<Shared>,
    pub(crate) venue: Option<Arc<VenueCtx>>,
}

impl Guard {
    /// The venue or service scheme a request to `path` is for.
    fn name_of(&self, path: &str) -> String {
        match &self.venue {
            Some(ctx) => ctx.rules.name().to_owned(),
            None => path
                .strip_prefix("/svc/")
                .and_then(|rest| rest.split('/').next())
                .unwrap_or("svc")
                .to_owned(),
        }
    }
}

/// The 429 of `venue` (or of the service schemes) with `Retry-After`.
fn too_many(venue: Option<&VenueCtx>, retry_after_s: u64) -> Response {
    let body = match venue {
        Some(ctx) => ctx.rules.too_many(),
        None => reply::json(429, json!({"error": "rate_limited"})),
    };
    reply::retry_after(body, retry_after_s)
}

/// The middleware: [`checks`], and the answer counted (crate::observe).
pub(crate) async fn guard(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let name = g.name_of(req.uri().path());
    let response = checks(&g, &name, req, next).await;
    crate::observe::answered(&name, response.status().as_u16());
    response
}

/// Hits, injected faults and the rate limit, then the handler.
async fn checks(g: &Guard, name: &str, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let method = req.method().as_str().to_owned();
    let name = name.to_owned();
    let faults = &g.shared.faults;
    g.shared.hits.record(&name, &method, &path);
    let latency = faults.latency_ms(&name);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    match faults.on_request(&name) {
        Injected::Pass => {}
        Injected::Unavailable => {
            return reply::json(
                503,
                json!({"error": "service unavailable (injected fault)"}),
            );
        }
        Injected::Internal => {
            return reply::json(500, json!({"error": "internal error (injected fault)"}));
        }
        Injected::TooMany(secs) => return too_many(g.venue.as_deref(), secs),
    }
    let Some(ctx) = &g.venue else {
        return next.run(req).await;
    };
    let order = ctx
        .rules
        .endpoint(&method, &path)
        .is_some_and(|e| e.is_order());
    let weight = if g.shared.request_weights {
        ctx.rules.weight(ctx.rules.endpoint(&method, &path))
    } else {
        1
    };
    let usage = match g
        .shared
        .limits
        .count(&name, weight, order, ctx.clock.now_ms())
        .await
    {
        Ok(usage) => usage,
        // The replicas' shared account cannot be reached: not served uncounted.
        Err(reason) => {
            return reply::json(
                503,
                json!({"error": format!("shared rate-limit state unavailable: {reason}")}),
            );
        }
    };
    let mut response = if usage.exceeded() {
        let secs = faults.retry_after_s(&name).unwrap_or(usage.reset_s);
        too_many(Some(ctx), secs)
    } else {
        next.run(req).await
    };
    ctx.rules.usage_headers(&usage, order, &mut response);
    response
}
