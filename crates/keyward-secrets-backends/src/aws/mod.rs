//! AWS Secrets Manager (feature `aws`), configured by the standard AWS chain.
//!
//! Our stages map to AWS staging labels: [`CURRENT`] ↔ `AWSCURRENT`, [`PREVIOUS`](crate::PREVIOUS) ↔ `AWSPREVIOUS`,
//! [`PENDING`] ↔ `AWSPENDING`. A value is stored as `SecretString` when its stored form is UTF-8
//! (fields become a JSON object, as the AWS console writes them), else as `SecretBinary`.
//!
//! Every read names a version stage or a version id: some emulators answer a read without one with
//! a stale version after a stage move.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::SharedHttpClient;
use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_sdk_secretsmanager::config::timeout::TimeoutConfig;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls;
use zeroize::Zeroizing;

mod convert;
mod revoke;

use convert::{Payload, current_of, next_page, payload, stages_of, system_time, to_aws_stage};

use crate::age::{CredentialAge, RotationPolicy};
use crate::error::{Error, Result};
use crate::revocation::{Revocation, from_ms, validate_reason};
use crate::store::{
    CURRENT, Capabilities, Metadata, PENDING, Secret, SecretStore, Selector, validate_name,
};
use crate::value::SecretValue;
use crate::{Clock, SystemClock};

/// The store's kind, in errors and [`SecretStore::kind`].
const KIND: &str = "aws";
/// Secrets Manager's labels for our stages.
const AWS_CURRENT: &str = "AWSCURRENT";
const AWS_PREVIOUS: &str = "AWSPREVIOUS";
const AWS_PENDING: &str = "AWSPENDING";

/// AWS Secrets Manager as a [`SecretStore`]: versioned, with stages.
///
/// Each call is bounded by a timeout ([`AwsStore::DEFAULT_TIMEOUT`] unless the configuration or
/// [`AwsStore::with_timeout`] says otherwise), retries included, so an endpoint that never answers
/// gives [`Error::Backend`] ("timed out after ...") instead of a hang. `Debug` shows the region,
/// endpoint, name prefix and timeout, never a value.
#[derive(Clone)]
pub struct AwsStore {
    client: Client,
    prefix: String,
    endpoint: Option<String>,
    timeout: Duration,
    policy: RotationPolicy,
    clock: Arc<dyn Clock>,
}

impl AwsStore {
    /// The timeout of one call, retries included, unless configured otherwise.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// How many attempts one call makes at most, unless configured otherwise.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

    /// A store configured by the standard AWS chain: `AWS_REGION`, `AWS_ACCESS_KEY_ID` ...,
    /// profiles, instance roles, and `AWS_ENDPOINT_URL` (for instance a local emulator).
    /// Its HTTPS client is [`AwsStore::https_client`].
    pub async fn from_env() -> Self {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .http_client(Self::https_client())
            .load()
            .await;
        Self::from_config(&config)
    }

    /// The HTTPS client keyward gives the AWS SDK: rustls with the `ring` crypto provider chosen
    /// explicitly (as keyward's REST and WebSocket clients choose it; never rustls' process-level
    /// default, which rustls cannot pick when several providers are compiled in), the system's
    /// root certificates, certificate verification always on, and no proxy (the SDK's client
    /// reads no proxy variable). Pass it to `aws_config::ConfigLoader::http_client` when you load
    /// a configuration yourself for [`AwsStore::from_config`].
    pub fn https_client() -> SharedHttpClient {
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https()
    }

