//! Deribit: the `deri-hmac-sha256` REST header and `public/auth` with `client_signature`.
//!
//! REST (<https://docs.deribit.com/#authentication>):
//! `Authorization: deri-hmac-sha256 id=ClientId,ts=Timestamp,sig=Signature,nonce=Nonce` where
//! `Signature = hex(HMAC-SHA256(secret, Timestamp \n Nonce \n RequestData))` and
//! `RequestData = METHOD \n URI \n Body \n` (URI = path with query; Timestamp in ms).
//!
//! `public/auth` (<https://docs.deribit.com/#public-auth>), `grant_type` `client_signature`:
//! `signature = hex(HMAC-SHA256(secret, timestamp \n nonce \n data))`; the data part is empty
//! unless given. Without a given nonce, a random one is used.
//!
//! Verifying: Deribit documents no window; the verifier's (default 300 s past, 5 s future)
//! applies to the timestamp (milliseconds), on REST and WebSocket.

use serde_json::{Map, Value, json};

use crate::descriptor::{Context, Descriptor, Rest, Timing, WindowRule, Ws};
use crate::error::Result;
use crate::nonce::random_hex;
use crate::options::SignOptions;
use crate::request::Request;
use crate::scheme::Scheme;
use crate::signature::Encoding;
use crate::signer::Signer;
use crate::timestamp::TimeForm;
use crate::verify::{
    Claim, Resign, SignatureAt, TimeRule, VerifyError, WsClaim, key_signature_time,
    required_header, text, without_header,
};

/// Milliseconds, within the verifier's window.
const TIME: Timing = Timing::new(TimeForm::Millis, WindowRule::Configured);

pub(crate) static DESCRIPTOR: Descriptor = Descriptor {
    rest: Some(Rest::claimed(sign, claim, TIME)),
    ws: Some(Ws::new(ws_auth, ws_claim, TIME)),
    ..Descriptor::hmac_sha256(Scheme::Deribit, "deribit")
};

fn nonce(o: &SignOptions) -> Result<String> {
    match &o.nonce {
        Some(n) => Ok(n.clone()),
        None => random_hex(8),
    }
}

fn sign(s: &Signer, mut req: Request, o: &SignOptions) -> Result<Request> {
    let ts = s.rest_timestamp(o)?;
    let nonce = nonce(o)?;
    let [path, mark, query] = req.url_parts();
    let sig = s.key.text(
        &[
            ts.as_bytes(),
            b"\n",
            nonce.as_bytes(),
            b"\n",
            req.method.as_bytes(),
            b"\n",
            path,
            mark,
            query,
            b"\n",
            &req.body,
            b"\n",
        ],
        Encoding::Hex,
    )?;
    let header = format!(
        "deri-hmac-sha256 id={},ts={ts},sig={sig},nonce={nonce}",
        s.api_key
    );
    req.set_header("Authorization", header);
    Ok(req)
}

fn ws_auth(s: &Signer, _: &Map<String, Value>, o: &SignOptions) -> Result<Value> {
    let ts = s.timestamp_ms(o);
    let nonce = nonce(o)?;
    let data = o.data.clone().unwrap_or_default();
    let sig = s.key.text(
        &[
            ts.to_string().as_bytes(),
            b"\n",
            nonce.as_bytes(),
            b"\n",
            data.as_bytes(),
        ],
        Encoding::Hex,
    )?;
    Ok(
        json!({"jsonrpc": "2.0", "method": "public/auth", "params": {
            "grant_type": "client_signature", "client_id": s.api_key, "timestamp": ts,
            "signature": sig, "nonce": nonce, "data": data
        }}),
    )
}

/// The `Authorization` header's fields; `ts` (milliseconds) within the verifier's window.
fn claim(req: &Request, ctx: &Context<'_>) -> Result<Claim, VerifyError> {
    let header = required_header(req, "Authorization")?;
    let fields = authorization_fields(header).ok_or_else(|| {
        VerifyError::malformed(
            "header Authorization is not deri-hmac-sha256 id=..,ts=..,sig=..,nonce=..",
        )
    })?;
    let timestamp = ctx.time("Authorization ts", fields.ts)?;
    Ok(Claim {
        key_id: Some(fields.id.to_owned()),
        provided: fields.sig.to_owned(),
        passphrase: None,
        time: TimeRule::at(timestamp, ctx.window),
        unsigned: without_header(req, "Authorization"),
        options: SignOptions {
            nonce: Some(fields.nonce.to_owned()),
            ..SignOptions::at(timestamp)
        },
        signature_at: SignatureAt::Read(|r| {
            r.header("Authorization")
                .and_then(authorization_fields)
                .map(|f| f.sig.to_owned())
        }),
        replay_basis: None,
    })
}

