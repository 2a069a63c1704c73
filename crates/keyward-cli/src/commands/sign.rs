//! `keyward sign`: one signed request, or one WebSocket auth message, as JSON on stdout.

use anyhow::{Context, Result, bail};
use keyward::signing::secrecy::SecretString;
use keyward::signing::{Credentials, Request, Scheme, SignOptions, Signer};
use serde_json::{Map, Value, json};

use crate::cli::SignArgs;
use crate::stdio::write_stdout;

/// Runs `keyward sign`.
pub fn run(args: &SignArgs) -> Result<()> {
    let (name, ws) = match args.venue.strip_suffix("-ws") {
        Some(base) => (base, true),
        None => (args.venue.as_str(), false),
    };
    let scheme: Scheme = name.parse()?;
    if ws && !scheme.has_ws() {
        bail!("{scheme} has no WebSocket auth; use --venue {scheme}");
    }
    if !ws && !scheme.has_rest() {
        bail!("{scheme} signs only WebSocket auth; use --venue {scheme}-ws");
    }
    let signer = Signer::new(scheme, &credentials(args)?)?;
    let options = SignOptions {
        timestamp_ms: args.timestamp,
        nonce: args.nonce.clone(),
        expires: args.expires,
        recv_window_ms: args.recv_window,
        signed_headers: args.signed_headers.clone(),
        data: args.data.clone(),
        origin: args.origin.clone(),
        // On a WebSocket name, --method is the WebSocket API method the parameters are signed
        // for (Binance's session.logon takes Ed25519 keys only); on a REST name it is the
        // request's HTTP method, which the request itself carries.
        method: ws.then(|| args.method.clone()).flatten(),
    };
    let output = if ws {
        signer.ws_auth(&params(args)?, &options).map_err(|e| {
            let refused = matches!(e, keyward::signing::Error::KeyNotAccepted { .. });
            let err = anyhow::Error::from(e);
            if refused {
                err.context(format!(
                    "{} refuses this key for WebSocket auth{}; nothing was signed",
                    args.venue,
                    args.method
                        .as_deref()
                        .map(|m| format!(" ({m})"))
                        .unwrap_or_default()
                ))
            } else {
                err
            }
        })?
    } else {
        let sent = signer.sign(request(args)?, &options)?;
        let headers: Map<String, Value> = sent
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), Value::from(v.clone())))
            .collect();
        json!({
            "method": sent.method,
            "url": sent.url(),
            "headers": headers,
            "body": String::from_utf8_lossy(&sent.body),
        })
    };
    write_stdout(format!("{output}\n").as_bytes())
}

fn credentials(args: &SignArgs) -> Result<Credentials> {
    let secret = env_secret(&args.secret_env)?;
    let mut creds = Credentials::new(args.api_key.clone(), secret);
    if let Some(var) = &args.passphrase_env {
        creds = creds.with_passphrase(env_secret(var)?);
    }
    Ok(creds)
}

fn env_secret(var: &str) -> Result<SecretString> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Ok(value.into()),
        _ => bail!("environment variable {var} is not set, empty or not UTF-8"),
    }
}

fn request(args: &SignArgs) -> Result<Request> {
    let (Some(method), Some(path)) = (&args.method, &args.path) else {
        bail!("{} needs --method and --path", args.venue);
    };
    let mut req = Request::new(method, path.clone())
        .with_query(args.query.clone())
        .with_body(args.body.clone());
    for header in &args.headers {
        let Some((name, value)) = header.split_once(':') else {
            bail!("--header takes NAME:VALUE");
        };
        req = req.with_header(name.trim(), value.trim());
    }
    Ok(req)
}

fn params(args: &SignArgs) -> Result<Map<String, Value>> {
    let Some(text) = &args.params else {
        return Ok(Map::new());
    };
    match serde_json::from_str(text).context("--params is not valid JSON")? {
        Value::Object(map) => Ok(map),
        _ => bail!("--params must be a JSON object"),
    }
}
