//! [`UpstoxLogin`]: Upstox's TOTP login, the six steps the `upstox-totp` Python SDK (1.0.8)
//! drives (`upstox_totp/_api/app_token.py`; docs/guides/broker-sessions.md has the details):
//!
//! 1. `GET {api}/v2/login/authorization/dialog?response_type=code&client_id&redirect_uri`: a
//!    redirect whose query carries `user_id`, `client_id` and `user_type` (read from
//!    `Location`, never followed);
//! 2. `POST {service}/login/open/v6/auth/1fa/otp/generate`: a `validateOTPToken`;
//! 3. `POST {service}/login/open/v4/auth/1fa/otp-totp/verify`: the TOTP code;
//! 4. `POST {service}/login/open/v3/auth/2fa?client_id&redirect_uri`: the PIN, base64;
//! 5. `POST {service}/login/v2/oauth/authorize?...`: the app's redirect URI with a `code`;
//! 6. `POST {api}/v2/login/authorization/token` (form body): the `access_token`.
//!
//! The login service answers `{"success", "data", "error": {"code", "message"}}` (HTTP 200 even
//! when it refuses); the API answers `{"status": "error", "errors": [...]}` when it refuses.
//! Steps 2 to 5 carry the cookies the steps before them set. A refused TOTP code or PIN ends
//! the login at once: nothing here retries a step.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use keyward_secrets_backends::SecretStore;
use reqwest::header::{ACCEPT, CONTENT_TYPE, COOKIE, HeaderValue, LOCATION};
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;
use zeroize::Zeroizing;

use super::code_source::CodeSource;
use super::login_error::LoginError;
use super::login_fields::LoginFields;
use super::login_http::{CookieJar, body as read_body, shown, transport};
use super::provider::TokenProvider;
use super::token::{AccessToken, ExpiryRule};
use super::totp::Totp;
use crate::transport::Transport;
use crate::url_policy::{BaseUrl, check_base_url};

/// The venue's name in errors.
const VENUE: &str = "upstox";
/// Upstox's API host.
pub const UPSTOX_API: &str = "https://api.upstox.com";
/// Upstox's login service host.
pub const UPSTOX_SERVICE: &str = "https://service.upstox.com";
/// The origin of Upstox's login page, sent as `Origin` and `Referer` as the page sends them.
const LOGIN_ORIGIN: &str = "https://login.upstox.com";
/// The `redirect_uri` of steps 4 and 5: Upstox's own, internal to its login page (the SDK's
/// `Config.redirect_uri_upstox`). Sent, never followed.
const INTERNAL_REDIRECT: &str = "https://api-v2.upstox.com/login/authorization/redirect";
/// The login service's codes for a blocked account (too many failed attempts).
const LOCKED_CODES: [u64; 1] = [1_017_069];
/// The default time limit of each request.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default window-edge guard of a TOTP code read from the secret.
const DEFAULT_MIN_REMAINING: Duration = Duration::from_secs(5);

/// The step names errors and logs use.
const DIALOG: &str = "authorization/dialog";
const OTP_GENERATE: &str = "1fa/otp/generate";
const OTP_VERIFY: &str = "1fa/otp-totp/verify";
const TWO_FA: &str = "2fa";
const AUTHORIZE: &str = "oauth/authorize";
const TOKEN: &str = "authorization/token";

/// Upstox's TOTP login as a [`TokenProvider`].
///
/// The login fields come from the secret named by [`UpstoxLogin::new`] (named fields, or a JSON
/// object of strings): `username` (the registered mobile number), `pin`, `client_id`,
/// `client_secret`, `redirect_uri`, and `totp_secret` unless the code comes from elsewhere
/// ([`UpstoxLogin::code_source`], or a seed in a secret of its own with
/// [`UpstoxLogin::totp_secret_name`]). A `password` field may be there; the TOTP flow does not
/// send it.
///
/// Tokens die at 03:30 Asia/Kolkata after they are issued ([`TokenProvider::expiry_rule`]);
/// the token's own `exp` claim, when it has one, is also set on the [`AccessToken`].
///
/// ```no_run
/// use std::sync::Arc;
/// use keyward_exchange_client::session::{TokenProvider, UpstoxLogin};
/// # async fn run(store: Arc<dyn keyward_secrets_backends::SecretStore>) -> Result<(), Box<dyn std::error::Error>> {
/// let login = UpstoxLogin::new(store, "upstox");
/// let token = login.login().await?;
/// assert!(!token.expose().is_empty());
/// # Ok(()) }
/// ```
pub struct UpstoxLogin {
    store: Arc<dyn SecretStore>,
    identity: String,
    codes: Option<CodeSource>,
    totp_secret_name: Option<String>,
    min_remaining: Duration,
    api: BaseUrl,
    service: BaseUrl,
    login_origin: String,
    transport: Transport,
    timeout: Duration,
}

