//! The request model: what is signed is exactly what is sent.

use std::fmt;

/// An HTTP request as it will be sent: method, path, query string (without `?`, exactly as it
/// will appear on the wire), body bytes and headers in order.
///
/// Signing takes a `Request` and returns the request as it must be sent: the final query, the
/// added headers and the final body. Presets add only what the venue requires and is missing;
/// they never reorder or re-encode what the caller gave (the one exception, `keyward-v1`, is a
/// canonical scheme by design and says so).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// The method in upper case (`GET`, `POST`, ...).
    pub method: String,
    /// The path, starting with `/`, as sent.
    pub path: String,
    /// The query string without the leading `?`, as sent (empty for none).
    pub query: String,
    /// The body bytes, as sent.
    pub body: Vec<u8>,
    /// Headers in the order they will be sent.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// A request with `method` (upper-cased) and `path`, no query, body or headers.
    pub fn new(method: &str, path: impl Into<String>) -> Self {
        Self {
            method: method.to_ascii_uppercase(),
            path: path.into(),
            ..Self::default()
        }
    }

    /// A `GET` request.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new("GET", path)
    }

    /// A `POST` request.
    pub fn post(path: impl Into<String>) -> Self {
        Self::new("POST", path)
    }

    /// Sets the query string (without `?`), exactly as it will be sent.
    pub fn with_query(mut self, query: impl Into<String>) -> Self {
        self.query = query.into();
        self
    }

    /// Sets the body, exactly as it will be sent.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The request target as sent: `path` or `path?query`.
    pub fn url(&self) -> String {
        let mut url = String::with_capacity(self.path.len() + 1 + self.query.len());
        url.push_str(&self.path);
        if !self.query.is_empty() {
            url.push('?');
            url.push_str(&self.query);
        }
        url
    }

    /// [`Self::url`] in parts (path, `?` or nothing, query), for a MAC over it without
    /// building the string.
    pub(crate) fn url_parts(&self) -> [&[u8]; 3] {
        let mark: &[u8] = if self.query.is_empty() { b"" } else { b"?" };
        [self.path.as_bytes(), mark, self.query.as_bytes()]
    }

    /// The first header called `name` (compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Sets header `name`, replacing any header of that name (case-insensitively).
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.into()));
    }

    /// Sets header `name` only if the request has none of that name.
    pub(crate) fn default_header(&mut self, name: &str, value: impl Into<String>) {
        if self.header(name).is_none() {
            self.headers.push((name.to_owned(), value.into()));
        }
    }

    /// The body as UTF-8 text, for schemes whose prehash is text.
    pub(crate) fn body_text(&self) -> crate::Result<&str> {
        std::str::from_utf8(&self.body)
            .map_err(|_| crate::Error::InvalidRequest("the body is not valid UTF-8".into()))
    }
}

/// Shows the shape of the request, never its query, body or header values: after signing they
/// carry signatures, and before it they may carry account data.
impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query_len", &self.query.len())
            .field("body_len", &self.body.len())
            .field("headers", &names)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Request;

    #[test]
    fn url_and_headers() {
        let mut r = Request::new("get", "/a").with_query("x=1");
        assert_eq!(r.method, "GET");
        assert_eq!(r.url(), "/a?x=1");
        assert_eq!(Request::get("/a").url(), "/a");
        assert_eq!(r.url_parts().concat(), r.url().into_bytes());
        assert_eq!(Request::get("/a").url_parts().concat(), b"/a");
        r.set_header("X-One", "1");
        r.set_header("x-one", "2");
        r.default_header("X-ONE", "3");
        assert_eq!(r.header("X-One"), Some("2"));
        assert_eq!(r.headers.len(), 1);
    }

    #[test]
    fn debug_hides_values() {
        let r = Request::post("/o")
            .with_query("signature=SECRETSIG")
            .with_body("SECRETBODY")
            .with_header("X-Sign", "SECRETHDR");
        let shown = format!("{r:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("X-Sign"));
    }
}
