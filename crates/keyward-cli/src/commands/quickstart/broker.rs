//! Broker login: the Upstox-shaped TOTP login against the testnet, its login fields read from
//! the vault (`testnet/upstox`), through the token-generation guard and the token cache over the
//! same vault. One login (six steps, the code from the stored seed), a second `get` answered
//! from the cache, and the token accepted by the broker's profile endpoint.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use keyward::crypto::SystemClock;
use keyward::exchange::session::{TokenCache, TokenGuard, UpstoxLogin};

use super::sandbox::Sandbox;

/// The broker of the demonstration.
pub const VENUE: &str = "upstox";
const TOKEN: (&str, &str) = ("POST", "/api/v2/login/authorization/token");
const PROFILE: &str = "/api/v2/user/profile";
/// The profile check's time limit.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the demonstration.
pub async fn run(sb: &Sandbox) -> Result<String> {
    let base = sb.url(VENUE)?;
    let clock = Arc::new(SystemClock);
    let guard = Arc::new(TokenGuard::new(clock.clone()));
    let login = guard.guard(Arc::new(
        UpstoxLogin::new(sb.store.clone(), format!("testnet/{VENUE}")).base_url(base)?,
    ));
    let cache = TokenCache::new(sb.store.clone(), clock);
    let before = sb.hits(VENUE, TOKEN.0, TOKEN.1);
    let token = cache.get(&login).await.context("the login")?;
    let again = cache.get(&login).await.context("the cached token")?;
    let logins = sb.hits(VENUE, TOKEN.0, TOKEN.1) - before;
    ensure!(
        logins == 1 && again.expose() == token.expose(),
        "expected one login and the second token from the cache, saw {logins} logins"
    );
    let status = reqwest::Client::builder()
        .no_proxy()
        .timeout(TIMEOUT)
        .build()
        .context("could not build an HTTP client")?
        .get(format!("{base}{PROFILE}"))
        .bearer_auth(token.expose())
        .send()
        .await
        .map_err(reqwest::Error::without_url)
        .context("the profile request")?
        .status();
    ensure!(
        status.is_success(),
        "the profile endpoint answered {status}"
    );
    let expires = token
        .expires_at()
        .map(httpdate::fmt_http_date)
        .unwrap_or_else(|| "an unknown time".to_owned());
    Ok(format!(
        "TOTP login in 6 steps, 1 token (a second get from the cache), cached in the vault until {expires} (03:30 Asia/Kolkata), profile {}",
        status.as_u16()
    ))
}
