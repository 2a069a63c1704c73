//! [`RefusalAudit`]: a verifier's refusals written to the audit log.
//!
//! It lives here because this is the lowest crate that sees both the verifier (keyward-signing)
//! and the audit log (keyward-secrets-backends), which may not depend on each other.

use keyward_secrets_backends::audit::{AuditSink, Event, EventKind, Outcome};
use keyward_signing::Scheme;
use keyward_signing::verify::{RefusalObserver, VerifyError};

/// A [`RefusalObserver`] that queues each refusal as an audit entry: event
/// `verifier_refusal`, outcome `refused`, subject `verifier/<scheme>/<kind>` (the scheme's name
/// and [`VerifyError::kind`]; never the request, its key or its signature).
///
/// ```no_run
/// # async fn demo(log: std::sync::Arc<keyward_secrets_backends::audit::AuditLog>,
/// #     keys: std::sync::Arc<dyn keyward_signing::verify::KeyResolver>) {
/// use std::sync::Arc;
/// use keyward_exchange_client::RefusalAudit;
/// use keyward_secrets_backends::audit::AuditSink;
/// use keyward_signing::{Scheme, verify::Verifier};
///
/// let (sink, _task) = AuditSink::spawn(log, AuditSink::DEFAULT_CAPACITY);
/// let verifier = Verifier::new(Scheme::HmacConcat, keys)
///     .with_observer(Arc::new(RefusalAudit::new(sink)));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RefusalAudit {
    sink: AuditSink,
}

impl RefusalAudit {
    /// Refusals go to `sink` (which never blocks the verifier).
    pub fn new(sink: AuditSink) -> Self {
        Self { sink }
    }
}

impl RefusalObserver for RefusalAudit {
    fn refused(&self, scheme: Scheme, error: &VerifyError) {
        let subject = format!("verifier/{scheme}/{}", error.kind());
        match Event::new(EventKind::VerifierRefusal, &subject, Outcome::Refused) {
            Ok(event) => {
                self.sink.record(event);
            }
            Err(error) => {
                tracing::warn!(%error, "could not name a verifier refusal for the audit log")
            }
        }
    }
}