    /// A store from a loaded AWS configuration. Its timeout and retry settings are kept when it
    /// has them; otherwise [`AwsStore::DEFAULT_TIMEOUT`] and
    /// [`AwsStore::DEFAULT_MAX_ATTEMPTS`] apply. Its HTTP client is kept when it has one;
    /// otherwise [`AwsStore::https_client`] is used.
    pub fn from_config(config: &SdkConfig) -> Self {
        let configured = config
            .timeout_config()
            .and_then(TimeoutConfig::operation_timeout);
        let timeout = configured.unwrap_or(Self::DEFAULT_TIMEOUT);
        let mut builder = aws_sdk_secretsmanager::config::Builder::from(config);
        if configured.is_none() {
            builder = builder.timeout_config(timeouts(timeout));
        }
        if config.http_client().is_none() {
            builder = builder.http_client(Self::https_client());
        }
        if config.retry_config().is_none() {
            builder = builder.retry_config(
                RetryConfig::standard().with_max_attempts(Self::DEFAULT_MAX_ATTEMPTS),
            );
        }
        Self {
            client: Client::from_conf(builder.build()),
            prefix: String::new(),
            endpoint: config.endpoint_url().map(str::to_owned),
            timeout,
            policy: RotationPolicy::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// The same store with every call bounded by `timeout` (each attempt and the whole call).
    #[must_use]
    pub fn with_timeout(self, timeout: Duration) -> Self {
        let config = self
            .client
            .config()
            .to_builder()
            .timeout_config(timeouts(timeout))
            .build();
        Self {
            client: Client::from_conf(config),
            timeout,
            ..self
        }
    }

    /// The same store with every secret name prefixed by `prefix` in AWS (for instance
    /// `prod/keyward/`); `list` shows only the names under it, without the prefix.
    pub fn with_prefix(self, prefix: impl Into<String>) -> Result<Self> {
        let prefix = prefix.into();
        if !prefix.is_empty() {
            validate_name(&prefix)?;
        }
        Ok(Self { prefix, ..self })
    }

    /// The timeout of one call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Uses `policy` to decide when a credential is due for rotation (90 days by default),
    /// counted from its current version's `CreatedDate`.
    #[must_use]
    pub fn with_rotation_policy(self, policy: RotationPolicy) -> Self {
        Self { policy, ..self }
    }

    /// Reads time from `clock` (rotation age, revocation times) instead of the system clock.
    #[must_use]
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        Self { clock, ..self }
    }

    fn now(&self) -> std::time::SystemTime {
        from_ms(self.clock.now_ms())
    }

    /// Whether a version with these stages, created then, is due (only the current one is).
    fn due(&self, stages: &[String], created: Option<std::time::SystemTime>) -> Option<bool> {
        if !stages.iter().any(|s| s == CURRENT) {
            return None;
        }
        created.map(|at| self.policy.is_due(at, self.now()))
    }

    /// The AWS name of a secret: checked, then prefixed.
    fn aws_name(&self, name: &str) -> Result<String> {
        validate_name(name)?;
        let full = format!("{}{name}", self.prefix);
        validate_name(&full)?;
        Ok(full)
    }

    /// Maps an SDK error: a missing resource is [`Error::NotFound`], a timeout says so, anything
    /// else is [`Error::Backend`] with the SDK's message (which never holds a request's input).
    fn error<E, R>(&self, name: &str, detail: Option<String>, error: SdkError<E, R>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        let timed_out = match &error {
            SdkError::TimeoutError(_) => true,
            SdkError::DispatchFailure(failure) => failure.is_timeout(),
            _ => false,
        };
        if timed_out {
            return Error::Backend {
                store: KIND,
                message: format!(
                    "timed out after {:?} waiting for {}",
                    self.timeout,
                    self.endpoint.as_deref().unwrap_or("AWS Secrets Manager")
                ),
            };
        }
        if error.code() == Some("ResourceNotFoundException") {
            return Error::NotFound {
                name: name.to_owned(),
                detail,
            };
        }
        Error::Backend {
            store: KIND,
            message: DisplayErrorContext(&error).to_string(),
        }
    }

    /// Every version's id and AWS labels (`DescribeSecret`): `NotFound` for a missing secret.
    async fn labels(&self, name: &str, aws_name: &str) -> Result<HashMap<String, Vec<String>>> {
        Ok(self.described(name, aws_name).await?.0)
    }

    /// Every version's id and AWS labels, and the revocation the secret's tags record if its
    /// version is still current (`DescribeSecret`).
    async fn described(
        &self,
        name: &str,
        aws_name: &str,
    ) -> Result<(HashMap<String, Vec<String>>, Option<Revocation>)> {
        let described = self
            .client
            .describe_secret()
            .secret_id(aws_name)
            .send()
            .await
            .map_err(|e| self.error(name, None, e))?;
        let labels = described.version_ids_to_stages.unwrap_or_default();
        let revoked = revoke::from_tags(name, described.tags.as_deref().unwrap_or_default())
            .filter(|r| current_of(name, &labels).is_ok_and(|c| c == r.version));
        Ok((labels, revoked))
    }
}

/// Timeouts bounding each attempt and the whole call (retries included) by `timeout`.
fn timeouts(timeout: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(timeout)
        .operation_attempt_timeout(timeout)
        .operation_timeout(timeout)
        .build()
}

#[async_trait]
impl SecretStore for AwsStore {
    fn kind(&self) -> &'static str {
        KIND
    }

