//! [`OAuth2Login`]: a generic OAuth 2.0 authorization-code login with a TOTP step, for brokers
//! whose login is a web form, a second factor, and the RFC 6749 section 4.1 code flow.
//!
//! The flow, one request per step, never retrying a refused one:
//! 1. `login`: the login form, `POST` of the username and password (form-encoded; the field
//!    names are configurable). Cookies the server sets are kept for the next steps, per host.
//! 2. `totp`: the second factor, `POST` of the code from a [`CodeSource`] (generated with the
//!    window-edge guard, or typed by a person in prompt-only mode).
//! 3. `authorize`: `GET` of the authorization endpoint with `response_type=code`, `client_id`,
//!    `redirect_uri`, a fresh random `state` and the optional `scope` (RFC 6749 4.1.1). The
//!    answer must be a redirect to the configured `redirect_uri` carrying `code` and the same
//!    `state` (4.1.2; an `error` there is 4.1.2.1). The redirect is read, never followed.
//! 4. `token`: `POST` to the token endpoint with `grant_type=authorization_code`, the `code`,
//!    `redirect_uri` and `client_id`, authenticated with the client secret (HTTP Basic by
//!    default, or in the body: RFC 6749 2.3.1, 4.1.3). A 200 answer is RFC 6749 5.1's JSON
//!    (`access_token`, `token_type` Bearer, `expires_in` read as the token's expiry on the
//!    injected clock); an error is 5.2's.
//!
//! Every URL (the four endpoints and the redirect URI) is `https://`, or `http://` to a
//! loopback address: the crate's URL policy. Form steps succeed on a 2xx or 3xx answer; a 400,
//! 401 or 403 is a refusal ([`LoginError::CredentialsRejected`] at `login`,
//! [`LoginError::TotpRejected`] at `totp`), a 423 a lock; either ends the login at once.
//!
//! The token exchange is hand-written rather than with the `oauth2` crate: its bundled reqwest
//! client reads a response body without a ceiling (this crate reads at most
//! [`MAX_ANSWER`] bytes of any login answer), it would bring chrono and a second HTTP client
//! configuration besides [`Transport`]'s, and the exchange is one form POST and one JSON
//! object whose fields RFC 6749 5.1 names.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use keyward_secrets_backends::SecretStore;
use keyward_signing::{Clock, SystemClock};
use secrecy::SecretString;
use url::Url;

use super::code_source::CodeSource;
use super::login_error::LoginError;
use super::login_fields::LoginFields;
use super::oauth2_http::Endpoint;
use super::token::ExpiryRule;
use super::totp::Totp;
use super::totp_seed::TOTP_SECRET_FIELD;
use crate::error::{Error, Result};
use crate::transport::Transport;
use crate::url_policy::check_endpoint_url;

/// The largest answer a login step reads: 64 KiB (every broker login's cap).
pub const MAX_ANSWER: usize = super::login_http::MAX_LOGIN_BODY;

/// How the client authenticates at the token endpoint (RFC 6749 2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// `Authorization: Basic` of the form-encoded client id and secret (the RFC's
    /// recommendation, and what servers must support).
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Body,
}

/// The names of the form fields of the login and TOTP steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormFields {
    /// The user name field of the login form (default `username`).
    pub username: String,
    /// The password field of the login form (default `password`).
    pub password: String,
    /// The code field of the TOTP form (default `code`).
    pub code: String,
}

impl Default for FormFields {
    fn default() -> Self {
        Self {
            username: "username".into(),
            password: "password".into(),
            code: "code".into(),
        }
    }
}

/// The generic OAuth 2.0 authorization-code login with a TOTP step (see the module docs).
/// A [`TokenProvider`](super::TokenProvider): put it behind a [`TokenCache`](super::TokenCache)
/// and a [`TokenGuard`](super::TokenGuard).
///
/// `Debug` shows the identity, venue and endpoints; never the password, client secret, codes
/// or tokens.
pub struct OAuth2Login {
    pub(super) identity: String,
    pub(super) venue: &'static str,
    pub(super) login: Endpoint,
    pub(super) totp: Endpoint,
    pub(super) authorize: Endpoint,
    pub(super) token: Endpoint,
    pub(super) redirect_uri: Url,
    pub(super) client_id: String,
    pub(super) client_secret: SecretString,
    pub(super) client_auth: ClientAuth,
    pub(super) scope: Option<String>,
    pub(super) username: String,
    pub(super) password: SecretString,
    pub(super) fields: FormFields,
    pub(super) code_source: CodeSource,
    pub(super) expiry_rule: ExpiryRule,
    pub(super) clock: Arc<dyn Clock>,
}