impl fmt::Debug for UpstoxLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstoxLogin")
            .field("identity", &self.identity)
            .field("codes", &self.codes)
            .field("totp_secret_name", &self.totp_secret_name)
            .field("api", &self.api.origin)
            .field("service", &self.service.origin)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl UpstoxLogin {
    /// A login with the fields of the secret `name` of `store`, against Upstox's real hosts.
    pub fn new(store: Arc<dyn SecretStore>, name: impl Into<String>) -> Self {
        Self {
            store,
            identity: name.into(),
            codes: None,
            totp_secret_name: None,
            min_remaining: DEFAULT_MIN_REMAINING,
            api: fixed(UPSTOX_API),
            service: fixed(UPSTOX_SERVICE),
            login_origin: LOGIN_ORIGIN.to_owned(),
            transport: Transport::default(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Serves both hosts from one base URL, as the testnet does: the API at `<base>/api`, the
    /// login service at `<base>/service` (the SDK's `base_domain = "<base>/{stage}"`).
    /// `https://` anywhere, `http://` only to a loopback address.
    pub fn base_url(mut self, base: &str) -> crate::Result<Self> {
        let base = base.trim_end_matches('/');
        self.api = check_base_url(&format!("{base}/api"))?;
        self.service = check_base_url(&format!("{base}/service"))?;
        self.login_origin = format!("{}/login", self.api.origin);
        Ok(self)
    }

    /// Where the one-time code comes from: a TOTP generator, or a person
    /// ([`CodeSource::Prompt`], for accounts whose terms forbid automating it). Without one the
    /// seed is read at each login from the secret's `totp_secret` field (or
    /// [`UpstoxLogin::totp_secret_name`]).
    #[must_use]
    pub fn code_source(mut self, codes: CodeSource) -> Self {
        self.codes = Some(codes);
        self
    }

    /// Reads the TOTP seed from the secret `name` (its whole value, or its `totp_secret` field)
    /// instead of the login secret.
    #[must_use]
    pub fn totp_secret_name(mut self, name: impl Into<String>) -> Self {
        self.totp_secret_name = Some(name.into());
        self
    }

    /// The window-edge guard of a seed read from a store (default 5 s): a code with less of its
    /// step left is not sent; the login waits for the next one.
    #[must_use]
    pub fn min_remaining(mut self, min_remaining: Duration) -> Self {
        self.min_remaining = min_remaining;
        self
    }

    /// The transport (extra trusted roots, User-Agent, proxy).
    #[must_use]
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// The time limit of each request (default 30 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The code source of one login: the one given, else a TOTP from the stored seed.
    async fn codes(&self, fields: &LoginFields) -> Result<CodeSource, LoginError> {
        if let Some(codes) = &self.codes {
            return Ok(codes.clone());
        }
        let totp = match (&self.totp_secret_name, fields.get("totp_secret")) {
            (Some(name), _) => Totp::from_store(&*self.store, name).await?,
            (None, Some(seed)) => Totp::parse(seed)?,
            (None, None) => {
                return Err(LoginError::Credentials(format!(
                    "the secret {:?} has no totp_secret field, and no code source or seed secret was given",
                    self.identity
                )));
            }
        };
        Ok(CodeSource::Totp {
            totp: Arc::new(totp),
            min_remaining: self.min_remaining,
        })
    }
}

/// A base URL known to pass the policy (a constant of this module).
fn fixed(url: &str) -> BaseUrl {
    check_base_url(url).unwrap_or_else(|_| unreachable!("{url} is an https URL"))
}

/// The login service's answer to one step.
struct ServiceAnswer {
    success: bool,
    data: Value,
    code: Option<u64>,
    reason: String,
}

/// Reads the login service's `{"success", "data", "error"}`.
fn service_answer(
    step: &'static str,
    status: reqwest::StatusCode,
    bytes: &[u8],
) -> Result<ServiceAnswer, LoginError> {
    let protocol = |detail: String| LoginError::Protocol {
        venue: VENUE,
        step,
        detail,
    };
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|_| protocol(format!("HTTP {status} with a body that is not JSON")))?;
    let success = value
        .get("success")
        .and_then(Value::as_bool)
        .ok_or_else(|| protocol(format!("HTTP {status} without a success field")))?;
    let error = value.get("error").filter(|e| !e.is_null());
    let code = error.and_then(|e| match e.get("code") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    });
    let message = error
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("no message");
    let reason = match code {
        Some(code) => format!("{code}: {}", shown(message)),
        None => shown(message),
    };
    Ok(ServiceAnswer {
        success: success && status.is_success(),
        data: value.get("data").cloned().unwrap_or(Value::Null),
        code,
        reason,
    })
}

/// The API's refusal, `{"status": "error", "errors": [{"errorCode", "message"}]}`, as a reason.
fn api_reason(status: reqwest::StatusCode, bytes: &[u8]) -> String {
    let first = serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| v.get("errors").and_then(|e| e.get(0)).cloned());
    match first {
        Some(e) => format!(
            "HTTP {status}, {}: {}",
            shown(
                e.get("errorCode")
                    .and_then(Value::as_str)
                    .unwrap_or("no code")
            ),
            shown(
                e.get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("no message")
            )
        ),
        None => format!("HTTP {status}"),
    }
}

