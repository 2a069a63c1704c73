//! Broker login: the Upstox-shaped TOTP login against the testnet, its login fields read from
//! the vault (`testnet/upstox`), through the token-generation guard and the token cache over the
//! same vault. One login (six steps, the code from the stored seed), a second `get` answered
//! from the cache, and the token accepted by the broker's profile endpoint. In the five minutes
//! before 03:30 Asia/Kolkata (22:00 UTC) a new token is already inside the cache's refresh-ahead
//! margin, so the second `get` rightly logs in again; the step checks whichever the clock
//! called for.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, ensure};
use keyward::crypto::{Clock as _, SystemClock};
use keyward::exchange::session::{DEFAULT_REFRESH_AHEAD, TokenCache, TokenGuard, UpstoxLogin};

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
    let cache = TokenCache::new(sb.store.clone(), clock.clone());
    let before = sb.hits(VENUE, TOKEN.0, TOKEN.1);
    let token = cache.get(&login).await.context("the login")?;
    let expires = token
        .expires_at()
        .context("the cache gave the token no expiry")?;
    let asked = wall(clock.now_ms());
    let again = cache.get(&login).await.context("the second get")?;
    let answered = wall(clock.now_ms());
    let logins = sb.hits(VENUE, TOKEN.0, TOKEN.1) - before;
    // From the cache only if the token had more than the margin left when asked; a second
    // login only if it had no more than that when answered.
    let cached =
        logins == 1 && again.expose() == token.expose() && asked + DEFAULT_REFRESH_AHEAD < expires;
    let refreshed = logins == 2
        && again.expose() != token.expose()
        && answered + DEFAULT_REFRESH_AHEAD >= expires;
    ensure!(
        cached || refreshed,
        "expected one login and the second token from the cache (or, within 5 minutes of the token's expiry, a second login), saw {logins} logins"
    );
    let status = reqwest::Client::builder()
        .no_proxy()
        .timeout(TIMEOUT)
        .build()
        .context("could not build an HTTP client")?
        .get(format!("{base}{PROFILE}"))
        .bearer_auth(again.expose())
        .send()
        .await
        .map_err(reqwest::Error::without_url)
        .context("the profile request")?
        .status();
    ensure!(
        status.is_success(),
        "the profile endpoint answered {status}"
    );
    let second = if cached {
        "1 token (a second get from the cache)"
    } else {
        "2 tokens (the first dies within the 5-minute refresh margin, so the second get logged in again)"
    };
    Ok(format!(
        "TOTP login in 6 steps, {second}, cached in the vault until {} (03:30 Asia/Kolkata), profile {}",
        httpdate::fmt_http_date(again.expires_at().unwrap_or(expires)),
        status.as_u16()
    ))
}

/// A wall-clock reading as a `SystemTime`.
fn wall(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}
