//! Reading the values `keyward run` hands over, all of them before the command starts.

use std::ffi::OsString;
use std::fmt;
use std::os::unix::ffi::OsStringExt as _;

use anyhow::{Result, anyhow};
use keyward::crypto::secrecy::ExposeSecret as _;
use keyward::secrets::{Error as StoreError, SecretStore, SecretValue, Selector};
use zeroize::Zeroizing;

use super::plan::{Origin, Spec};

/// A variable and the value it gets: zeroized on drop, never in `Debug`.
pub struct Resolved {
    /// What was asked for.
    pub spec: Spec,
    /// The value's bytes.
    pub value: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolved")
            .field("spec", &self.spec)
            .field("value", &"[REDACTED]")
            .finish()
    }
}

impl Resolved {
    /// The value as an environment value (Unix: any bytes but NUL, checked on resolving).
    pub fn os_value(&self) -> OsString {
        OsString::from_vec(self.value.to_vec())
    }
}

/// Reads every spec's value from `store`; the first failure is the error, naming the variable
/// and where it was given (and, for `--env`, the secret and field).
pub async fn resolve(store: &dyn SecretStore, specs: Vec<Spec>) -> Result<Vec<Resolved>> {
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let value = read(store, &spec).await?;
        out.push(Resolved { spec, value });
    }
    Ok(out)
}

async fn read(store: &dyn SecretStore, spec: &Spec) -> Result<Zeroizing<Vec<u8>>> {
    let where_ = format!("{} ({})", spec.origin, spec.var);
    let secret = store
        .get(&spec.name, &Selector::Current)
        .await
        .map_err(|e| store_error(&where_, spec, &e))?;
    let bytes = match (&spec.field, &secret.value) {
        (Some(field), SecretValue::Fields(_)) => {
            let value = secret
                .value
                .field(field)
                .ok_or_else(|| anyhow!("{where_}: {} has no field {}", name(spec), field))?;
            Zeroizing::new(value.expose_secret().as_bytes().to_vec())
        }
        (Some(_), SecretValue::Bytes(_)) => {
            return Err(anyhow!(
                "{where_}: {} has no fields (it is stored as bytes); write VAR=NAME without #FIELD",
                name(spec)
            ));
        }
        (None, SecretValue::Fields(map)) => {
            let names: Vec<&str> = map.keys().map(String::as_str).collect();
            return Err(anyhow!(
                "{where_}: {} has fields ({}); name one with NAME#FIELD",
                name(spec),
                names.join(", ")
            ));
        }
        (None, SecretValue::Bytes(b)) => Zeroizing::new(b.expose_secret().clone()),
    };
    if bytes.contains(&0) {
        return Err(anyhow!(
            "{where_}: the value holds a NUL byte, which an environment variable cannot carry"
        ));
    }
    Ok(bytes)
}

/// How the secret is named in an error: by name for `--env` (already on the command line), as
/// "the secret" for an env-file line, whose right-hand side may be a value pasted by mistake.
fn name(spec: &Spec) -> String {
    match spec.origin {
        Origin::Arg => format!("secret {}", spec.name),
        Origin::File(..) => "the secret it names".to_owned(),
    }
}

fn store_error(where_: &str, spec: &Spec, err: &StoreError) -> anyhow::Error {
    if spec.origin == Origin::Arg {
        return anyhow!("{where_}: {err}");
    }
    let what = match err {
        StoreError::NotFound { .. } => "not found in the store",
        StoreError::Revoked { .. } => {
            "revoked (marked compromised); store a new value with keyward secret put"
        }
        StoreError::InvalidName { .. } => "not a valid secret name",
        _ => "could not be read from the store",
    };
    anyhow!("{where_}: the secret it names is {what}")
}
