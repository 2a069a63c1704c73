//! Client order ids: each venue declares the field that carries one and the form it takes (in
//! its own module); this file generates and checks ids in those forms. Every placement on a
//! venue that takes an id carries one, so an unknown outcome can always be reconciled.

use crate::error::Error;
use crate::order::OrderRequest;

/// The form a venue's client order id takes, from its documentation.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IdForm {
    /// A UUID (`6d1b345e-2821-40e2-ad83-4ecb18a06876`), which the venue requires.
    Uuid,
    /// Up to `max_len` characters, each one `allowed`. Generated ids are 32 lowercase hex
    /// digits (a UUID v4 without its hyphens), so `max_len` must be at least 32 and `allowed`
    /// must take `0-9a-f`.
    Token {
        /// The longest id the venue takes.
        max_len: usize,
        /// Whether the venue takes this character in an id.
        allowed: fn(char) -> bool,
    },
}

/// Where a venue takes a client order id and in which form.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OrderIdRule {
    /// The parameter's name (`newClientOrderId`, `clOrdId`).
    pub(crate) field: &'static str,
    /// The id's form.
    pub(crate) form: IdForm,
}

/// ASCII letters and digits, and the `extra` characters.
pub(crate) fn alnum_and(c: char, extra: &str) -> bool {
    c.is_ascii_alphanumeric() || extra.contains(c)
}

impl OrderIdRule {
    /// A fresh id in the venue's form: a UUID v4, 122 bits from the operating system's CSPRNG
    /// (`getrandom`), so two clients of one key never pick the same id.
    pub(crate) fn generate(&self) -> String {
        let id = uuid::Uuid::new_v4();
        match self.form {
            IdForm::Uuid => id.hyphenated().to_string(),
            IdForm::Token { .. } => id.simple().to_string(),
        }
    }

    /// Whether `id` has the venue's form.
    pub(crate) fn accepts(&self, id: &str) -> bool {
        match self.form {
            IdForm::Uuid => id.len() == 36 && uuid::Uuid::try_parse(id).is_ok(),
            IdForm::Token { max_len, allowed } => {
                !id.is_empty() && id.chars().count() <= max_len && id.chars().all(allowed)
            }
        }
    }

    /// `order` with a client order id: the caller's, checked against the venue's form (a
    /// [`Error::Config`] if it does not fit, nothing sent), or a fresh one.
    pub(crate) fn apply(&self, venue: &str, order: &OrderRequest) -> Result<OrderRequest, Error> {
        let mut order = order.clone();
        match &order.client_order_id {
            Some(id) if !self.accepts(id) => {
                return Err(Error::config(format!(
                    "{venue} does not take {:?} as a client order id ({}); give another or none, and one is generated",
                    id.chars().take(64).collect::<String>(),
                    self.describe()
                )));
            }
            Some(_) => {}
            None => order.client_order_id = Some(self.generate()),
        }
        Ok(order)
    }

    fn describe(&self) -> String {
        match self.form {
            IdForm::Uuid => format!("{} must be a UUID", self.field),
            IdForm::Token { max_len, .. } => {
                format!(
                    "{} takes up to {max_len} characters of its own set",
                    self.field
                )
            }
        }
    }
}
