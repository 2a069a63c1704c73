//! The environment the command line selects: `--environment NAME` (a global option), else
//! `KEYWARD_ENV`, and the dotenv store it opens (`.env.<NAME>`, never a fallback to `.env`).

use std::sync::OnceLock;

use anyhow::Result;
use keyward::secrets::DotenvStore;
use keyward::secrets::environment::{DotenvLoader, Environment};

/// The `--environment` value of this run, set once by `commands::run`.
static FLAG: OnceLock<Option<String>> = OnceLock::new();

/// Records the `--environment` value of this run (the first call wins).
pub fn set_flag(flag: Option<String>) {
    let _ = FLAG.set(flag);
}

/// The environment selected: `--environment` wins over `KEYWARD_ENV`; `None` when neither is
/// given. An invalid name is an error.
pub fn selected() -> Result<Option<Environment>> {
    match FLAG.get().and_then(Option::as_deref) {
        Some(name) => Ok(Some(Environment::new(name)?)),
        None => Ok(Environment::from_process()?),
    }
}

/// The dotenv store at `location` (a `.env` file or a directory) in the selected environment,
/// under the environment's default override policy (refused in production).
pub async fn dotenv(location: &str, prefix: &str) -> Result<DotenvStore> {
    Ok(DotenvLoader::new(location, prefix)
        .environment(selected()?)
        .load()
        .await?)
}
