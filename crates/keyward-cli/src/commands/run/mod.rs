//! `keyward run [--store URL] [--env VAR=NAME#FIELD]... [--env-file FILE] -- COMMAND [ARGS]`:
//! starts COMMAND with secrets from a store in its environment.
//!
//! The order is fixed, so nothing starts half-configured: the specifications are parsed and
//! checked ([`plan`]), every value is read ([`secrets`]), the process is hardened (no core
//! dumps, no ptrace by the same user), the hand-over is recorded in the audit log when one is
//! given ([`audit`]), and only then is the command started and supervised ([`child`]), its
//! output masked ([`mask`]) unless `--no-masking` is given.

mod audit;
mod child;
mod mask;
mod plan;
mod secrets;

use std::sync::Arc;

use anyhow::{Context, Result};
use keyward::secrets::audit::AuditLog;
use keyward::secrets::{AuditedStore, SecretStore, SystemClock};

use crate::cli::{Format, RunArgs, StoreArgs};

/// Runs `keyward run` and returns the exit code to leave with (the command's).
pub fn run(args: RunArgs) -> Result<u8> {
    // Checked before any store is opened: a bad line costs nothing.
    let specs = plan::specs(&args.env, &args.env_files)?;
    let program = audit::program(args.command.first().context("no command given")?);
    let events = audit::events(&program, &specs.iter().collect::<Vec<_>>())?;
    crate::harden::protect_process_memory()?;
    // Two workers: the child's stdout and stderr are copied while signals are watched.
    let runtime = crate::commands::two_worker_runtime()?;
    runtime.block_on(async move {
        let store_args = StoreArgs {
            store: args.store,
            ring: args.ring,
            format: Format::Text,
        };
        let store = super::secret::open(&store_args).await?;
        let (store, log): (Arc<dyn SecretStore>, _) = match &args.audit.audit_log {
            None => (store, None),
            Some(path) => {
                let log = Arc::new(
                    AuditLog::open(
                        path,
                        store.clone(),
                        &args.audit.audit_key,
                        Arc::new(SystemClock),
                    )
                    .await
                    .with_context(|| format!("could not open the audit log {}", path.display()))?,
                );
                (Arc::new(AuditedStore::new(store, log.clone())), Some(log))
            }
        };
        let handed = secrets::resolve(&*store, specs).await?;
        if let Some(log) = &log {
            audit::record(log, &events).await?;
        }
        let masker = if args.no_masking {
            None
        } else {
            let values = || handed.iter().map(|h| h.value.as_slice());
            Some((mask::Masker::new(values())?, mask::Masker::new(values())?))
        };
        let env = child::environment(std::env::vars_os(), &handed);
        drop(handed);
        child::supervise(&args.command, env, masker).await
    })
}
