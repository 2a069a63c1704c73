//! The four steps of [`OAuth2Login`] as a [`TokenProvider`], and the RFC 6749 5.1/5.2 token
//! answers.

use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keyward_core_crypto::ct::ct_eq;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, COOKIE, HeaderValue, LOCATION};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::{Url, form_urlencoded};
use zeroize::Zeroizing;

use super::login_error::LoginError;
use super::login_http::{HostCookies as Cookies, body, send};
use super::oauth2::{ClientAuth, OAuth2Login};
use super::oauth2_http::Endpoint;
use super::provider::TokenProvider;
use super::token::{AccessToken, ExpiryRule};

const LOGIN: &str = "login";
const TOTP: &str = "totp";
const AUTHORIZE: &str = "authorize";
const TOKEN: &str = "token";

#[async_trait]
impl TokenProvider for OAuth2Login {
    fn identity(&self) -> &str {
        &self.identity
    }

    fn expiry_rule(&self) -> ExpiryRule {
        self.expiry_rule
    }

    async fn login(&self) -> Result<AccessToken, LoginError> {
        let mut cookies = Cookies::default();
        let form = [
            (self.fields.username.as_str(), self.username.as_str()),
            (self.fields.password.as_str(), self.password.expose_secret()),
        ];
        self.post_form(&self.login, LOGIN, &form, &mut cookies)
            .await?;

        let what = format!("{} TOTP for {}", self.venue, self.identity);
        let code = self.code_source.code(&what).await?;
        let form = [(self.fields.code.as_str(), code.as_str())];
        self.post_form(&self.totp, TOTP, &form, &mut cookies)
            .await?;
        drop(code);

        let code = self.authorize(&mut cookies).await?;
        self.exchange(&code).await
    }
}