impl fmt::Debug for OAuth2Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2Login")
            .field("identity", &self.identity)
            .field("venue", &self.venue)
            .field("login", &self.login.url().as_str())
            .field("authorize", &self.authorize.url().as_str())
            .field("token", &self.token.url().as_str())
            .field("redirect_uri", &self.redirect_uri.as_str())
            .field("client_id", &self.client_id)
            .field("client_auth", &self.client_auth)
            .field("code_source", &self.code_source)
            .finish_non_exhaustive()
    }
}

impl OAuth2Login {
    /// A builder for a login as `identity` (the name of its credentials secret).
    pub fn builder(identity: impl Into<String>) -> OAuth2LoginBuilder {
        OAuth2LoginBuilder {
            identity: identity.into(),
            venue: "oauth2",
            urls: Urls::default(),
            client: None,
            user: None,
            scope: None,
            fields: FormFields::default(),
            client_auth: ClientAuth::default(),
            code_source: None,
            expiry_rule: ExpiryRule::JwtExp,
            clock: Arc::new(SystemClock),
            transport: Transport::default(),
            timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Default)]
struct Urls {
    login: Option<String>,
    totp: Option<String>,
    authorize: Option<String>,
    token: Option<String>,
    redirect_uri: Option<String>,
}

/// Builds an [`OAuth2Login`]. The four endpoints, the redirect URI, the client, the user and a
/// code source are required ([`credentials_from_store`](Self::credentials_from_store) reads the
/// last three from a secret).
pub struct OAuth2LoginBuilder {
    identity: String,
    venue: &'static str,
    urls: Urls,
    client: Option<(String, SecretString)>,
    user: Option<(String, SecretString)>,
    scope: Option<String>,
    fields: FormFields,
    client_auth: ClientAuth,
    code_source: Option<CodeSource>,
    expiry_rule: ExpiryRule,
    clock: Arc<dyn Clock>,
    transport: Transport,
    timeout: Duration,
}

impl fmt::Debug for OAuth2LoginBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2LoginBuilder")
            .field("identity", &self.identity)
            .field("venue", &self.venue)
            .finish_non_exhaustive()
    }
}

impl OAuth2LoginBuilder {
    /// The broker's name in errors (default `oauth2`).
    #[must_use]
    pub fn venue(mut self, venue: &'static str) -> Self {
        self.venue = venue;
        self
    }

    /// The login form's URL (step 1).
    #[must_use]
    pub fn login_url(mut self, url: impl Into<String>) -> Self {
        self.urls.login = Some(url.into());
        self
    }

    /// The TOTP form's URL (step 2).
    #[must_use]
    pub fn totp_url(mut self, url: impl Into<String>) -> Self {
        self.urls.totp = Some(url.into());
        self
    }

    /// The authorization endpoint (step 3).
    #[must_use]
    pub fn authorize_url(mut self, url: impl Into<String>) -> Self {
        self.urls.authorize = Some(url.into());
        self
    }