/// The string field `name` of `data`, or the protocol error naming it.
fn data_text<'a>(step: &'static str, data: &'a Value, name: &str) -> Result<&'a str, LoginError> {
    data.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| LoginError::Protocol {
            venue: VENUE,
            step,
            detail: format!("the answer has no {name}"),
        })
}

/// The expiry in a JWT's `exp` claim, read without verifying the signature (only to schedule).
fn jwt_expiry(token: &str) -> Option<SystemTime> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?.as_u64()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(exp))
}

/// A request id as the SDK makes one: `WPRO-` and ten letters or digits.
fn request_id() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!("WPRO-{}", &hex[..10])
}

/// One login in progress: the HTTP client, the cookies and the request id.
struct Flow<'a> {
    login: &'a UpstoxLogin,
    http: reqwest::Client,
    jar: CookieJar,
    request_id: String,
}

impl Flow<'_> {
    /// Sends a JSON `body` to the login service at `path` (with `query`) and reads its answer.
    async fn service(
        &mut self,
        step: &'static str,
        path: &str,
        query: &[(&str, &str)],
        body: &Value,
    ) -> Result<ServiceAnswer, LoginError> {
        let svc = &self.login.service;
        let mut url = svc.request_url(&format!("{}{path}", svc.prefix), "");
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let payload = Zeroizing::new(serde_json::to_vec(body).unwrap_or_default());
        let mut request = self
            .http
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .header("origin", &self.login.login_origin)
            .header("referer", &self.login.login_origin)
            .header("x-request-id", &self.request_id)
            .body(payload.to_vec());
        if let Some(cookies) = self.jar.header() {
            if let Ok(mut value) = HeaderValue::from_str(&cookies) {
                value.set_sensitive(true);
                request = request.header(COOKIE, value);
            }
        }
        tracing::debug!(venue = VENUE, step, "login step");
        let response = request
            .send()
            .await
            .map_err(|e| transport(VENUE, step, &e))?;
        let status = response.status();
        self.jar.absorb(response.headers());
        let bytes = read_body(VENUE, step, response).await?;
        service_answer(step, status, &bytes)
    }

    /// Step 1: the dialog's redirect, read for `user_id` and `client_id`.
    async fn dialog(&mut self, fields: &LoginFields) -> Result<(String, String), LoginError> {
        let api = &self.login.api;
        let mut url = api.request_url(&format!("{}/v2/login/authorization/dialog", api.prefix), "");
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", fields.require("client_id")?)
            .append_pair("redirect_uri", fields.require("redirect_uri")?);
        tracing::debug!(venue = VENUE, step = DIALOG, "login step");
        let response = self
            .http
            .get(url.clone())
            .header(ACCEPT, "*/*")
            .header("x-request-id", &self.request_id)
            .send()
            .await
            .map_err(|e| transport(VENUE, DIALOG, &e))?;
        let status = response.status();
        self.jar.absorb(response.headers());
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = read_body(VENUE, DIALOG, response).await?;
        let Some(location) = location.filter(|_| status.is_redirection()) else {
            return Err(LoginError::CredentialsRejected {
                venue: VENUE,
                step: DIALOG,
                reason: api_reason(status, &bytes),
            });
        };
        let target = url.join(&location).map_err(|_| LoginError::Protocol {
            venue: VENUE,
            step: DIALOG,
            detail: "the redirect is not a URL".to_owned(),
        })?;
        let param = |name: &str| {
            target
                .query_pairs()
                .find(|(k, v)| k == name && !v.is_empty())
                .map(|(_, v)| v.into_owned())
                .ok_or_else(|| LoginError::Protocol {
                    venue: VENUE,
                    step: DIALOG,
                    detail: format!("the redirect's query has no {name}"),
                })
        };
        param("user_type")?;
        Ok((param("user_id")?, param("client_id")?))
    }

    /// The refusal of a step: the lock when the service says the account is blocked, else
    /// `refused`.
    fn refusal(answer: &ServiceAnswer, step: &'static str, refused: LoginError) -> LoginError {
        if answer.code.is_some_and(|c| LOCKED_CODES.contains(&c)) {
            LoginError::Locked {
                venue: VENUE,
                step,
                reason: answer.reason.clone(),
            }
        } else {
            refused
        }
    }

    /// Steps 1 to 6.
    async fn run(
        &mut self,
        fields: &LoginFields,
        codes: &CodeSource,
    ) -> Result<String, LoginError> {
        let (user_id, dialog_client_id) = self.dialog(fields).await?;

        let answer = self
            .service(
                OTP_GENERATE,
                "/login/open/v6/auth/1fa/otp/generate",
                &[],
                &json!({"data": {"mobileNumber": fields.require("username")?, "userId": user_id}}),
            )
            .await?;
        if !answer.success {
            let refused = LoginError::CredentialsRejected {
                venue: VENUE,
                step: OTP_GENERATE,
                reason: answer.reason.clone(),
            };
            return Err(Self::refusal(&answer, OTP_GENERATE, refused));
        }
        let validate = data_text(OTP_GENERATE, &answer.data, "validateOTPToken")?.to_owned();

        let code = codes
            .code(&format!("Upstox TOTP for {}", self.login.identity))
            .await?;
        let answer = self
            .service(
                OTP_VERIFY,
                "/login/open/v4/auth/1fa/otp-totp/verify",
                &[],
                &json!({"data": {"otp": code.as_str(), "validateOtpToken": validate}}),
            )
            .await?;
        drop(code);
        if !answer.success {
            let refused = LoginError::TotpRejected {
                venue: VENUE,
                step: OTP_VERIFY,
            };
            return Err(Self::refusal(&answer, OTP_VERIFY, refused));
        }

        let pin = Zeroizing::new(STANDARD.encode(fields.require("pin")?));
        let answer = self
            .service(
                TWO_FA,
                "/login/open/v3/auth/2fa",
                &[
                    ("client_id", &dialog_client_id),
                    ("redirect_uri", INTERNAL_REDIRECT),
                ],
                &json!({"data": {"twoFAMethod": "SECRET_PIN", "inputText": pin.as_str()}}),
            )
            .await?;
        drop(pin);
        if !answer.success {
            let refused = LoginError::PinRejected {
                venue: VENUE,
                step: TWO_FA,
            };
            return Err(Self::refusal(&answer, TWO_FA, refused));
        }

        let request_id = self.request_id.clone();
        let answer = self
            .service(
                AUTHORIZE,
                "/login/v2/oauth/authorize",
                &[
                    ("client_id", &dialog_client_id),
                    ("redirect_uri", INTERNAL_REDIRECT),
                    ("requestId", &request_id),
                    ("response_type", "code"),
                ],
                &json!({"data": {"userOAuthApproval": true}}),
            )
            .await?;
        if !answer.success {
            let refused = LoginError::CredentialsRejected {
                venue: VENUE,
                step: AUTHORIZE,
                reason: answer.reason.clone(),
            };
            return Err(Self::refusal(&answer, AUTHORIZE, refused));
        }
        let redirect = data_text(AUTHORIZE, &answer.data, "redirectUri")?;
        let auth_code = Url::parse(redirect)
            .ok()
            .and_then(|u| {
                u.query_pairs()
                    .find(|(k, _)| k == "code")
                    .map(|(_, v)| Zeroizing::new(v.into_owned()))
            })
            .filter(|c| !c.is_empty())
            .ok_or_else(|| LoginError::Protocol {
                venue: VENUE,
                step: AUTHORIZE,
                detail: "the redirect URI carries no code".to_owned(),
            })?;

        self.token(fields, &auth_code).await
    }

    /// Step 6: the code for the token, with the app's credentials, and no cookies (the SDK
    /// resets its session first).
    async fn token(&mut self, fields: &LoginFields, code: &str) -> Result<String, LoginError> {
        let api = &self.login.api;
        let url = api.request_url(&format!("{}/v2/login/authorization/token", api.prefix), "");
        let form = Zeroizing::new(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("code", code)
                .append_pair("client_id", fields.require("client_id")?)
                .append_pair("client_secret", fields.require("client_secret")?)
                .append_pair("redirect_uri", fields.require("redirect_uri")?)
                .append_pair("grant_type", "authorization_code")
                .finish(),
        );
        tracing::debug!(venue = VENUE, step = TOKEN, "login step");
        let response = self
            .http
            .post(url)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form.as_bytes().to_vec())
            .send()
            .await
            .map_err(|e| transport(VENUE, TOKEN, &e))?;
        let status = response.status();
        let bytes = read_body(VENUE, TOKEN, response).await?;
        if !status.is_success() {
            return Err(LoginError::CredentialsRejected {
                venue: VENUE,
                step: TOKEN,
                reason: api_reason(status, &bytes),
            });
        }
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| LoginError::Protocol {
            venue: VENUE,
            step: TOKEN,
            detail: format!("HTTP {status} with a body that is not JSON"),
        })?;
        // The answer is flat; accept it wrapped in `data` too.
        let data = value
            .get("data")
            .filter(|d| d.is_object())
            .unwrap_or(&value);
        Ok(data_text(TOKEN, data, "access_token")?.to_owned())
    }
}