impl OAuth2Login {
    /// A form step: 2xx or 3xx goes on; 400/401/403 is this step's refusal; 423 a lock.
    async fn post_form(
        &self,
        endpoint: &Endpoint,
        step: &'static str,
        form: &[(&str, &str)],
        cookies: &mut Cookies,
    ) -> Result<(), LoginError> {
        let url = endpoint.url();
        // The encoded form holds the password or the code: wiped once sent.
        let encoded = Zeroizing::new(
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish(),
        );
        let mut request = endpoint
            .http()
            .post(url.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(encoded.as_bytes().to_vec());
        if let Some(cookie) = cookies.header(url) {
            request = request.header(COOKIE, cookie);
        }
        let response = send(request, self.venue, step).await?;
        cookies.take(url, response.headers());
        let status = response.status();
        if status.is_success() || status.is_redirection() {
            return Ok(());
        }
        Err(match (status, step) {
            (StatusCode::LOCKED, _) => LoginError::Locked {
                venue: self.venue,
                step,
                reason: format!("HTTP {}", status.as_u16()),
            },
            (StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN, TOTP) => {
                LoginError::TotpRejected {
                    venue: self.venue,
                    step,
                }
            }
            (StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN, _) => {
                LoginError::CredentialsRejected {
                    venue: self.venue,
                    step,
                    reason: format!("HTTP {}", status.as_u16()),
                }
            }
            _ => unexpected(self.venue, step, status),
        })
    }

    /// The authorization request; returns the `code` of the redirect, checked against `state`.
    async fn authorize(&self, cookies: &mut Cookies) -> Result<Zeroizing<String>, LoginError> {
        let state = uuid::Uuid::new_v4().simple().to_string();
        let mut url = self.authorize.url().clone();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", self.redirect_uri.as_str())
                .append_pair("state", &state);
            if let Some(scope) = &self.scope {
                query.append_pair("scope", scope);
            }
        }
        let mut request = self.authorize.http().get(url.clone());
        if let Some(cookie) = cookies.header(&url) {
            request = request.header(COOKIE, cookie);
        }
        let response = send(request, self.venue, AUTHORIZE).await?;
        cookies.take(&url, response.headers());
        let status = response.status();
        if !status.is_redirection() {
            return Err(unexpected(self.venue, AUTHORIZE, status));
        }
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| self.protocol(AUTHORIZE, "the redirect has no Location"))?;
        // Read, never followed: the code is taken from the URL the server redirects to.
        let target = url
            .join(location)
            .map_err(|_| self.protocol(AUTHORIZE, "the redirect's Location is not a URL"))?;
        if !same_endpoint(&target, &self.redirect_uri) {
            return Err(self.protocol(
                AUTHORIZE,
                "the redirect does not go to the configured redirect_uri; it was not followed",
            ));
        }
        let mut code = None;
        let mut returned_state = None;
        let mut error = None;
        for (key, value) in target.query_pairs() {
            match &*key {
                "code" => code = Some(Zeroizing::new(value.into_owned())),
                "state" => returned_state = Some(value.into_owned()),
                "error" => error = Some(value.into_owned()),
                _ => {}
            }
        }
        let state_ok = returned_state
            .as_deref()
            .is_some_and(|s| ct_eq(s.as_bytes(), state.as_bytes()));
        if !state_ok {
            return Err(self.protocol(
                AUTHORIZE,
                "the redirect's state is not the one sent (a forged or replayed redirect)",
            ));
        }
        if let Some(error) = error {
            let code = error_code(&error);
            return Err(if code == "access_denied" {
                LoginError::CredentialsRejected {
                    venue: self.venue,
                    step: AUTHORIZE,
                    reason: code,
                }
            } else {
                self.protocol(AUTHORIZE, &format!("the server answered error {code}"))
            });
        }
        code.filter(|c| !c.is_empty())
            .ok_or_else(|| self.protocol(AUTHORIZE, "the redirect carries no code"))
    }

    /// The token request (RFC 6749 4.1.3) and its answer (5.1, 5.2).
    async fn exchange(&self, code: &str) -> Result<AccessToken, LoginError> {
        let form = Zeroizing::new({
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "authorization_code")
                .append_pair("code", code)
                .append_pair("redirect_uri", self.redirect_uri.as_str())
                .append_pair("client_id", &self.client_id);
            if self.client_auth == ClientAuth::Body {
                form.append_pair("client_secret", self.client_secret.expose_secret());
            }
            form.finish()
        });
        let mut request = self
            .token
            .http()
            .post(self.token.url().clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(ACCEPT, "application/json")
            .body(form.as_bytes().to_vec());
        if self.client_auth == ClientAuth::Basic {
            request = request.header(AUTHORIZATION, self.basic_auth()?);
        }
        let issued_at = self.clock.now_ms();
        let response = send(request, self.venue, TOKEN).await?;
        let status = response.status();
        let body = body(self.venue, TOKEN, response).await?;
        if status == StatusCode::OK {
            return self.token_answer(&body, issued_at);
        }
        let error = serde_json::from_slice::<ErrorAnswer>(&body)
            .ok()
            .map(|e| error_code(&e.error));
        Err(match (status, error) {
            (_, Some(code)) if code == "invalid_client" || code == "unauthorized_client" => {
                LoginError::CredentialsRejected {
                    venue: self.venue,
                    step: TOKEN,
                    reason: code,
                }
            }
            (_, Some(code)) => {
                self.protocol(TOKEN, &format!("HTTP {}: error {code}", status.as_u16()))
            }
            (StatusCode::UNAUTHORIZED, None) => LoginError::CredentialsRejected {
                venue: self.venue,
                step: TOKEN,
                reason: "HTTP 401".into(),
            },
            (status, None) => unexpected(self.venue, TOKEN, status),
        })
    }

    /// RFC 6749 5.1: `access_token`, `token_type` (Bearer), `expires_in` from `issued_at`.
    fn token_answer(&self, body: &[u8], issued_at: u64) -> Result<AccessToken, LoginError> {
        let answer: TokenAnswer = serde_json::from_slice(body)
            .map_err(|_| self.protocol(TOKEN, "the answer is not RFC 6749 5.1 JSON"))?;
        if answer.access_token.0.expose_secret().is_empty() {
            return Err(self.protocol(TOKEN, "the access_token is empty"));
        }
        if !answer.token_type.eq_ignore_ascii_case("bearer") {
            return Err(self.protocol(
                TOKEN,
                &format!(
                    "token_type {:?} is not Bearer",
                    error_code(&answer.token_type)
                ),
            ));
        }
        let token = AccessToken::new(answer.access_token.0);
        Ok(match answer.expires_in {
            Some(seconds) => {
                let at = issued_at.saturating_add(seconds.saturating_mul(1000));
                token.with_expiry(UNIX_EPOCH + Duration::from_millis(at))
            }
            None => token,
        })
    }

    /// `Basic base64(urlencode(client_id) ":" urlencode(client_secret))`, RFC 6749 2.3.1.
    fn basic_auth(&self) -> Result<HeaderValue, LoginError> {
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let pair = Zeroizing::new(format!(
            "{}:{}",
            encode(&self.client_id),
            Zeroizing::new(encode(self.client_secret.expose_secret())).as_str()
        ));
        let header = Zeroizing::new(format!("Basic {}", STANDARD.encode(pair.as_bytes())));
        let mut value = HeaderValue::from_str(&header)
            .map_err(|_| LoginError::Credentials("the client id cannot be sent".into()))?;
        value.set_sensitive(true);
        Ok(value)
    }

    fn protocol(&self, step: &'static str, detail: &str) -> LoginError {
        LoginError::Protocol {
            venue: self.venue,
            step,
            detail: detail.to_owned(),
        }
    }
}

