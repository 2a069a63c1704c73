//! A store whose writes fail while `failing` is set: what a full disk or an outage of the audit
//! log's key store looks like. Also [`Captured`], the log lines a test's thread writes.
#![allow(dead_code)] // reason: each test binary uses part of this

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use keyward_secrets_backends::{
    Capabilities, Error, Metadata, Secret, SecretStore, SecretValue, Selector,
};

#[derive(Debug)]
pub struct Flaky {
    pub inner: Arc<dyn SecretStore>,
    pub failing: AtomicBool,
}

impl Flaky {
    pub fn new(inner: Arc<dyn SecretStore>) -> Self {
        Self {
            inner,
            failing: AtomicBool::new(false),
        }
    }

    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl SecretStore for Flaky {
    fn kind(&self) -> &'static str {
        "flaky"
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn get(&self, name: &str, which: &Selector) -> Result<Secret, Error> {
        self.inner.get(name, which).await
    }
    async fn put(&self, name: &str, value: &SecretValue) -> Result<Metadata, Error> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::Backend {
                store: "flaky",
                message: "unreachable".into(),
            });
        }
        self.inner.put(name, value).await
    }
    async fn delete(&self, name: &str) -> Result<(), Error> {
        self.inner.delete(name).await
    }
    async fn list(&self) -> Result<Vec<String>, Error> {
        self.inner.list().await
    }
    async fn versions(&self, name: &str) -> Result<Vec<Metadata>, Error> {
        self.inner.versions(name).await
    }
}

/// Log lines written while `f` runs, at every level, as text.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Installs a subscriber writing here for the current thread; keep the guard alive.
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}
