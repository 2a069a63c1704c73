//! Request URLs built from a template per path. The `url` crate has no way to take an already
//! checked path or query: `Url::set_path` parses the path again on every call (about 1,800
//! instructions for `/api/v3/account`, a fifth of what the signed round trip added over the same
//! request pre-signed, by callgrind). A client calls a few endpoints over and over, so each
//! path's URL (the base's origin with that path) is kept once, and a request's URL is a clone
//! of it with the query set. The map is bounded: past [`MAX_PATHS`] distinct paths (which the
//! caller of `RestClient::send` chooses), a URL is built as before and not kept.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use url::Url;

use crate::url_policy::BaseUrl;

/// The most paths whose URL is kept.
pub(crate) const MAX_PATHS: usize = 256;

/// The URL templates of one client's paths.
#[derive(Debug, Default)]
pub(crate) struct PathUrls {
    paths: RwLock<HashMap<String, Url>>,
}

impl PathUrls {
    /// The URL of a request to `path` (which starts with `/`) with `query` (empty for none)
    /// below `base`: the same URL as [`BaseUrl::request_url`] gives.
    pub(crate) fn request_url(&self, base: &BaseUrl, path: &str, query: &str) -> Url {
        let cached = self
            .paths
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(path)
            .cloned();
        let mut url = match cached {
            Some(url) => url,
            None => {
                let url = base.request_url(path, "");
                let mut paths = self.paths.write().unwrap_or_else(PoisonError::into_inner);
                if paths.len() < MAX_PATHS {
                    paths.insert(path.to_owned(), url.clone());
                }
                url
            }
        };
        if !query.is_empty() {
            url.set_query(Some(query));
        }
        url
    }

    /// How many paths have a kept URL.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.paths
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url_policy::check_base_url;

    #[test]
    fn kept_urls_equal_the_base_urls_own() {
        for base in [
            "http://127.0.0.1:41010",
            "https://api.binance.com/",
            "http://[::1]:9000/svc/x",
            "https://xn--mnchen-3ya.de",
        ] {
            let b = check_base_url(base).unwrap();
            let urls = PathUrls::default();
            // Twice each: built, then from the kept template.
            for _ in 0..2 {
                for (path, query) in [
                    ("/api/v3/account", ""),
                    ("/api/v3/account", "symbol=BTCUSDT&timestamp=1&signature=ab"),
                    ("/api/v3/order", "symbol=BTCUSDT&timestamp=1&signature=ab"),
                    ("/svc/keyward-v1/a b/ü", "q=1 2&r=%41&s=ü&t=a+b"),
                    ("//double/slash", "x"),
                    ("/dots/../x/./y", "a=%zz"),
                    ("/", "="),
                ] {
                    assert_eq!(
                        urls.request_url(&b, path, query),
                        b.request_url(path, query),
                        "{base} {path}?{query}"
                    );
                }
            }
            assert_eq!(urls.len(), 6);
        }
    }

    #[test]
    fn the_kept_paths_are_bounded() {
        let b = check_base_url("http://127.0.0.1:1").unwrap();
        let urls = PathUrls::default();
        for i in 0..MAX_PATHS + 10 {
            let path = format!("/p/{i}");
            assert_eq!(
                urls.request_url(&b, &path, "a=1"),
                b.request_url(&path, "a=1")
            );
        }
        assert_eq!(urls.len(), MAX_PATHS);
    }
}
