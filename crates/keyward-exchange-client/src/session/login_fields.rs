//! [`LoginFields`]: a broker login's fields read from one secret of a [`SecretStore`]: named
//! fields (`keyward secret put NAME --field username --field pin ...`), or a JSON object of
//! strings stored as one value.

use std::collections::BTreeMap;
use std::fmt;

use keyward_secrets_backends::{SecretStore, SecretValue, Selector};
use secrecy::ExposeSecret as _;
use zeroize::Zeroizing;

use super::login_error::LoginError;

/// The login fields of one secret, each wiped when dropped. `Debug` shows only their names.
pub(crate) struct LoginFields {
    fields: BTreeMap<String, Zeroizing<String>>,
    name: String,
}

impl LoginFields {
    /// Reads the secret `name` of `store`.
    pub(crate) async fn read(store: &dyn SecretStore, name: &str) -> Result<Self, LoginError> {
        let secret = store.get(name, &Selector::Current).await.map_err(|e| {
            LoginError::Credentials(format!("the secret {name:?} cannot be read: {e}"))
        })?;
        let fields = match &secret.value {
            SecretValue::Fields(map) => map
                .iter()
                .map(|(k, v)| (k.clone(), Zeroizing::new(v.expose_secret().to_owned())))
                .collect(),
            SecretValue::Bytes(bytes) => from_json(bytes.expose_secret()).ok_or_else(|| {
                LoginError::Credentials(format!(
                    "the secret {name:?} is neither named fields nor a JSON object of strings"
                ))
            })?,
        };
        Ok(Self {
            fields,
            name: name.to_owned(),
        })
    }

    /// The field `field`, or the error naming it (never a value).
    pub(crate) fn require(&self, field: &str) -> Result<&str, LoginError> {
        self.get(field).ok_or_else(|| {
            LoginError::Credentials(format!(
                "the secret {:?} has no {field} field (or it is empty)",
                self.name
            ))
        })
    }

    /// The field `field`, if it is there and not empty.
    pub(crate) fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .get(field)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// A JSON object of strings, its text wiped after reading.
fn from_json(bytes: &[u8]) -> Option<BTreeMap<String, Zeroizing<String>>> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let serde_json::Value::Object(object) = value else {
        return None;
    };
    object
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k, Zeroizing::new(s))),
            _ => None,
        })
        .collect()
}

impl fmt::Debug for LoginFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginFields")
            .field("secret", &self.name)
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish()
    }
}