#[async_trait]
impl TokenProvider for UpstoxLogin {
    fn identity(&self) -> &str {
        &self.identity
    }

    /// Upstox's tokens are valid until 03:30 Asia/Kolkata the next day.
    fn expiry_rule(&self) -> ExpiryRule {
        ExpiryRule::DailyCutoff {
            hour: 3,
            minute: 30,
            zone: "Asia/Kolkata",
        }
    }

    async fn login(&self) -> Result<AccessToken, LoginError> {
        let fields = LoginFields::read(&*self.store, &self.identity).await?;
        let codes = self.codes(&fields).await?;
        let http = self
            .transport
            .http_client(self.api.origin_url(), self.timeout)
            .map_err(|e| {
                LoginError::Credentials(format!("the HTTP client cannot be built: {e}"))
            })?;
        let mut flow = Flow {
            login: self,
            http,
            jar: CookieJar::default(),
            request_id: request_id(),
        };
        let token = Zeroizing::new(flow.run(&fields, &codes).await?);
        let expires = jwt_expiry(&token);
        let token = AccessToken::new(SecretString::from(token.as_str()));
        tracing::info!(venue = VENUE, identity = %self.identity, "login succeeded");
        Ok(match expires {
            Some(at) => token.with_expiry(at),
            None => token,
        })
    }
}

