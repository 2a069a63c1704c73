//! Service schemes, for a team's own services: two legacy-compatible ones and keyward-v1.
//!
//! Why the legacy schemes are weaker than `keyward-v1`:
//! - **Ambiguous concatenation.** `hmac-concat` MACs `timestamp || METHOD || path || body` with no
//!   separators: `GET` + `/a` + `{}` and `GET` + `/a{}` + `` give the same bytes, so a signature
//!   for one request is valid for another whose path absorbs part of the body. `hmac-newline-v0`
//!   separates fields with newlines but lets a header value or URL containing a newline shift
//!   fields, and omits the body line when the body is empty.
//! - **No nonce.** Both rely on the timestamp alone: a captured request can be replayed inside the
//!   freshness window unless the server keeps a cache of seen signatures.
//! - **No key id** (`hmac-newline-v0`): the server must try every secret it knows, and cannot
//!   rotate keys explicitly. `hmac-concat` names the key but not the algorithm.
//! - **Unsigned query** (`hmac-concat` signs the path only): query parameters can be changed.
//!
//! `keyward-v1` fixes each: a line-per-component signature base whose values cannot contain the
//! separator, the query in canonical form, the body bound by `Content-Digest`, and signed
//! parameters `created`, `expires`, `nonce`, `keyid` and `alg`.

pub(crate) mod hmac_concat;
pub(crate) mod hmac_newline_v0;
pub mod keyward_v1;
