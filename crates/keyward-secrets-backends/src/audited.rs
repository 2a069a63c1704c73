//! A store that records what is done through it in an [`AuditLog`]: reads, writes, rotations
//! and revocations, with the secret's name and the outcome, never a value.
//!
//! A failed audit write is reported with `tracing::warn!` and never fails, delays past the
//! log's own write, or changes the answer of the operation it records: a secret read always
//! gets the store's answer.

use std::sync::Arc;

use async_trait::async_trait;

use crate::age::CredentialAge;
use crate::audit::{AuditLog, Event, EventKind, Outcome};
use crate::error::{Error, Result};
use crate::revocation::Revocation;
use crate::store::{Capabilities, Metadata, Secret, SecretStore, Selector};
use crate::value::SecretValue;

/// A [`SecretStore`] that appends an audit entry for each read and write of another store.
///
/// | call | event |
/// | --- | --- |
/// | `get`, `get_fresh` | `secret_read` |
/// | `put`, `put_pending`, `delete` | `secret_write` |
/// | `promote` | `rotation` |
/// | `revoke` | `revocation` |
///
/// The outcome is `success`, `refused` for a read of a revoked version
/// ([`Error::Revoked`]) or an operation the store does not support, and `failure` otherwise.
/// Listing and metadata are not recorded. The log's own key and head (see
/// [`AuditLog::keeps`]) are never recorded, so the log may keep its key in the store it
/// audits.
pub struct AuditedStore {
    inner: Arc<dyn SecretStore>,
    log: Arc<AuditLog>,
}

impl AuditedStore {
    /// Records the operations on `inner` in `log`.
    pub fn new(inner: Arc<dyn SecretStore>, log: Arc<AuditLog>) -> Self {
        Self { inner, log }
    }

    /// The store underneath.
    pub fn inner(&self) -> &Arc<dyn SecretStore> {
        &self.inner
    }

    /// Appends one entry for `name`; a failure is a warning, never an error.
    async fn record<T>(&self, kind: EventKind, name: &str, result: &Result<T>) {
        if self.log.keeps(name) {
            return;
        }
        let outcome = match result {
            Ok(_) => Outcome::Success,
            Err(Error::Revoked { .. } | Error::Unsupported { .. }) => Outcome::Refused,
            Err(_) => Outcome::Failure,
        };
        let event = match Event::new(kind, name, outcome) {
            Ok(event) => event,
            // A name the store would refuse too; its text may be a value passed by mistake.
            Err(e) => {
                tracing::warn!(target: "keyward_secrets::audit", event = %kind, error = %e, "not audited: the name is not a valid subject");
                return;
            }
        };
        if let Err(e) = self.log.append(&event).await {
            tracing::warn!(target: "keyward_secrets::audit", event = %kind, secret = name, outcome = %outcome, error = %e, "the audit log could not record an operation; the operation goes on");
        }
    }
}

impl std::fmt::Debug for AuditedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditedStore")
            .field("inner", &self.inner)
            .field("log", &self.log)
            .finish()
    }
}

#[async_trait]
impl SecretStore for AuditedStore {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<String>> {
        self.inner.changes()
    }

    fn stage_label<'a>(&self, stage: &'a str) -> std::borrow::Cow<'a, str> {
        self.inner.stage_label(stage)
    }

    fn invalidate(&self, name: &str) {
        self.inner.invalidate(name);
    }

    async fn get(&self, name: &str, which: &Selector) -> Result<Secret> {
        let result = self.inner.get(name, which).await;
        self.record(EventKind::SecretRead, name, &result).await;
        result
    }

    async fn get_fresh(&self, name: &str) -> Result<Secret> {
        let result = self.inner.get_fresh(name).await;
        self.record(EventKind::SecretRead, name, &result).await;
        result
    }

    async fn put(&self, name: &str, value: &SecretValue) -> Result<Metadata> {
        let result = self.inner.put(name, value).await;
        self.record(EventKind::SecretWrite, name, &result).await;
        result
    }

    async fn put_pending(&self, name: &str, value: &SecretValue) -> Result<Metadata> {
        let result = self.inner.put_pending(name, value).await;
        self.record(EventKind::SecretWrite, name, &result).await;
        result
    }

    async fn promote(&self, name: &str, version: &str) -> Result<()> {
        let result = self.inner.promote(name, version).await;
        self.record(EventKind::Rotation, name, &result).await;
        result
    }

    async fn delete(&self, name: &str) -> Result<()> {
        let result = self.inner.delete(name).await;
        self.record(EventKind::SecretWrite, name, &result).await;
        result
    }

    async fn list(&self) -> Result<Vec<String>> {
        self.inner.list().await
    }

    async fn versions(&self, name: &str) -> Result<Vec<Metadata>> {
        self.inner.versions(name).await
    }

    async fn metadata(&self, name: &str) -> Result<Metadata> {
        self.inner.metadata(name).await
    }

    async fn revoke(&self, name: &str, reason: Option<&str>) -> Result<Revocation> {
        let result = self.inner.revoke(name, reason).await;
        self.record(EventKind::Revocation, name, &result).await;
        result
    }

    async fn revocation(&self, name: &str) -> Result<Option<Revocation>> {
        self.inner.revocation(name).await
    }

    async fn revocations(&self) -> Result<Vec<Revocation>> {
        self.inner.revocations().await
    }

    async fn credential_ages(&self) -> Result<Vec<CredentialAge>> {
        self.inner.credential_ages().await
    }
}