/// RFC 6749 5.1's answer. Unknown fields (`scope`, `refresh_token`, a broker's own) are
/// ignored; a refresh token is not kept (the flow logs in again).
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: SecretField,
    token_type: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// A JSON string read straight into a [`SecretString`].
struct SecretField(SecretString);

impl<'de> Deserialize<'de> for SecretField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| Self(SecretString::from(s)))
    }
}

/// RFC 6749 5.2's answer; only `error` is read (`error_description` is free text a server
/// could fill with what was sent).
#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
}

/// An error code as RFC 6749 allows it (printable ASCII without `"` and `\`), at most 64
/// characters; anything else is shown as `(unreadable)`.
fn error_code(text: &str) -> String {
    let ok = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\');
    if ok {
        text.to_owned()
    } else {
        "(unreadable)".to_owned()
    }
}

fn unexpected(venue: &'static str, step: &'static str, status: StatusCode) -> LoginError {
    LoginError::Protocol {
        venue,
        step,
        detail: format!("unexpected HTTP status {}", status.as_u16()),
    }
}

/// Whether `target` is `expected` (scheme, host, port and path; its query is the answer's).
fn same_endpoint(target: &Url, expected: &Url) -> bool {
    target.scheme() == expected.scheme()
        && target.host() == expected.host()
        && target.port_or_known_default() == expected.port_or_known_default()
        && target.path() == expected.path()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_shown_only_when_plain() {
        assert_eq!(error_code("invalid_grant"), "invalid_grant");
        assert_eq!(error_code("a\"b"), "(unreadable)");
        assert_eq!(error_code(&"x".repeat(65)), "(unreadable)");
        assert_eq!(error_code(""), "(unreadable)");
    }

    #[test]
    fn the_redirect_must_be_the_registered_uri() {
        let expected = Url::parse("http://127.0.0.1:9/cb").unwrap();
        assert!(same_endpoint(
            &Url::parse("http://127.0.0.1:9/cb?code=x").unwrap(),
            &expected
        ));
        for other in [
            "http://127.0.0.2:9/cb",
            "http://127.0.0.1:10/cb",
            "http://127.0.0.1:9/cb/x",
            "https://127.0.0.1:9/cb",
        ] {
            assert!(
                !same_endpoint(&Url::parse(other).unwrap(), &expected),
                "{other}"
            );
        }
    }
}
