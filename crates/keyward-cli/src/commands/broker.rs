//! `keyward broker login NAME --venue upstox`: a broker's login, run once with the fields of a
//! stored secret; the token goes into the same store as `NAME/token`, and only that it was stored
//! and when it expires are printed.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use keyward::SecretValue;
use keyward::exchange::session::{
    CodeSource, EXPIRES_AT_FIELD, TOKEN_FIELD, TokenProvider, UpstoxLogin, token_secret_name,
};
use serde_json::json;

use crate::cli::{BrokerCommand, BrokerLoginArgs, BrokerVenue, Format};
use crate::prompt::TerminalPrompt;
use crate::stdio::write_stdout;

/// Runs a `keyward broker` subcommand.
pub fn run(cmd: BrokerCommand) -> Result<()> {
    match cmd {
        BrokerCommand::Login(args) => login(&args),
    }
}

fn login(args: &BrokerLoginArgs) -> Result<()> {
    // Before any secret is read.
    crate::harden::protect_process_memory()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async {
        let store = super::secret::open(&args.store).await?;
        let provider: Box<dyn TokenProvider> = match args.venue {
            BrokerVenue::Upstox => {
                let mut login = UpstoxLogin::new(store.clone(), args.name.clone());
                if let Some(base) = &args.base_url {
                    login = login.base_url(base)?;
                }
                if args.prompt {
                    login =
                        login.code_source(CodeSource::Prompt(Arc::new(TerminalPrompt::stdio())));
                }
                Box::new(login)
            }
        };
        let issued_at = SystemTime::now();
        let token = provider
            .login()
            .await
            .with_context(|| format!("the login with the secret {:?} failed", args.name))?;
        // The expiry the token cache schedules by: the earlier of the token's own and the
        // broker's rule (Upstox: 03:30 Asia/Kolkata), stored in the cache's fields so that a
        // `TokenCache` over the same store picks the token up.
        let expires_at = provider
            .expiry_rule()
            .resolve(&token, issued_at)
            .ok()
            .or(token.expires_at());
        let since_epoch = expires_at.and_then(|t| t.duration_since(UNIX_EPOCH).ok());
        let expires = since_epoch.map(|d| d.as_secs());
        let expires_ms = since_epoch
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX).to_string())
            .unwrap_or_else(|| "0".to_owned());
        let venue = match args.venue {
            BrokerVenue::Upstox => "upstox",
        };
        let name = token_secret_name(&args.name);
        let meta = store
            .put(
                &name,
                &SecretValue::fields([
                    (TOKEN_FIELD, token.expose()),
                    (EXPIRES_AT_FIELD, expires_ms.as_str()),
                    ("venue", venue),
                ]),
            )
            .await
            .with_context(|| format!("the token could not be stored as {name:?}"))?;
        let text = match args.store.format {
            Format::Text => match expires_at {
                Some(at) => format!(
                    "stored {} version {}; expires {} ({})\n",
                    meta.name,
                    meta.version,
                    httpdate::fmt_http_date(at),
                    left(at)
                ),
                None => format!(
                    "stored {} version {}; the token states no expiry\n",
                    meta.name, meta.version
                ),
            },
            Format::Json => format!(
                "{}\n",
                json!({"stored": meta.name, "version": meta.version, "expires_at": expires})
            ),
        };
        write_stdout(text.as_bytes())
    })
}

/// `in 15h 42m`, or `already past` for an expiry not in the future.
fn left(at: SystemTime) -> String {
    match at.duration_since(SystemTime::now()) {
        Ok(d) => {
            let mins = d.as_secs() / 60;
            format!("in {}h {:02}m", mins / 60, mins % 60)
        }
        Err(_) => "already past".to_owned(),
    }
}
