//! Secret values: bytes, or a JSON object of named fields (api_key, api_secret, passphrase ...).

use std::collections::BTreeMap;
use std::fmt;

use secrecy::{ExposeSecret, SecretBox, SecretString};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// A secret's value, held in `secrecy` types: zeroized on drop, `[REDACTED]` in `Debug` (field
/// names are shown; they are not secret).
pub enum SecretValue {
    /// Opaque bytes.
    Bytes(SecretBox<Vec<u8>>),
    /// Named string fields, stored as a JSON object.
    Fields(BTreeMap<String, SecretString>),
}

impl SecretValue {
    /// A value of opaque bytes.
    pub fn bytes(data: Vec<u8>) -> Self {
        Self::Bytes(SecretBox::new(Box::new(data)))
    }

    /// A value of named fields.
    pub fn fields<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self::Fields(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_owned(), SecretString::from(v)))
                .collect(),
        )
    }

    /// One field of a fields value.
    pub fn field(&self, name: &str) -> Option<&SecretString> {
        match self {
            Self::Fields(map) => map.get(name),
            Self::Bytes(_) => None,
        }
    }

    /// The serialised form stores keep: the bytes, or the fields as a JSON object.
    pub fn to_stored(&self) -> Zeroizing<Vec<u8>> {
        match self {
            Self::Bytes(b) => Zeroizing::new(b.expose_secret().clone()),
            Self::Fields(map) => {
                let object: serde_json::Map<String, serde_json::Value> = map
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::from(v.expose_secret())))
                    .collect();
                Zeroizing::new(serde_json::Value::Object(object).to_string().into_bytes())
            }
        }
    }

    /// Reads the stored form back: a JSON object of strings becomes fields, anything else bytes.
    pub fn from_stored(data: &[u8]) -> Self {
        if let Ok(serde_json::Value::Object(object)) = serde_json::from_slice(data) {
            if object.values().all(serde_json::Value::is_string) {
                return Self::Fields(
                    object
                        .into_iter()
                        .map(|(k, v)| (k, SecretString::from(v.as_str().unwrap_or_default())))
                        .collect(),
                );
            }
        }
        Self::bytes(data.to_vec())
    }

    /// Whether two values are equal (for tests and change detection), compared in constant time.
    pub fn same_as(&self, other: &SecretValue) -> bool {
        keyward_core_crypto::ct::ct_eq(&self.to_stored(), &other.to_stored())
    }

    /// Fails unless this is a fields value holding `field`.
    pub fn require_field(&self, secret: &str, field: &str) -> Result<&SecretString> {
        self.field(field).ok_or_else(|| Error::NotFound {
            name: secret.to_owned(),
            detail: Some(format!("field {field}")),
        })
    }
}

impl Clone for SecretValue {
    fn clone(&self) -> Self {
        Self::from_stored(&self.to_stored())
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bytes(_) => f.write_str("SecretValue::Bytes([REDACTED])"),
            Self::Fields(map) => f
                .debug_map()
                .entries(map.keys().map(|k| (k, "[REDACTED]")))
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_through_json_and_bytes_stay_bytes() {
        let v = SecretValue::fields([("api_key", "k"), ("api_secret", "CANARY")]);
        let back = SecretValue::from_stored(&v.to_stored());
        assert!(back.same_as(&v));
        assert_eq!(back.field("api_key").unwrap().expose_secret(), "k");
        let raw = SecretValue::bytes(b"\x00\xffraw".to_vec());
        assert!(matches!(
            SecretValue::from_stored(&raw.to_stored()),
            SecretValue::Bytes(_)
        ));
        let shown = format!("{v:?} {raw:?}");
        assert!(
            !shown.contains("CANARY") && shown.contains("api_secret"),
            "{shown}"
        );
    }
}
