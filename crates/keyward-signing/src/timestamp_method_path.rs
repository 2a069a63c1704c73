//! The signature OKX, Coinbase and hmac-concat share: `MAC(timestamp || METHOD || path ||
//! body)`, sent in a key, a signature and a timestamp header (and a passphrase header where the
//! venue issues one); and the WebSocket login OKX and Coinbase Exchange derive from it, the
//! same signature of `GET /users/self/verify` with no body. Each scheme's module states what
//! differs as a [`Layout`] (and a [`Login`]); the timestamp's form and window come from its
//! descriptor.

use serde_json::Value;

use crate::descriptor::Context;
use crate::error::Result;
use crate::options::SignOptions;
use crate::request::Request;
use crate::signature::Encoding;
use crate::signer::Signer;
use crate::verify::{
    Claim, Resign, SignatureAt, TimeRule, VerifyError, WsClaim, key_signature_time,
    required_header, text, without_header,
};

/// How a scheme lays out the signature: its header names, the signature's encoding and
/// whether the signed path carries the query.
#[derive(Debug)]
pub(crate) struct Layout {
    /// The header carrying the API key.
    pub(crate) key: &'static str,
    /// The header carrying the signature.
    pub(crate) sign: &'static str,
    /// The header carrying the timestamp.
    pub(crate) timestamp: &'static str,
    /// The header carrying the passphrase, for venues that issue one.
    pub(crate) passphrase: Option<&'static str>,
    /// How the MAC is written.
    pub(crate) encoding: Encoding,
    /// Whether the signed path is `path?query` (else the path alone).
    pub(crate) signs_query: bool,
}

impl Layout {
    fn mac(&self, s: &Signer, parts: &[&[u8]]) -> Result<String> {
        s.key.text(parts, self.encoding)
    }

    /// Signs `req`: the timestamp in the scheme's REST form.
    pub(crate) fn sign(&self, s: &Signer, mut req: Request, o: &SignOptions) -> Result<Request> {
        let passphrase = match self.passphrase {
            Some(header) => Some((header, s.passphrase()?.to_owned())),
            None => None,
        };
        let ts = s.rest_timestamp(o)?;
        // The signed path (`path?query` when the scheme signs the query) is given to the MAC
        // in parts rather than built as a string.
        let [path, mark, query] = if self.signs_query {
            req.url_parts()
        } else {
            [req.path.as_bytes(), b"", b""]
        };
        let sig = self.mac(
            s,
            &[
                ts.as_bytes(),
                req.method.as_bytes(),
                path,
                mark,
                query,
                &req.body,
            ],
        )?;
        req.set_header(self.key, s.api_key.clone());
        req.set_header(self.sign, sig);
        req.set_header(self.timestamp, ts);
        if let Some((header, passphrase)) = passphrase {
            req.set_header(header, passphrase);
        }
        Ok(req)
    }

    /// Takes a received request apart: the timestamp in the scheme's form, within its window.
    pub(crate) fn claim(&self, req: &Request, ctx: &Context<'_>) -> Result<Claim, VerifyError> {
        let what = format!("header {}", self.timestamp);
        let timestamp = ctx.time(&what, required_header(req, self.timestamp)?)?;
        let passphrase = match self.passphrase {
            Some(header) => Some(required_header(req, header)?.to_owned()),
            None => None,
        };
        Ok(Claim {
            key_id: Some(required_header(req, self.key)?.to_owned()),
            provided: required_header(req, self.sign)?.to_owned(),
            passphrase,
            time: TimeRule::at(timestamp, ctx.window),
            unsigned: without_header(req, self.sign),
            options: SignOptions::at(timestamp),
            signature_at: SignatureAt::Header(self.sign),
            replay_basis: None,
        })
    }

    /// The WebSocket login's passphrase, timestamp (in the scheme's WebSocket form) and
    /// signature, of `timestamp || "GET" || "/users/self/verify"`.
    pub(crate) fn login<'s>(
        &self,
        s: &'s Signer,
        o: &SignOptions,
    ) -> Result<(&'s str, String, String)> {
        let passphrase = s.passphrase()?;
        let ts = s.ws_timestamp(o)?;
        let sig = self.mac(s, &[ts.as_bytes(), b"GET/users/self/verify"])?;
        Ok((passphrase, ts, sig))
    }
}

/// Where a WebSocket login message holds its fields.
#[derive(Debug)]
pub(crate) struct Login {
    /// The JSON pointer of the object holding the fields (`""`: the message itself).
    pub(crate) object: &'static str,
    /// The field names of the key, the signature, the passphrase and the timestamp.
    pub(crate) key: &'static str,
    pub(crate) sign: &'static str,
    pub(crate) passphrase: &'static str,
    pub(crate) timestamp: &'static str,
    /// The JSON pointer of the signature in the message.
    pub(crate) signature_at: &'static str,
}

impl Login {
    /// Takes a received login message apart: the timestamp in the scheme's WebSocket form,
    /// within its window.
    pub(crate) fn claim(&self, message: &Value, ctx: &Context<'_>) -> Result<WsClaim, VerifyError> {
        let fields = message
            .pointer(self.object)
            .ok_or_else(|| VerifyError::malformed(format!("{} is missing", self.object)))?;
        let (key, sign, ms) =
            key_signature_time(fields, "", [self.key, self.sign, self.timestamp], ctx)?;
        let passphrase = text(fields.get(self.passphrase), self.passphrase)?;
        let mut claim = WsClaim::new(
            key,
            sign,
            TimeRule::at(ms, ctx.window),
            Resign::Rebuilt(self.signature_at),
        );
        claim.passphrase = Some(passphrase.to_owned());
        claim.options = SignOptions::at(ms);
        Ok(claim)
    }
}
