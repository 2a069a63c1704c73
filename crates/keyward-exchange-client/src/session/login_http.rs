//! What a broker login's requests share: the cookies of the login session (one site's, or per
//! host), answers read with a size cap, and transport errors that carry no URL.

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, HeaderValue, SET_COOKIE};
use url::Url;
use zeroize::Zeroizing;

use super::login_error::LoginError;
use crate::body_limit::{BodyError, read_capped};

/// The largest login answer read: 64 KiB (Upstox's are under 2 KiB).
pub(crate) const MAX_LOGIN_BODY: usize = 64 * 1024;
/// The most cookies a login session keeps.
const MAX_COOKIES: usize = 16;
/// The longest cookie kept (name and value), in bytes.
const MAX_COOKIE_LEN: usize = 4096;

/// The cookies of one login session: `name=value` pairs from `Set-Cookie`, sent back as one
/// `Cookie` header, wiped when dropped.
///
/// Hand-written rather than reqwest's `cookies` feature (cookie_store): one login talks to one
/// site for a few requests and needs no domain, path, expiry or persistence rules, and this jar
/// wipes its values, which cookie_store does not.
#[derive(Default)]
pub(crate) struct CookieJar {
    cookies: Vec<(String, Zeroizing<String>)>,
}

impl CookieJar {
    /// Keeps the cookies `headers` set (replacing those of the same name), up to the caps.
    pub(crate) fn absorb(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            let pair = text.split(';').next().unwrap_or_default().trim();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let name = name.trim();
            if name.is_empty() || pair.len() > MAX_COOKIE_LEN {
                continue;
            }
            self.cookies.retain(|(n, _)| n != name);
            if self.cookies.len() < MAX_COOKIES {
                self.cookies
                    .push((name.to_owned(), Zeroizing::new(value.trim().to_owned())));
            }
        }
    }

    /// The `Cookie` header's value, or None when the jar is empty.
    pub(crate) fn header(&self) -> Option<Zeroizing<String>> {
        if self.cookies.is_empty() {
            return None;
        }
        let mut out = Zeroizing::new(String::new());
        for (i, (name, value)) in self.cookies.iter().enumerate() {
            if i > 0 {
                out.push_str("; ");
            }
            out.push_str(name);
            out.push('=');
            out.push_str(value);
        }
        Some(out)
    }
}

/// The cookies servers set during one login, per host; sent back only to the host that set
/// them (the generic OAuth2 login, whose endpoints may be on unrelated hosts; [`CookieJar`] is
/// the one-site jar of a broker whose hosts share a login session). Values are session secrets: wiped on drop, never shown.
#[derive(Default)]
pub(crate) struct HostCookies(BTreeMap<String, BTreeMap<String, Zeroizing<String>>>);

impl HostCookies {
    /// Keeps the `name=value` of each `Set-Cookie` of an answer from `url`.
    pub(crate) fn take(&mut self, url: &Url, headers: &HeaderMap) {
        let Some(host) = url.host_str() else { return };
        let jar = self.0.entry(host.to_owned()).or_default();
        for header in headers.get_all(reqwest::header::SET_COOKIE) {
            let Ok(text) = header.to_str() else { continue };
            let pair = text.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let name = name.trim();
            if name.is_empty() || pair.len() > MAX_COOKIE_LEN {
                continue;
            }
            if jar.len() >= MAX_COOKIES && !jar.contains_key(name) {
                continue;
            }
            jar.insert(name.to_owned(), Zeroizing::new(value.trim().to_owned()));
        }
    }

    /// The `Cookie` header for a request to `url`, if there are cookies for its host.
    pub(crate) fn header(&self, url: &Url) -> Option<HeaderValue> {
        let jar = self.0.get(url.host_str()?)?;
        if jar.is_empty() {
            return None;
        }
        let text = Zeroizing::new(
            jar.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str()))
                .collect::<Vec<_>>()
                .join("; "),
        );
        let mut value = HeaderValue::from_str(&text).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

/// Sends `request`, mapping a failure to [`LoginError::Transport`] without its URL.
pub(crate) async fn send(
    request: reqwest::RequestBuilder,
    venue: &'static str,
    step: &'static str,
) -> Result<reqwest::Response, LoginError> {
    request.send().await.map_err(|e| transport(venue, step, &e))
}

/// A transport failure as a sentence without the URL (its query can carry ids) or any body.
pub(crate) fn transport(venue: &'static str, step: &'static str, e: &reqwest::Error) -> LoginError {
    let detail = if e.is_timeout() {
        "the request timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer could not be read"
    } else {
        "the request failed"
    };
    LoginError::Transport {
        venue,
        step,
        detail: detail.to_owned(),
    }
}

/// Reads an answer's body, at most [`MAX_LOGIN_BODY`] bytes, wiped when dropped.
pub(crate) async fn body(
    venue: &'static str,
    step: &'static str,
    response: reqwest::Response,
) -> Result<Zeroizing<Vec<u8>>, LoginError> {
    match read_capped(response, MAX_LOGIN_BODY).await {
        Ok(body) => Ok(Zeroizing::new(body)),
        Err(BodyError::TooLarge { limit }) => Err(LoginError::Protocol {
            venue,
            step,
            detail: format!("the answer is larger than {limit} bytes"),
        }),
        Err(BodyError::Transport(e)) => Err(transport(venue, step, &e)),
    }
}

/// A broker's message, made safe to show: control characters dropped, at most 160 characters.
pub(crate) fn shown(message: &str) -> String {
    message
        .chars()
        .filter(|c| !c.is_control())
        .take(160)
        .collect()
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn the_jar_keeps_pairs_replaces_by_name_and_caps() {
        let mut jar = CookieJar::default();
        assert!(jar.header().is_none());
        let mut h = HeaderMap::new();
        h.append(
            SET_COOKIE,
            HeaderValue::from_static("a=1; Path=/; HttpOnly"),
        );
        h.append(SET_COOKIE, HeaderValue::from_static("b=2"));
        h.append(SET_COOKIE, HeaderValue::from_static("novalue"));
        jar.absorb(&h);
        let mut h = HeaderMap::new();
        h.append(SET_COOKIE, HeaderValue::from_static("a=3; Secure"));
        jar.absorb(&h);
        assert_eq!(jar.header().unwrap().as_str(), "b=2; a=3");
        for i in 0..100 {
            let mut h = HeaderMap::new();
            h.append(
                SET_COOKIE,
                HeaderValue::from_str(&format!("c{i}=x")).unwrap(),
            );
            jar.absorb(&h);
        }
        assert_eq!(jar.cookies.len(), MAX_COOKIES);
    }

    #[test]
    fn shown_messages_are_short_and_printable() {
        assert_eq!(shown("bad\r\nPIN"), "badPIN");
        assert_eq!(shown(&"x".repeat(500)).len(), 160);
    }

    #[test]
    fn cookies_go_back_only_to_their_host() {
        let mut cookies = HostCookies::default();
        let mut headers = HeaderMap::new();
        headers.append(
            reqwest::header::SET_COOKIE,
            HeaderValue::from_static("sid=abc; Path=/; HttpOnly"),
        );
        headers.append(reqwest::header::SET_COOKIE, HeaderValue::from_static("x=1"));
        let here = Url::parse("http://127.0.0.1:1/login").unwrap();
        cookies.take(&here, &headers);
        let header = cookies.header(&here).unwrap();
        assert_eq!(header.to_str().unwrap(), "sid=abc; x=1");
        assert!(header.is_sensitive());
        assert!(
            cookies
                .header(&Url::parse("http://localhost:1/").unwrap())
                .is_none()
        );
    }
}
