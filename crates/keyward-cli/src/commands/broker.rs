//! `keyward broker login NAME --venue upstox`: a broker's login, run once with the fields of a
//! stored secret; the token goes into the same store as `NAME/token`, and only that it was stored
//! and when it expires are printed.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use async_trait::async_trait;
use keyward::SecretValue;
use keyward::exchange::session::{CodePrompt, CodeSource, LoginError, TokenProvider, UpstoxLogin};
use serde_json::json;
use zeroize::Zeroizing;

use crate::cli::{BrokerCommand, BrokerLoginArgs, BrokerVenue, Format};
use crate::stdio::write_stdout;

/// Runs a `keyward broker` subcommand.
pub fn run(cmd: BrokerCommand) -> Result<()> {
    match cmd {
        BrokerCommand::Login(args) => login(&args),
    }
}

/// Asks for the code at the terminal, without echo.
#[derive(Debug)]
struct Terminal;

#[async_trait]
impl CodePrompt for Terminal {
    async fn ask(&self, what: &str) -> Result<Zeroizing<String>, LoginError> {
        let prompt = format!("{what} (not echoed): ");
        tokio::task::spawn_blocking(move || rpassword::prompt_password(prompt))
            .await
            .map_err(|e| LoginError::Prompt(format!("the prompt stopped: {e}")))?
            .map(|typed| Zeroizing::new(typed.trim().to_owned()))
            .map_err(|e| LoginError::Prompt(format!("the terminal could not be read: {e}")))
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
                    login = login.code_source(CodeSource::Prompt(Arc::new(Terminal)));
                }
                Box::new(login)
            }
        };
        let token = provider
            .login()
            .await
            .with_context(|| format!("the login with the secret {:?} failed", args.name))?;
        let expires = token
            .expires_at()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs());
        let expires_text = expires.map(|s| s.to_string()).unwrap_or_default();
        let venue = match args.venue {
            BrokerVenue::Upstox => "upstox",
        };
        let name = format!("{}/token", args.name);
        let meta = store
            .put(
                &name,
                &SecretValue::fields([
                    ("access_token", token.expose()),
                    ("expires_at", expires_text.as_str()),
                    ("venue", venue),
                ]),
            )
            .await
            .with_context(|| format!("the token could not be stored as {name:?}"))?;
        let text = match args.store.format {
            Format::Text => match token.expires_at() {
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