    /// The token endpoint (step 4).
    #[must_use]
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.urls.token = Some(url.into());
        self
    }

    /// The redirect URI registered for the client.
    #[must_use]
    pub fn redirect_uri(mut self, url: impl Into<String>) -> Self {
        self.urls.redirect_uri = Some(url.into());
        self
    }

    /// The client's id and secret.
    #[must_use]
    pub fn client(mut self, client_id: impl Into<String>, client_secret: SecretString) -> Self {
        self.client = Some((client_id.into(), client_secret));
        self
    }

    /// The user's name and password for the login form.
    #[must_use]
    pub fn user(mut self, username: impl Into<String>, password: SecretString) -> Self {
        self.user = Some((username.into(), password));
        self
    }

    /// The `scope` of the authorization request (none unless set).
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Other names for the form fields.
    #[must_use]
    pub fn fields(mut self, fields: FormFields) -> Self {
        self.fields = fields;
        self
    }

    /// How the client secret is sent (default [`ClientAuth::Basic`]).
    #[must_use]
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.client_auth = auth;
        self
    }

    /// Where the TOTP code comes from: a seed, or a person ([`CodeSource::Prompt`]).
    #[must_use]
    pub fn code_source(mut self, source: CodeSource) -> Self {
        self.code_source = Some(source);
        self
    }

    /// The broker's expiry rule besides `expires_in` (default [`ExpiryRule::JwtExp`]).
    #[must_use]
    pub fn expiry_rule(mut self, rule: ExpiryRule) -> Self {
        self.expiry_rule = rule;
        self
    }

    /// The clock `expires_in` is counted from (the system clock unless injected).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The transport (trusted roots, User-Agent, proxy) of every step.
    #[must_use]
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// The time limit of each step's request (default 30 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Reads the user and client from the secret `name` in `store` (named fields, or one JSON
    /// object of strings, as [`UpstoxLogin`](super::UpstoxLogin) reads its secret): fields
    /// `username`, `password`, `client_id`, `client_secret`, and `redirect_uri` unless already
    /// set; and,
    /// unless a code source is already set, the TOTP seed (its `totp_secret` field) with a
    /// window-edge guard of `min_remaining`. A missing field is a
    /// [`LoginError::Credentials`] naming it.
    pub async fn credentials_from_store(
        mut self,
        store: &dyn SecretStore,
        name: &str,
        min_remaining: Duration,
    ) -> std::result::Result<Self, LoginError> {
        let fields = LoginFields::read(store, name).await?;
        let field = |f: &str| fields.require(f).map(str::to_owned);
        self.user = Some((field("username")?, SecretString::from(field("password")?)));
        self.client = Some((
            field("client_id")?,
            SecretString::from(field("client_secret")?),
        ));
        if self.urls.redirect_uri.is_none() {
            self.urls.redirect_uri = Some(field("redirect_uri")?);
        }
        if self.code_source.is_none() {
            let totp = Totp::parse(fields.require(TOTP_SECRET_FIELD)?)?
                .with_clock(Arc::clone(&self.clock));
            self.code_source = Some(CodeSource::Totp {
                totp: Arc::new(totp),
                min_remaining,
            });
        }
        Ok(self)
    }

    /// Checks the URLs against the policy and builds the login.
    pub fn build(self) -> Result<OAuth2Login> {
        let need = |v: Option<String>, what: &str| {
            v.ok_or_else(|| Error::config(format!("the OAuth2 login needs its {what}")))
        };
        let endpoint = |v: Option<String>, what: &'static str| -> Result<Endpoint> {
            let url = check_endpoint_url(&need(v, what)?, what)?;
            Endpoint::new(url, &self.transport, self.timeout)
        };
        let login = endpoint(self.urls.login.clone(), "login URL")?;
        let totp = endpoint(self.urls.totp.clone(), "TOTP URL")?;
        let authorize = endpoint(self.urls.authorize.clone(), "authorization URL")?;
        let token = endpoint(self.urls.token.clone(), "token URL")?;
        let redirect_uri = check_endpoint_url(
            &need(self.urls.redirect_uri, "redirect URI")?,
            "redirect URI",
        )?;
        let (client_id, client_secret) = self
            .client
            .ok_or_else(|| Error::config("the OAuth2 login needs its client id and secret"))?;
        let (username, password) = self
            .user
            .ok_or_else(|| Error::config("the OAuth2 login needs its username and password"))?;
        let code_source = self
            .code_source
            .ok_or_else(|| Error::config("the OAuth2 login needs a TOTP seed or a code prompt"))?;
        Ok(OAuth2Login {
            identity: self.identity,
            venue: self.venue,
            login,
            totp,
            authorize,
            token,
            redirect_uri,
            client_id,
            client_secret,
            client_auth: self.client_auth,
            scope: self.scope,
            username,
            password,
            fields: self.fields,
            code_source,
            expiry_rule: self.expiry_rule,
            clock: self.clock,
        })
    }
}
