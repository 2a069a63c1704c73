//! [`DotenvLoader`]: reads the `.env` file of an environment under an override policy, with an
//! optional audit log and integrity watch.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zeroize::Zeroizing;

use super::name::Environment;
use super::policy::OverridePolicy;
use crate::audit::{AuditLog, Event, EventKind, Outcome};
use crate::env::{self, VarStore};
use crate::error::{Error, Result};
use crate::integrity::IntegrityWatch;

/// Reads a `.env` file, overlaid by the process environment under an [`OverridePolicy`].
///
/// The location is a `.env` file or a directory. With no environment, a directory means its
/// `.env`. With an environment `NAME`, the file is `.env.NAME` in the directory (or beside the
/// `.env` file) given; a missing file is [`Error::EnvironmentFileMissing`], never a fallback.
/// A file named `.env.NAME` is read as environment `NAME` however it is reached, so
/// `.env.production` keeps its production rules when opened by path.
///
/// ```
/// # use std::os::unix::fs::PermissionsExt;
/// use keyward_secrets_backends::environment::{DotenvLoader, Environment, OverridePolicy};
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// let dir = tempfile::tempdir()?;
/// let file = dir.path().join(".env.production");
/// std::fs::write(&file, "KEYWARD_BOT_API_KEY=from-file\n")?;
/// std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
/// let process = [("KEYWARD_BOT_API_KEY".to_owned(), "from-shell".to_owned())];
///
/// // Production refuses a process variable that differs from its file.
/// let refused = DotenvLoader::new(dir.path(), "KEYWARD")
///     .environment(Some(Environment::new("production")?))
///     .process_vars(process.clone())
///     .load()
///     .await;
/// assert!(matches!(refused, Err(keyward_secrets_backends::Error::OverrideRefused { .. })));
///
/// // An explicit policy lets the file win instead.
/// let store = DotenvLoader::new(dir.path(), "KEYWARD")
///     .environment(Some(Environment::new("production")?))
///     .policy(OverridePolicy::FileWins)
///     .process_vars(process)
///     .load()
///     .await?;
/// # let _ = store;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct DotenvLoader {
    location: PathBuf,
    prefix: String,
    environment: Option<Environment>,
    policy: Option<OverridePolicy>,
    audit: Option<Arc<AuditLog>>,
    watch: Option<Arc<IntegrityWatch>>,
    process: Option<Vec<(String, String)>>,
}

/// What reading the file found, before the policy is applied.
struct Read {
    path: PathBuf,
    environment: Option<Environment>,
    policy: OverridePolicy,
    store: VarStore,
    /// Process variables whose value differs from the file's, by name.
    overridden: Vec<String>,
}

impl DotenvLoader {
    /// A loader for `location` (a `.env` file or a directory) and the variable `prefix`, with
    /// no environment, the default policy, and the real process environment.
    pub fn new(location: impl AsRef<Path>, prefix: &str) -> Self {
        Self {
            location: location.as_ref().to_owned(),
            prefix: prefix.to_owned(),
            environment: None,
            policy: None,
            audit: None,
            watch: None,
            process: None,
        }
    }

    /// Selects an environment (`None`: none).
    pub fn environment(mut self, environment: Option<Environment>) -> Self {
        self.environment = environment;
        self
    }

    /// Selects the environment [`ENV_VAR`](super::ENV_VAR) names, if it is set; an invalid
    /// name is an error.
    pub fn environment_from_process(self) -> Result<Self> {
        Ok(self.environment(Environment::from_process()?))
    }

    /// Sets the override policy (default: [`OverridePolicy::default_for`] the environment).
    pub fn policy(mut self, policy: OverridePolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Audits overrides refused or let through to `log`.
    pub fn audit(mut self, log: Arc<AuditLog>) -> Self {
        self.audit = Some(log);
        self
    }

    /// Records the SHA-256 of the bytes read in `watch`.
    pub fn watch(mut self, watch: Arc<IntegrityWatch>) -> Self {
        self.watch = Some(watch);
        self
    }

    /// Uses `vars` as the process environment instead of the real one (for tests and
    /// embedding).
    pub fn process_vars(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        self.process = Some(vars.into_iter().collect());
        self
    }

    /// The file the loader reads, and the environment it is read as.
    pub fn resolve(&self) -> Result<(PathBuf, Option<Environment>)> {
        let is_dir = std::fs::metadata(&self.location).is_ok_and(|m| m.is_dir());
        let (dir, file_name) = if is_dir {
            (self.location.as_path(), None)
        } else {
            let name = self.location.file_name().and_then(|n| n.to_str());
            (
                self.location
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new(".")),
                name,
            )
        };
        // The environment a `.env.NAME` file name carries.
        let named = file_name
            .and_then(|n| n.strip_prefix(".env."))
            .and_then(|n| Environment::new(n).ok());
        match (&self.environment, file_name) {
            (None, None) => Ok((dir.join(".env"), None)),
            (None, Some(_)) => Ok((self.location.clone(), named)),
            (Some(env), None) => Ok((dir.join(env.file_name()), Some(env.clone()))),
            (Some(env), Some(name)) if name == ".env" || named.as_ref() == Some(env) => {
                Ok((dir.join(env.file_name()), Some(env.clone())))
            }
            (Some(_), Some(name)) => Err(Error::InvalidName {
                name: name.to_owned(),
                reason: "with an environment selected, the dotenv location is a directory, a .env file or that environment's .env.<NAME> file",
            }),
        }
    }