#[cfg(test)]
mod tests {
    use keyward_secrets_backends::VarStore;

    use super::*;

    fn login() -> UpstoxLogin {
        UpstoxLogin::new(Arc::new(VarStore::from_vars("KW", [])), "upstox")
    }

    #[test]
    fn the_hosts_default_to_upstox_and_follow_the_url_policy() {
        let l = login();
        assert_eq!(l.api.origin, UPSTOX_API);
        assert_eq!(l.service.origin, UPSTOX_SERVICE);
        assert_eq!(
            l.expiry_rule(),
            ExpiryRule::DailyCutoff {
                hour: 3,
                minute: 30,
                zone: "Asia/Kolkata"
            }
        );
        let l = login().base_url("http://127.0.0.1:9/").unwrap();
        assert_eq!(l.api.prefix, "/api");
        assert_eq!(l.service.prefix, "/service");
        assert_eq!(l.login_origin, "http://127.0.0.1:9/login");
        assert!(login().base_url("http://example.com").is_err());
        assert!(login().base_url("https://user:pw@example.com").is_err());
    }

    #[test]
    fn service_answers_are_read_and_refusals_keep_only_code_and_message() {
        let ok = service_answer(
            OTP_GENERATE,
            reqwest::StatusCode::OK,
            br#"{"success":true,"data":{"validateOTPToken":"t"},"error":null}"#,
        )
        .unwrap();
        assert!(ok.success);
        assert_eq!(
            data_text(OTP_GENERATE, &ok.data, "validateOTPToken").unwrap(),
            "t"
        );
        assert!(data_text(OTP_GENERATE, &ok.data, "other").is_err());
        let no = service_answer(
            TWO_FA,
            reqwest::StatusCode::OK,
            br#"{"success":false,"error":{"code":1017069,"message":"blocked\n"}}"#,
        )
        .unwrap();
        assert!(!no.success);
        assert_eq!(no.reason, "1017069: blocked");
        let refused = LoginError::PinRejected {
            venue: VENUE,
            step: TWO_FA,
        };
        assert!(matches!(
            Flow::refusal(&no, TWO_FA, refused),
            LoginError::Locked { .. }
        ));
        // A 5xx with success true is not a success.
        let odd = service_answer(
            TWO_FA,
            reqwest::StatusCode::BAD_GATEWAY,
            br#"{"success":true}"#,
        )
        .unwrap();
        assert!(!odd.success);
        for bad in [&b"<html>"[..], br#"{"data":{}}"#] {
            let Err(err) = service_answer(TWO_FA, reqwest::StatusCode::OK, bad) else {
                panic!("read as an answer")
            };
            assert!(matches!(err, LoginError::Protocol { .. }), "{err:?}");
        }
    }