    /// Secrets Manager's own labels: `AWSCURRENT`, `AWSPREVIOUS`, `AWSPENDING`.
    fn stage_label<'a>(&self, stage: &'a str) -> std::borrow::Cow<'a, str> {
        std::borrow::Cow::Borrowed(to_aws_stage(stage))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            writable: true,
            versioned: true,
            stages: true,
        }
    }

    async fn get(&self, name: &str, which: &Selector) -> Result<Secret> {
        let aws_name = self.aws_name(name)?;
        let request = self.client.get_secret_value().secret_id(&aws_name);
        let (request, detail) = match which {
            // Always name a stage: a read without one may see a stale version after a move.
            Selector::Current => (request.version_stage(AWS_CURRENT), None),
            Selector::Version(id) => (request.version_id(id), Some(format!("version {id}"))),
            Selector::Stage(stage) => (
                request.version_stage(to_aws_stage(stage)),
                Some(format!("stage {stage}")),
            ),
        };
        let mut out = request
            .send()
            .await
            .map_err(|e| self.error(name, detail, e))?;
        let value = match (out.secret_string.take(), out.secret_binary.take()) {
            (Some(text), _) => SecretValue::from_stored(Zeroizing::new(text).as_bytes()),
            (None, Some(blob)) => SecretValue::from_stored(&Zeroizing::new(blob.into_inner())),
            (None, None) => {
                return Err(Error::Corrupt {
                    name: name.to_owned(),
                    reason: "the version has neither a string nor a binary value".to_owned(),
                });
            }
        };
        let version = out.version_id.unwrap_or_default();
        let stages = stages_of(out.version_stages);
        if stages.iter().any(|s| s == CURRENT)
            && let (_, Some(revoked)) = self.described(name, &aws_name).await?
            && revoked.version == version
        {
            return Err(revoked.refusal());
        }
        let created = system_time(out.created_date);
        Ok(Secret {
            value,
            meta: Metadata {
                name: name.to_owned(),
                version,
                rotation_due: self.due(&stages, created),
                created,
                stages,
            },
        })
    }

    async fn put(&self, name: &str, value: &SecretValue) -> Result<Metadata> {
        let aws_name = self.aws_name(name)?;
        let meta = |version: Option<String>| Metadata {
            name: name.to_owned(),
            version: version.unwrap_or_default(),
            created: None,
            stages: vec![CURRENT.to_owned()],
            rotation_due: None,
        };
        // Twice at most: a secret created by someone else between our two calls is updated.
        for _ in 0..2 {
            let update = match payload(value) {
                Payload::Text(text) => self.client.put_secret_value().secret_string(text.as_str()),
                Payload::Binary(blob) => self.client.put_secret_value().secret_binary(blob),
            };
            match update.secret_id(&aws_name).send().await {
                Ok(out) => return Ok(meta(out.version_id)),
                Err(e) if e.code() == Some("ResourceNotFoundException") => {}
                Err(e) => return Err(self.error(name, None, e)),
            }
            let create = match payload(value) {
                Payload::Text(text) => self.client.create_secret().secret_string(text.as_str()),
                Payload::Binary(blob) => self.client.create_secret().secret_binary(blob),
            };
            match create.name(&aws_name).send().await {
                Ok(out) => return Ok(meta(out.version_id)),
                Err(e) if e.code() == Some("ResourceExistsException") => {}
                Err(e) => return Err(self.error(name, None, e)),
            }
        }
        Err(Error::Backend {
            store: KIND,
            message: format!("{name} was created and deleted concurrently; try again"),
        })
    }

    async fn put_pending(&self, name: &str, value: &SecretValue) -> Result<Metadata> {
        let aws_name = self.aws_name(name)?;
        let request = match payload(value) {
            Payload::Text(text) => self.client.put_secret_value().secret_string(text.as_str()),
            Payload::Binary(blob) => self.client.put_secret_value().secret_binary(blob),
        };
        let out = request
            .secret_id(&aws_name)
            .version_stages(AWS_PENDING)
            .send()
            .await
            .map_err(|e| self.error(name, None, e))?;
        Ok(Metadata {
            name: name.to_owned(),
            version: out.version_id.unwrap_or_default(),
            created: None,
            stages: vec![PENDING.to_owned()],
            rotation_due: None,
        })
    }

    async fn promote(&self, name: &str, version: &str) -> Result<()> {
        let aws_name = self.aws_name(name)?;
        let labels = self.labels(name, &aws_name).await?;
        let current = current_of(name, &labels)?;
        let Some(on_version) = labels.get(version) else {
            return Err(Error::NotFound {
                name: name.to_owned(),
                detail: Some(format!("version {version}")),
            });
        };
        let pending = on_version.iter().any(|l| l == AWS_PENDING);
        if current != version {
            // AWS moves AWSPREVIOUS to the version that loses AWSCURRENT.
            self.client
                .update_secret_version_stage()
                .secret_id(&aws_name)
                .version_stage(AWS_CURRENT)
                .move_to_version_id(version)
                .remove_from_version_id(&current)
                .send()
                .await
                .map_err(|e| self.error(name, Some(format!("version {version}")), e))?;
        }
        if pending {
            self.client
                .update_secret_version_stage()
                .secret_id(&aws_name)
                .version_stage(AWS_PENDING)
                .remove_from_version_id(version)
                .send()
                .await
                .map_err(|e| self.error(name, Some(format!("version {version}")), e))?;
        }
        Ok(())
    }

    async fn delete(&self, name: &str) -> Result<()> {
        let aws_name = self.aws_name(name)?;
        // A forced delete of a missing secret succeeds on some emulators: ask first, so that a
        // missing secret is `NotFound` everywhere, as AWS itself answers.
        self.labels(name, &aws_name).await?;
        self.client
            .delete_secret()
            .secret_id(&aws_name)
            .force_delete_without_recovery(true)
            .send()
            .await
            .map_err(|e| self.error(name, None, e))?;
        Ok(())
    }

    async fn list(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut token = None;
        let mut pages = 0;
        loop {
            let out = self
                .client
                .list_secrets()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| self.error("(list)", None, e))?;
            names.extend(
                out.secret_list
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|s| s.name?.strip_prefix(&self.prefix).map(str::to_owned)),
            );
            token = next_page(out.next_token, &mut pages)?;
            if token.is_none() {
                break;
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    async fn versions(&self, name: &str) -> Result<Vec<Metadata>> {
        let aws_name = self.aws_name(name)?;
        let mut versions = Vec::new();
        let mut token = None;
        let mut pages = 0;
        loop {
            let out = self
                .client
                .list_secret_version_ids()
                .secret_id(&aws_name)
                .include_deprecated(false)
                .set_next_token(token)
                .send()
                .await;
            let out = match out {
                Ok(out) => out,
                Err(e) => {
                    // Some emulators fail with a 500 for a missing secret: describing it tells
                    // `NotFound` from an outage.
                    let error = self.error(name, None, e);
                    self.labels(name, &aws_name).await?;
                    return Err(error);
                }
            };
            versions.extend(out.versions.unwrap_or_default().into_iter().map(|v| {
                let stages = stages_of(v.version_stages);
                let created = system_time(v.created_date);
                Metadata {
                    name: name.to_owned(),
                    version: v.version_id.unwrap_or_default(),
                    rotation_due: self.due(&stages, created),
                    created,
                    stages,
                }
            }));
            token = next_page(out.next_token, &mut pages)?;
            if token.is_none() {
                break;
            }
        }
        // Stable: versions created within one clock tick keep the service's order.
        versions.sort_by_key(|m| m.created);
        Ok(versions)
    }

    async fn metadata(&self, name: &str) -> Result<Metadata> {
        // From the version list, so that reading metadata never fetches the value.
        self.versions(name)
            .await?
            .into_iter()
            .find(|m| m.stages.iter().any(|s| s == CURRENT))
            .ok_or_else(|| Error::NotFound {
                name: name.to_owned(),
                detail: Some(format!("stage {CURRENT}")),
            })
    }

    /// Tags the secret with the current version, the time and the reason (a revocation of a
    /// version no longer current is replaced).
    async fn revoke(&self, name: &str, reason: Option<&str>) -> Result<Revocation> {
        let aws_name = self.aws_name(name)?;
        let reason = validate_reason(reason)?;
        let (labels, existing) = self.described(name, &aws_name).await?;
        if let Some(existing) = existing {
            return Ok(existing);
        }
        let revocation = Revocation {
            name: name.to_owned(),
            version: current_of(name, &labels)?,
            at: self.now(),
            reason,
        };
        // A reason of an earlier, replaced revocation must not linger beside the new one.
        self.client
            .untag_resource()
            .secret_id(&aws_name)
            .tag_keys(revoke::TAG_REASON)
            .send()
            .await
            .map_err(|e| self.error(name, None, e))?;
        self.client
            .tag_resource()
            .secret_id(&aws_name)
            .set_tags(Some(revoke::to_tags(&revocation)))
            .send()
            .await
            .map_err(|e| self.error(name, None, e))?;
        Ok(revocation)
    }

    async fn revocation(&self, name: &str) -> Result<Option<Revocation>> {
        let aws_name = self.aws_name(name)?;
        Ok(self.described(name, &aws_name).await?.1)
    }

    /// The secrets under the prefix tagged as revoked whose revoked version is still current.
    async fn revocations(&self) -> Result<Vec<Revocation>> {
        let mut found = Vec::new();
        for name in self.list().await? {
            if let Some(r) = self.revocation(&name).await? {
                found.push(r);
            }
        }
        Ok(found)
    }

    /// Each secret's age from its current version's `CreatedDate`.
    async fn credential_ages(&self) -> Result<Vec<CredentialAge>> {
        let now = self.now();
        let mut ages = Vec::new();
        for name in self.list().await? {
            let created = match self.metadata(&name).await {
                Ok(meta) => meta.created,
                Err(Error::NotFound { .. }) => None,
                Err(e) => return Err(e),
            };
            ages.push(CredentialAge::at(name, created, &self.policy, now));
        }
        Ok(ages)
    }
}

impl fmt::Debug for AwsStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsStore")
            .field(
                "region",
                &self.client.config().region().map(|r| r.as_ref().to_owned()),
            )
            .field("endpoint", &self.endpoint)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("policy", &self.policy)
            .finish()
    }
}
