//! A chain of stores: a name resolves through each store in order, and the answer says which
//! store gave it (never the value).

use std::sync::Arc;

use async_trait::async_trait;

use crate::age::CredentialAge;
use crate::error::{Error, Result};
use crate::revocation::Revocation;
use crate::store::{Capabilities, Metadata, Secret, SecretStore, Selector};
use crate::value::SecretValue;

/// Which store of a chain answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answered {
    /// The store's position in the chain (0 = first).
    pub index: usize,
    /// The store's kind.
    pub kind: &'static str,
}

/// Stores tried in order. A store that does not have the name (or cannot answer the question)
/// passes to the next; a store that fails stops the search with its error, so that an outage
/// of the first store never silently serves credentials from a later one.
#[derive(Debug)]
pub struct ChainStore {
    stores: Vec<Arc<dyn SecretStore>>,
}

impl ChainStore {
    /// A chain over `stores`, tried in this order.
    pub fn new(stores: Vec<Arc<dyn SecretStore>>) -> Self {
        Self { stores }
    }

    /// Resolves `name` and says which store answered.
    pub async fn resolve(&self, name: &str, which: &Selector) -> Result<(Secret, Answered)> {
        self.resolve_with(name, |store| {
            let which = which.clone();
            let name = name.to_owned();
            async move { store.get(&name, &which).await }
        })
        .await
    }

    /// Resolves `name` through each store's `read`, in order.
    async fn resolve_with<F, Fut>(&self, name: &str, read: F) -> Result<(Secret, Answered)>
    where
        F: Fn(Arc<dyn SecretStore>) -> Fut,
        Fut: std::future::Future<Output = Result<Secret>>,
    {
        for (index, store) in self.stores.iter().enumerate() {
            match read(store.clone()).await {
                Ok(secret) => {
                    let answered = Answered {
                        index,
                        kind: store.kind(),
                    };
                    tracing::debug!(target: "keyward_secrets::chain", secret = name, store = answered.kind, index, "resolved");
                    return Ok((secret, answered));
                }
                Err(Error::NotFound { .. } | Error::Unsupported { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Err(Error::NotFound {
            name: name.to_owned(),
            detail: Some(format!("in none of {} stores", self.stores.len())),
        })
    }

    fn first_writable(&self) -> Result<&Arc<dyn SecretStore>> {
        self.stores
            .iter()
            .find(|s| s.capabilities().writable)
            .ok_or(Error::Unsupported {
                store: "chain",
                operation: "writing (no store in the chain is writable)",
            })
    }
}

#[async_trait]
impl SecretStore for ChainStore {
    fn kind(&self) -> &'static str {
        "chain"
    }

    fn capabilities(&self) -> Capabilities {
        self.stores
            .iter()
            .find(|s| s.capabilities().writable)
            .map_or(
                Capabilities {
                    writable: false,
                    versioned: false,
                    stages: false,
                },
                |s| s.capabilities(),
            )
    }

    async fn get(&self, name: &str, which: &Selector) -> Result<Secret> {
        self.resolve(name, which).await.map(|(secret, _)| secret)
    }

    /// Resolves `name` with each store's fresh read, in order.
    async fn get_fresh(&self, name: &str) -> Result<Secret> {
        self.resolve_with(name, |store| {
            let name = name.to_owned();
            async move { store.get_fresh(&name).await }
        })
        .await
        .map(|(secret, _)| secret)
    }

    fn invalidate(&self, name: &str) {
        for store in &self.stores {
            store.invalidate(name);
        }
    }

    async fn put(&self, name: &str, value: &SecretValue) -> Result<Metadata> {
        self.first_writable()?.put(name, value).await
    }

    async fn put_pending(&self, name: &str, value: &SecretValue) -> Result<Metadata> {
        self.first_writable()?.put_pending(name, value).await
    }

    async fn promote(&self, name: &str, version: &str) -> Result<()> {
        self.first_writable()?.promote(name, version).await
    }

    async fn delete(&self, name: &str) -> Result<()> {
        self.first_writable()?.delete(name).await
    }

    async fn list(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for store in &self.stores {
            match store.list().await {
                Ok(found) => names.extend(found),
                Err(Error::Unsupported { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    async fn versions(&self, name: &str) -> Result<Vec<Metadata>> {
        let (_, answered) = self.resolve(name, &Selector::Current).await?;
        self.stores[answered.index].versions(name).await
    }

    /// Revokes `name` in the first store that holds it (asked by its metadata, so a store
    /// holding it revoked already answers too).
    async fn revoke(&self, name: &str, reason: Option<&str>) -> Result<Revocation> {
        self.holder(name).await?.revoke(name, reason).await
    }

    async fn revocation(&self, name: &str) -> Result<Option<Revocation>> {
        self.holder(name).await?.revocation(name).await
    }

    /// Every store's revocations, by name.
    async fn revocations(&self) -> Result<Vec<Revocation>> {
        let mut all = Vec::new();
        for store in &self.stores {
            all.extend(store.revocations().await?);
        }
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    /// Every store's credential ages, by name (a name in several stores: the first store's);
    /// stores that keep no dates are skipped, and a chain of none answers
    /// [`Error::Unsupported`].
    async fn credential_ages(&self) -> Result<Vec<CredentialAge>> {
        let mut all: Vec<CredentialAge> = Vec::new();
        let mut dated = false;
        for store in &self.stores {
            match store.credential_ages().await {
                Ok(ages) => {
                    dated = true;
                    for age in ages {
                        if !all.iter().any(|a| a.name == age.name) {
                            all.push(age);
                        }
                    }
                }
                Err(Error::Unsupported { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        if !dated {
            return Err(self.unsupported("rotation dates"));
        }
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }
}

impl ChainStore {
    /// The first store that holds `name`.
    async fn holder(&self, name: &str) -> Result<&Arc<dyn SecretStore>> {
        for store in &self.stores {
            match store.metadata(name).await {
                Ok(_) => return Ok(store),
                Err(Error::NotFound { .. } | Error::Unsupported { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Err(Error::NotFound {
            name: name.to_owned(),
            detail: Some(format!("in none of {} stores", self.stores.len())),
        })
    }
}