/// `public/auth` with `grant_type` `client_signature`: `timestamp` (milliseconds) within the
/// verifier's window, re-signed with the message's nonce and data.
fn ws_claim(message: &Value, ctx: &Context<'_>) -> Result<WsClaim, VerifyError> {
    let params = message
        .get("params")
        .ok_or_else(|| VerifyError::malformed("params is missing"))?;
    if params.get("grant_type").and_then(Value::as_str) != Some("client_signature") {
        return Err(VerifyError::malformed(
            "params.grant_type must be client_signature",
        ));
    }
    let (key, provided, ms) = key_signature_time(
        params,
        "params.",
        ["client_id", "signature", "timestamp"],
        ctx,
    )?;
    let mut claim = WsClaim::new(
        key,
        provided,
        TimeRule::at(ms, ctx.window),
        Resign::Rebuilt("/params/signature"),
    );
    claim.options = SignOptions {
        nonce: Some(text(params.get("nonce"), "params.nonce")?.to_owned()),
        data: params
            .get("data")
            .and_then(Value::as_str)
            .map(str::to_owned),
        ..SignOptions::at(ms)
    };
    Ok(claim)
}

/// The fields of a `deri-hmac-sha256` Authorization header.
struct AuthFields<'a> {
    id: &'a str,
    ts: &'a str,
    sig: &'a str,
    nonce: &'a str,
}

fn authorization_fields(header: &str) -> Option<AuthFields<'_>> {
    let rest = header.strip_prefix("deri-hmac-sha256 ")?;
    let (mut id, mut ts, mut sig, mut nonce) = (None, None, None, None);
    for field in rest.split(',') {
        match field.trim().split_once('=')? {
            ("id", v) => id = Some(v),
            ("ts", v) => ts = Some(v),
            ("sig", v) => sig = Some(v),
            ("nonce", v) => nonce = Some(v),
            _ => return None,
        }
    }
    Some(AuthFields {
        id: id?,
        ts: ts?,
        sig: sig?,
        nonce: nonce?,
    })
}

#[cfg(test)]
mod tests {
    use crate::test_support::{hmac256_hex, signer};
    use crate::{Request, Scheme, SignOptions};

    const TS: u64 = 1_700_000_000_555;

    fn opts() -> SignOptions {
        SignOptions {
            nonce: Some("abcd".into()),
            ..SignOptions::at(TS)
        }
    }

    #[test]
    fn get_with_query_and_post_with_body() {
        let s = signer(Scheme::Deribit, None);
        let out = s
            .sign(
                Request::get("/api/v2/private/get_account_summary").with_query("currency=BTC"),
                &opts(),
            )
            .unwrap();
        let sig = hmac256_hex(&format!(
            "{TS}\nabcd\nGET\n/api/v2/private/get_account_summary?currency=BTC\n\n"
        ));
        assert_eq!(
            out.header("Authorization").unwrap(),
            format!("deri-hmac-sha256 id=test-key,ts={TS},sig={sig},nonce=abcd")
        );
        let body = r#"{"jsonrpc":"2.0","method":"private/buy","params":{"label":"ü"}}"#;
        let out = s
            .sign(
                Request::post("/api/v2/private/buy").with_body(body),
                &opts(),
            )
            .unwrap();
        let sig = hmac256_hex(&format!("{TS}\nabcd\nPOST\n/api/v2/private/buy\n{body}\n"));
        assert!(
            out.header("Authorization")
                .unwrap()
                .contains(&format!("sig={sig},"))
        );
    }

    #[test]
    fn random_nonce_when_none_given() {
        let s = signer(Scheme::Deribit, None);
        let a = s
            .sign(Request::get("/api/v2/private/x"), &SignOptions::at(TS))
            .unwrap();
        let b = s
            .sign(Request::get("/api/v2/private/x"), &SignOptions::at(TS))
            .unwrap();
        assert_ne!(a.header("Authorization"), b.header("Authorization"));
    }

    #[test]
    fn public_auth_client_signature() {
        let s = signer(Scheme::Deribit, None);
        let msg = s.ws_auth(&Default::default(), &opts()).unwrap();
        assert_eq!(
            msg["params"]["signature"],
            hmac256_hex(&format!("{TS}\nabcd\n"))
        );
        assert_eq!(msg["params"]["grant_type"], "client_signature");
        assert_eq!(msg["params"]["data"], "");
        let with_data = SignOptions {
            data: Some("x".into()),
            ..opts()
        };
        let msg = s.ws_auth(&Default::default(), &with_data).unwrap();
        assert_eq!(
            msg["params"]["signature"],
            hmac256_hex(&format!("{TS}\nabcd\nx"))
        );
    }
}