    #[test]
    fn api_refusals_name_the_udapi_code() {
        let body = br#"{"status":"error","errors":[{"errorCode":"UDAPI100016","message":"Invalid Credentials"}]}"#;
        assert_eq!(
            api_reason(reqwest::StatusCode::UNAUTHORIZED, body),
            "HTTP 401 Unauthorized, UDAPI100016: Invalid Credentials"
        );
        assert_eq!(
            api_reason(reqwest::StatusCode::BAD_GATEWAY, b"x"),
            "HTTP 502 Bad Gateway"
        );
    }

    #[test]
    fn the_expiry_comes_from_the_exp_claim_when_there_is_one() {
        let claims = URL_SAFE_NO_PAD.encode(br#"{"sub":"A","exp":1705356000}"#);
        let at = jwt_expiry(&format!("h.{claims}.s")).unwrap();
        assert_eq!(
            at.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_705_356_000
        );
        assert!(jwt_expiry("opaque-token").is_none());
        assert!(jwt_expiry("a.!!.c").is_none());
        let id = request_id();
        assert!(id.starts_with("WPRO-") && id.len() == 15, "{id}");
    }

    #[tokio::test]
    async fn missing_fields_are_named_and_never_shown() {
        let store = Arc::new(VarStore::from_vars(
            "KW",
            [(
                "KW_UPSTOX".to_owned(),
                r#"{"username":"9000000000","pin":"CANARY-PIN"}"#.to_owned(),
            )],
        ));
        let l = UpstoxLogin::new(store, "upstox");
        let err = l.login().await.unwrap_err();
        assert!(matches!(err, LoginError::Credentials(_)), "{err:?}");
        let shown = format!("{err} {err:?} {l:?}");
        assert!(shown.contains("totp_secret"), "{shown}");
        assert!(!shown.contains("CANARY"), "{shown}");
        let fields = LoginFields::read(&*l.store, "upstox").await.unwrap();
        assert!(!format!("{fields:?}").contains("CANARY"));
        assert!(
            fields
                .require("client_id")
                .unwrap_err()
                .to_string()
                .contains("client_id")
        );
        let err = login().login().await.unwrap_err();
        assert!(err.to_string().contains("cannot be read"), "{err}");
    }
}
