//! `keyward totp NAME`: the current TOTP code of a seed kept in a store, and its seconds left.

use anyhow::{Context, Result};
use keyward::Totp;
use serde_json::json;
use zeroize::Zeroizing;

use crate::cli::{Format, TotpArgs};
use crate::stdio::write_stdout;

/// Runs `keyward totp`.
pub fn run(args: &TotpArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let totp = runtime.block_on(async {
        let store = super::secret::open(&args.store).await?;
        anyhow::Ok(Totp::from_store(&*store, &args.name).await?)
    })?;
    let code = totp.current();
    let seconds_left = code.remaining().as_secs();
    // The printed text holds the code: wiped once written.
    let text = Zeroizing::new(match args.store.format {
        Format::Text => format!("{} {seconds_left}s left\n", code.expose()),
        Format::Json => format!(
            "{}\n",
            json!({
                "code": code.expose(),
                "seconds_left": seconds_left,
                "algorithm": totp.algorithm().name(),
                "digits": totp.digits(),
                "period": totp.period(),
            })
        ),
    });
    write_stdout(text.as_bytes())
}
