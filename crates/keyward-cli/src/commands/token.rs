//! `keyward token inspect`: a JWT's header and claims and its time to expiry, decoded without
//! verification (never the signature).

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use keyward::exchange::session::{JwtClaims, MAX_JWT_LEN};
use serde_json::{Value, json};

use crate::cli::{Format, TokenCommand, TokenInspectArgs};
use crate::stdio::{read_stdin, write_stdout};

/// Runs `keyward token ...`.
pub fn run(cmd: TokenCommand) -> Result<()> {
    match cmd {
        TokenCommand::Inspect(args) => inspect(&args),
    }
}

fn inspect(args: &TokenInspectArgs) -> Result<()> {
    let input = read_stdin()?;
    if input.len() > MAX_JWT_LEN + 64 {
        bail!("the token on standard input is longer than {MAX_JWT_LEN} bytes");
    }
    let text = std::str::from_utf8(&input).context("the token on standard input is not UTF-8")?;
    let text = text.trim();
    let text = text.strip_prefix("Bearer ").unwrap_or(text);
    let claims = JwtClaims::decode_unverified(text).context("cannot inspect the token")?;
    let now = SystemTime::now();
    let report = Report::of(&claims, now)?;
    let out = match args.format {
        Format::Json => format!("{}\n", report.json(&claims)),
        Format::Text => report.text(&claims)?,
    };
    write_stdout(out.as_bytes())
}

/// The expiry, as seen from `now`.
struct Report {
    /// `exp` in RFC 3339 UTC, and the signed whole seconds from `now` to it.
    expiry: Option<(String, i64)>,
}

impl Report {
    fn of(claims: &JwtClaims, now: SystemTime) -> Result<Self> {
        let Some(exp) = claims.expires_at().context("cannot inspect the token")? else {
            return Ok(Self { expiry: None });
        };
        let exp_s = secs(exp);
        let when = keyward_time(exp_s)?;
        Ok(Self {
            expiry: Some((when, exp_s - secs(now))),
        })
    }

    fn json(&self, claims: &JwtClaims) -> Value {
        let (at, left, expired) = match &self.expiry {
            Some((at, left)) => (json!(at), json!(left), json!(*left <= 0)),
            None => (Value::Null, Value::Null, Value::Null),
        };
        json!({
            "header": claims.header(),
            "claims": claims.claims(),
            "expires_at": at,
            "seconds_to_expiry": left,
            "expired": expired,
        })
    }

    fn text(&self, claims: &JwtClaims) -> Result<String> {
        let header = serde_json::to_string_pretty(claims.header())?;
        let body = serde_json::to_string_pretty(claims.claims())?;
        let expiry = match &self.expiry {
            Some((at, left)) if *left > 0 => format!("expires {at} (in {left} s)"),
            Some((at, left)) => format!("expired {at} ({} s ago)", -left),
            None => "no exp claim: the expiry is unknown".to_owned(),
        };
        Ok(format!("header: {header}\nclaims: {body}\n{expiry}\n"))
    }
}

/// Whole seconds since the Unix epoch (before it: negative).
fn secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// `seconds` since the epoch as RFC 3339 UTC (`2011-03-22T18:43:00Z`).
fn keyward_time(seconds: i64) -> Result<String> {
    let ts = jiff::Timestamp::from_second(seconds)
        .context("the token's exp claim is outside the representable dates")?;
    Ok(ts.to_string())
}
