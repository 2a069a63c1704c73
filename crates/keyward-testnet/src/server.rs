//! [`Testnet`]: starting the listeners, and what tests ask of a running testnet.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use keyward_signing::Scheme;
use keyward_signing::verify::{StaticKeys, Verifier, Window};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::broker_credentials::BrokerCredentials;
use crate::clock::VenueClock;
use crate::config::TestnetConfig;
use crate::credentials::VenueCredentials;
use crate::error::{Error, Result};
use crate::faults::FaultControl;
use crate::guard::{Guard, Shared, guard};
use crate::hits::Hits;
use crate::keys::VenueKey;
use crate::ratelimit::RateLimits;
use crate::repeats::WindowOnly;
use crate::venues::{VenueCtx, rest, rules};
use crate::{SERVICE_SCHEMES, VENUES, admin, brokers, svc, ws};

/// A running testnet: one listener per venue, one for the service schemes, one per broker
/// (the Upstox login flow, the IBKR-shaped gateway), one for admin.
/// Dropping it stops the listeners too; [`Testnet::shutdown`] also waits for them.
pub struct Testnet {
    urls: BTreeMap<String, String>,
    credentials: BTreeMap<String, VenueCredentials>,
    broker_credentials: BTreeMap<String, BrokerCredentials>,
    public_keys: Vec<VenueKey>,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// The loopback address for `host`, or the typed refusal.
fn loopback(host: &str) -> Result<IpAddr> {
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    let trimmed = host.trim_start_matches('[').trim_end_matches(']');
    match trimmed.parse::<IpAddr>() {
        Ok(ip) if ip.is_loopback() => Ok(ip),
        _ => Err(Error::NonLoopbackHost {
            host: host.to_owned(),
        }),
    }
}

pub(crate) async fn bind(ip: IpAddr) -> Result<(TcpListener, String)> {
    let listener = TcpListener::bind(SocketAddr::new(ip, 0))
        .await
        .map_err(|source| Error::Bind {
            addr: ip.to_string(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Bind {
        addr: ip.to_string(),
        source,
    })?;
    Ok((listener, format!("http://{addr}")))
}

/// The rate-limit accounting: in this process, or the replicas' shared account.
fn rate_limits(config: &TestnetConfig) -> RateLimits {
    let limits = RateLimits::new(config.rate_limit, config.venue_rate_limits.clone());
    #[cfg(feature = "redis")]
    let limits = limits.shared(config.shared_state.clone());
    limits
}

/// Every credential, given or generated, checked against its venue.
fn credentials(given: &[VenueCredentials]) -> Result<BTreeMap<String, VenueCredentials>> {
    let names: Vec<&str> = VENUES
        .iter()
        .chain(SERVICE_SCHEMES.iter())
        .copied()
        .collect();
    let mut out = BTreeMap::new();
    for c in given {
        if !names.contains(&c.venue.as_str()) {
            return Err(Error::UnknownVenue {
                name: c.venue.clone(),
                known: names.join(", "),
            });
        }
        out.insert(c.venue.clone(), c.clone());
    }
    for name in names {
        if !out.contains_key(name) {
            out.insert(name.to_owned(), VenueCredentials::generate(name)?);
        }
    }
    for (name, c) in &out {
        let scheme: Scheme = name.parse().map_err(|_| Error::UnknownVenue {
            name: name.clone(),
            known: String::new(),
        })?;
        c.check(scheme)?;
    }
    Ok(out)
}

/// Every public key given, checked: a served venue that accepts its kind, and an API key no
/// other credential of the venue uses.
fn public_keys(
    given: &[VenueKey],
    credentials: &BTreeMap<String, VenueCredentials>,
) -> Result<Vec<VenueKey>> {
    let mut seen: Vec<(&str, &str)> = credentials
        .values()
        .map(|c| (c.venue.as_str(), c.key_id()))
        .collect();
    for key in given {
        key.check()?;
        if seen.contains(&(key.venue.as_str(), key.api_key.as_str())) {
            return Err(Error::DuplicateApiKey {
                venue: key.venue.clone(),
                api_key: format!("{}…", key.api_key.chars().take(4).collect::<String>()),
            });
        }
        seen.push((&key.venue, &key.api_key));
    }
    Ok(given.to_vec())
}

/// What every listener's router shares, made from a config before any listener is bound.
struct Parts {
    credentials: BTreeMap<String, VenueCredentials>,
    broker_credentials: BTreeMap<String, BrokerCredentials>,
    public_keys: Vec<VenueKey>,
    faults: Arc<FaultControl>,
    shared: Arc<Shared>,
    clock: Arc<dyn keyward_signing::Clock>,
}

impl Parts {
    /// The credentials, keys, faults and accounting `config` asks for, checked.
    fn new(config: &TestnetConfig) -> Result<Self> {
        let credentials = credentials(&config.credentials)?;
        let broker_credentials = crate::brokers::credentials(&config.broker_credentials)?;
        let public_keys = public_keys(&config.public_keys, &credentials)?;
        let faults = Arc::new(FaultControl::new());
        faults.apply(&config.faults);
        let shared = Arc::new(Shared {
            faults: faults.clone(),
            hits: Hits::default(),
            limits: rate_limits(config),
            request_weights: config.request_weights,
        });
        Ok(Self {
            credentials,
            broker_credentials,
            public_keys,
            faults,
            shared,
            clock: config.clock.clone(),
        })
    }

    /// The keys `name` verifies with: its credential's and the public keys given for it.
    fn keys_of(&self, name: &str) -> Arc<StaticKeys> {
        let mut keys = self
            .credentials
            .get(name)
            .map(|c| StaticKeys::new().with(c.to_signing()))
            .unwrap_or_default();
        for key in self.public_keys.iter().filter(|k| k.venue == name) {
            keys = keys.with(key.to_verifying());
        }
        Arc::new(keys)
    }

    /// `name`'s clock: the configured one, moved by that venue's clock-skew fault.
    fn clock_of(&self, name: &str) -> VenueClock {
        VenueClock {
            venue: name.to_owned(),
            faults: self.faults.clone(),
            base: self.clock.clone(),
        }
    }

    /// The router of the venue `name` (None for a name with no testnet rules).
    fn venue_router(&self, name: &str) -> Option<Router> {
        let rules = rules(name)?;
        let clock = self.clock_of(name);
        let verifier = Verifier::new(rules.scheme(), self.keys_of(name))
            .with_clock(Arc::new(clock.clone()))
            .with_cache(Arc::new(WindowOnly));
        let ctx = Arc::new(VenueCtx::new(rules, verifier, clock));
        let g = Arc::new(Guard {
            shared: self.shared.clone(),
            venue: Some(ctx.clone()),
        });
        let mut router = Router::new();
        for path in std::iter::once("/ws").chain(rules.ws_paths().iter().copied()) {
            router = router.route(
                path,
                get(ws::venue_ws).with_state((ctx.clone(), self.faults.clone())),
            );
        }
        Some(
            router
                .fallback(rest)
                .with_state(ctx)
                .layer(axum::middleware::from_fn_with_state(g, guard)),
        )
    }

    /// The service schemes' router, served at `base` (the `hmac-newline-v0` verifier checks
    /// that its requests were signed for that origin).
    fn svc_router(&self, base: &str, config: &TestnetConfig) -> Result<Router> {
        let mut verifiers = HashMap::new();
        for name in SERVICE_SCHEMES {
            let scheme: Scheme = name.parse().map_err(|_| Error::UnknownVenue {
                name: name.to_owned(),
                known: String::new(),
            })?;
            let mut verifier = Verifier::new(scheme, self.keys_of(name))
                .with_clock(Arc::new(self.clock_of(name)))
                .with_window(Window::DEFAULT);
            if let Some(cache) = &config.replay_cache {
                verifier = verifier.with_cache(cache.clone());
            }
            if scheme == Scheme::HmacNewlineV0 {
                verifier = verifier
                    .with_origins([base.to_owned()])
                    .with_signed_headers(config.signed_headers.clone());
            }
            verifiers.insert(name.to_owned(), verifier);
        }
        let svc_state = Arc::new(svc::Svc {
            verifiers,
            faults: self.faults.clone(),
        });
        let g = Arc::new(Guard {
            shared: self.shared.clone(),
            venue: None,
        });
        Ok(Router::new()
            .route("/svc/{scheme}/ws", get(svc::ws))
            .fallback(svc::http)
            .with_state(svc_state)
            .layer(axum::middleware::from_fn_with_state(g, guard)))
    }

    /// The IBKR-shaped gateway's router.
    fn ibkr_router(&self) -> Router {
        brokers::ibkr::router(self.shared.clone(), self.clock_of(brokers::ibkr::NAME))
    }

    /// The admin listener's router (`/faults`).
    fn admin_router(&self) -> Router {
        Router::new()
            .route("/faults", post(admin::set).delete(admin::clear))
            .with_state(self.faults.clone())
    }
}

/// Every router a testnet serves, by the names [`Testnet::url`] takes (the service schemes
/// under `svc`), built from `config` without binding any listener, and the fault control
/// they share: what the fuzz target `testnet` pushes requests through. Listeners that need
/// their own URL are given `http://127.0.0.1:1`.
#[cfg(feature = "fuzzing")]
pub(crate) async fn routers(
    config: TestnetConfig,
) -> Result<(Vec<(String, Router)>, Arc<FaultControl>)> {
    const BASE: &str = "http://127.0.0.1:1";
    let parts = Parts::new(&config)?;
    let mut routers: Vec<(String, Router)> = VENUES
        .iter()
        .filter_map(|name| Some(((*name).to_owned(), parts.venue_router(name)?)))
        .collect();
    routers.push(("svc".to_owned(), parts.svc_router(BASE, &config)?));
    routers.push((brokers::ibkr::NAME.to_owned(), parts.ibkr_router()));
    if let Some(creds) = parts.broker_credentials.get(brokers::upstox::NAME) {
        let account = brokers::upstox::account(creds, &config).await?;
        let router = brokers::upstox::router(
            creds,
            BASE,
            &parts.shared,
            parts.clock_of(brokers::upstox::NAME),
            account,
        )?;
        routers.push((brokers::upstox::NAME.to_owned(), router));
    }
    routers.push(("admin".to_owned(), parts.admin_router()));
    Ok((routers, parts.faults))
}

impl Testnet {
    /// Starts every listener on `config.host` (loopback only), each on a free port.
    pub async fn start(config: TestnetConfig) -> Result<Self> {
        let ip = loopback(&config.host)?;
        let parts = Parts::new(&config)?;
        let (stop, _) = watch::channel(false);
        let mut urls = BTreeMap::new();
        let mut tasks = Vec::new();

        for name in VENUES {
            let Some(router) = parts.venue_router(name) else {
                continue;
            };
            let (listener, url) = bind(ip).await?;
            tasks.push(serve(listener, router, stop.subscribe()));
            urls.insert(name.to_owned(), url);
        }

        let (listener, base) = bind(ip).await?;
        let router = parts.svc_router(&base, &config)?;
        for name in SERVICE_SCHEMES {
            urls.insert(name.to_owned(), format!("{base}/svc/{name}"));
        }
        tasks.push(serve(listener, router, stop.subscribe()));

        let (listener, url) = bind(ip).await?;
        tasks.push(serve(listener, parts.ibkr_router(), stop.subscribe()));
        urls.insert(brokers::ibkr::NAME.to_owned(), url);
        for (name, url, task) in crate::brokers::start(
            ip,
            &parts.shared,
            &parts.broker_credentials,
            &stop,
            parts.clock_of("upstox"),
            &config,
        )
        .await?
        {
            tasks.push(task);
            urls.insert(name, url);
        }

        let (listener, admin_url) = bind(ip).await?;
        tasks.push(serve(listener, parts.admin_router(), stop.subscribe()));
        urls.insert("admin".to_owned(), admin_url);

        let Parts {
            credentials,
            broker_credentials,
            public_keys,
            shared,
            ..
        } = parts;
        Ok(Self {
            urls,
            credentials,
            broker_credentials,
            public_keys,
            shared,
            stop,
            tasks,
        })
    }

    /// The base URL of a venue, a service scheme (`.../svc/<scheme>`), a broker (`upstox`,
    /// `ibkr`) or `admin`.
    pub fn url(&self, name: &str) -> Option<&str> {
        self.urls.get(name).map(String::as_str)
    }

    /// Every base URL by name: what `keyward testnet serve` prints.
    pub fn urls(&self) -> &BTreeMap<String, String> {
        &self.urls
    }

    /// The credentials a venue or scheme accepts (generated when none were given).
    pub fn credentials(&self, name: &str) -> Option<&VenueCredentials> {
        self.credentials.get(name)
    }

    /// The login credentials a broker flow (`upstox`) accepts (generated when none were given).
    pub fn broker_credentials(&self, name: &str) -> Option<&BrokerCredentials> {
        self.broker_credentials.get(name)
    }

    /// Every broker login credential in use.
    pub fn all_broker_credentials(&self) -> impl Iterator<Item = &BrokerCredentials> {
        self.broker_credentials.values()
    }

    /// Every credential in use, by venue or scheme.
    pub fn all_credentials(&self) -> impl Iterator<Item = &VenueCredentials> {
        self.credentials.values()
    }

    /// The public keys the venues accept besides their HMAC credentials, as given.
    pub fn public_keys(&self) -> &[VenueKey] {
        &self.public_keys
    }

    /// Changes faults at run time.
    pub fn faults(&self) -> &FaultControl {
        &self.shared.faults
    }

    /// Requests received at `method` `path` of `venue` (a venue or service scheme name).
    pub fn hits(&self, venue: &str, method: &str, path: &str) -> u64 {
        self.shared.hits.get(venue, method, path)
    }

    /// The rate-limit accounting of `venue` as the testnet itself counted it: the current
    /// window's count, the quota, the highest count it admitted a request at, and how many
    /// requests it refused with 429 for the quota. None before the venue's first request.
    pub fn rate_usage(&self, venue: &str) -> Option<crate::RateUsage> {
        self.shared.limits.usage(venue)
    }

    /// Stops every listener, closes open WebSockets and waits for the tasks to end.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        self.shared.faults.drop_websockets(None);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for Testnet {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        self.shared.faults.drop_websockets(None);
    }
}

impl std::fmt::Debug for Testnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Testnet")
            .field("urls", &self.urls)
            .field("credentials", &self.credentials)
            .field("broker_credentials", &self.broker_credentials)
            .field("public_keys", &self.public_keys)
            .finish_non_exhaustive()
    }
}

/// Serves `router` on `listener` until `stop` turns true.
pub(crate) fn serve(
    listener: TcpListener,
    router: Router,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!("testnet listener stopped: {e}");
        }
    })
}