    /// Reads the file and applies the policy; overrides are audited when a log is set and
    /// the bytes read are recorded when a watch is set.
    pub async fn load(self) -> Result<VarStore> {
        let read = self.read()?;
        let audit = self.audit.clone();
        let outcome = self.decide(&read);
        if let Some(log) = audit {
            let outcome = match &outcome {
                Ok(()) => Outcome::Success,
                Err(_) => Outcome::Refused,
            };
            if !(read.policy == OverridePolicy::ProcessWins
                || read.policy == OverridePolicy::FileWins)
            {
                for variable in &read.overridden {
                    let Some(event) = override_event(read.environment.as_ref(), variable, outcome)
                    else {
                        continue;
                    };
                    if let Err(e) = log.append(&event).await {
                        tracing::warn!(error = %e, "could not audit a process variable overriding a .env value");
                    }
                }
            }
        }
        outcome?;
        Ok(read.store)
    }

    /// [`load`](Self::load) without an audit log (the synchronous path of
    /// [`VarStore::for_environment`] and [`VarStore::open`]).
    pub(crate) fn load_unaudited(self) -> Result<VarStore> {
        let read = self.read()?;
        self.decide(&read)?;
        Ok(read.store)
    }

    /// The policy's verdict on what was read: refusal, or warnings.
    fn decide(&self, read: &Read) -> Result<()> {
        match read.policy {
            OverridePolicy::Refuse => match read.overridden.first() {
                Some(variable) => Err(Error::OverrideRefused {
                    variable: variable.clone(),
                    path: read.path.clone(),
                    count: read.overridden.len(),
                }),
                None => Ok(()),
            },
            OverridePolicy::WarnAndAudit => {
                for variable in &read.overridden {
                    tracing::warn!(
                        variable = %variable,
                        path = %read.path.display(),
                        environment = read.environment.as_ref().map(Environment::as_str),
                        "a process variable overrides the value the .env file gives it"
                    );
                }
                Ok(())
            }
            OverridePolicy::ProcessWins | OverridePolicy::FileWins => Ok(()),
        }
    }

    /// Resolves, checks, reads and parses the file, and overlays the process environment.
    fn read(&self) -> Result<Read> {
        let (path, environment) = self.resolve()?;
        let policy = self
            .policy
            .unwrap_or_else(|| OverridePolicy::default_for(environment.as_ref()));
        if let Some(env) = environment.as_ref().filter(|e| e.is_production())
            && policy == OverridePolicy::ProcessWins
        {
            return Err(Error::UnsafeOverridePolicy {
                environment: env.as_str().to_owned(),
            });
        }
        if let Some(env) = &environment
            && std::fs::symlink_metadata(&path)
                .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            return Err(Error::EnvironmentFileMissing {
                environment: env.as_str().to_owned(),
                path,
            });
        }
        let data =
            keyward_core_crypto::private_file::read_private_file(&path, env::MAX_DOTENV_LEN)?;
        if let Some(watch) = &self.watch {
            watch.track_bytes(&path, &data);
        }
        let mut vars = env::parse_dotenv(&path, &data)?;
        let (process, unreadable) = match &self.process {
            Some(given) => (given.clone(), BTreeSet::new()),
            None => env::process_vars(&self.prefix),
        };
        let prefix_ = format!("{}_", self.prefix);
        let mut overridden = Vec::new();
        for (k, v) in process {
            if !k.starts_with(&prefix_) {
                continue;
            }
            match vars.get(&k) {
                Some(file) if keyward_core_crypto::ct::ct_eq(file.as_bytes(), v.as_bytes()) => {}
                Some(_) => {
                    overridden.push(k.clone());
                    if policy != OverridePolicy::FileWins {
                        vars.insert(k, Zeroizing::new(v));
                    }
                }
                None => {
                    vars.insert(k, Zeroizing::new(v));
                }
            }
        }
        // A process variable whose value is not UTF-8: where it shadows the file's value it is
        // an override (it cannot equal it); it makes its secret unreadable unless the file wins.
        let mut unreadable_kept = BTreeSet::new();
        for k in unreadable {
            if vars.contains_key(&k) && !overridden.contains(&k) {
                overridden.push(k.clone());
            }
            if policy == OverridePolicy::FileWins && vars.contains_key(&k) {
                continue;
            }
            vars.remove(&k);
            unreadable_kept.insert(k);
        }
        overridden.sort();
        vars.retain(|k, _| k.starts_with(&prefix_));
        let store = VarStore::from_parts(path.clone(), &self.prefix, vars, unreadable_kept);
        Ok(Read {
            path,
            environment,
            policy,
            store,
            overridden,
        })
    }
}

/// The audit event of an override: `integrity_alert` about `env/<environment>/<VARIABLE>`
/// (`dotenv/<VARIABLE>` with no environment), or about the scope alone when the variable's
/// name is not in the subject alphabet. `None` only if neither is a valid subject.
fn override_event(
    environment: Option<&Environment>,
    variable: &str,
    outcome: Outcome,
) -> Option<Event> {
    let scope = match environment {
        Some(env) => format!("env/{env}"),
        None => "dotenv".to_owned(),
    };
    Event::new(
        EventKind::IntegrityAlert,
        &format!("{scope}/{variable}"),
        outcome,
    )
    .or_else(|_| Event::new(EventKind::IntegrityAlert, &scope, outcome))
    .ok()
}
