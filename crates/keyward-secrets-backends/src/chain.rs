//! A chain of stores: a name resolves through each store in order, and the answer says which
//! store gave it (never the value).

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::{Error, Result};
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
}
