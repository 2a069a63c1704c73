//! Steps 1 to 5 of the Upstox login: the authorization dialog, OTP generation, the TOTP check,
//! the PIN and the OAuth approval. Each step needs the one before it, in the same login session
//! (its cookie); a refused TOTP code or PIN counts towards `lockout_after`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keyward_core_crypto::ct::ct_eq;
use keyward_signing::secrecy::ExposeSecret as _;
use serde_json::{Map, Value, json};

use super::{
    CODE_BAD_PIN, CODE_BAD_REQUEST, CODE_BAD_TOTP, CODE_LOCKED, CODE_SESSION, NAME, SESSION_COOKIE,
    Session, Stage, Upstox, api_error, query, random_hex, service_error, service_ok,
    session_cookie,
};

/// The `redirect_uri` the SDK sends to the 2FA and authorize steps: Upstox's own, internal to
/// its login page (`Config.redirect_uri_upstox` in the SDK's `models.py`). Only compared, never
/// followed.
pub(crate) const INTERNAL_REDIRECT: &str = "https://api-v2.upstox.com/login/authorization/redirect";

/// The lockout answer.
fn locked() -> Response {
    service_error(
        CODE_LOCKED,
        "Your account is blocked after too many failed attempts. Please try again later.",
    )
}

/// The body's `data` object, or None when the body is not `{"data": {...}}` JSON.
fn data(body: &[u8]) -> Option<serde_json::Map<String, Value>> {
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Object(mut o) => match o.remove("data")? {
            Value::Object(d) => Some(d),
            _ => None,
        },
        _ => None,
    }
}

/// A string field of `data`.
fn text<'a>(data: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a str> {
    data.get(name).and_then(Value::as_str)
}

/// Step 1, `GET /api/v2/login/authorization/dialog?response_type=code&client_id&redirect_uri`:
/// a 302 to this listener's `/login/` page, whose query carries `client_id`, `user_id` and
/// `user_type`, setting the login-session cookie.
pub(crate) async fn dialog(State(u): State<Arc<Upstox>>, uri: Uri) -> Response {
    let q = query(&uri);
    if q.get("response_type").map(String::as_str) != Some("code") {
        return api_error(400, "UDAPI100038", "Invalid response_type; use code");
    }
    if q.get("client_id") != Some(&u.creds.client_id)
        || q.get("redirect_uri") != Some(&u.creds.redirect_uri)
    {
        return api_error(
            400,
            "UDAPI100068",
            "Check your 'client_id' and 'redirect_uri'; one or both are incorrect.",
        );
    }
    let now = u.now_ms();
    let id = random_hex(16);
    {
        let mut flows = u.flows();
        Upstox::prune(&mut flows, now);
        flows.sessions.insert(
            id.clone(),
            Session {
                stage: Stage::Dialog,
                validate_token: None,
                created_ms: now,
            },
        );
    }
    let target = format!(
        "{}/login/?{}",
        u.base,
        form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &u.creds.client_id)
            .append_pair("redirect_uri", &u.creds.redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("user_id", &u.user_id)
            .append_pair("user_type", "individual")
            .finish()
    );
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&target) {
        headers.insert(LOCATION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax"
    )) {
        headers.insert(SET_COOKIE, v);
    }
    response
}

/// The login page the dialog redirects to: HTML (not JSON), as the SDK expects at the end of
/// the redirect.
pub(crate) async fn page() -> Response {
    let mut response = (
        StatusCode::OK,
        "<!doctype html><title>Upstox login (keyward testnet)</title>",
    )
        .into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// The answer to a step without a live login session at the right stage.
fn session_expired() -> Response {
    service_error(
        CODE_SESSION,
        "Your session has expired, please login again.",
    )
}

/// The login session of the request's cookie, if it is at `stage`: its id.
fn at_stage(u: &Upstox, headers: &HeaderMap, stage: Stage) -> Option<String> {
    let id = session_cookie(headers)?;
    let mut flows = u.flows();
    Upstox::prune(&mut flows, u.now_ms());
    match flows.sessions.get(&id) {
        Some(s) if s.stage == stage => Some(id),
        _ => None,
    }
}

/// The checks every login-service step starts with: the account is not locked and the
/// request's login session is at `stage`; returns the session id, or the refusal to answer.
fn open(u: &Upstox, headers: &HeaderMap, stage: Stage) -> Result<String, Box<Response>> {
    if u.locked(&u.flows()) {
        return Err(Box::new(locked()));
    }
    at_stage(u, headers, stage).ok_or_else(|| Box::new(session_expired()))
}

/// [`open`], then the body's `data` object.
fn entered(
    u: &Upstox,
    headers: &HeaderMap,
    stage: Stage,
    body: &[u8],
) -> Result<(String, Map<String, Value>), Box<Response>> {
    let id = open(u, headers, stage)?;
    let d = data(body).ok_or_else(|| {
        Box::new(service_error(
            CODE_BAD_REQUEST,
            "Something went wrong. Please try again.",
        ))
    })?;
    Ok((id, d))
}

/// Step 2, `POST /service/login/open/v6/auth/1fa/otp/generate` with
/// `{"data": {"mobileNumber", "userId"}}`.
pub(crate) async fn otp_generate(
    State(u): State<Arc<Upstox>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (id, d) = match entered(&u, &headers, Stage::Dialog, &body) {
        Ok(entered) => entered,
        Err(refusal) => return *refusal,
    };
    if text(&d, "mobileNumber") != Some(u.creds.username.as_str())
        || text(&d, "userId") != Some(u.user_id.as_str())
    {
        return service_error(CODE_BAD_REQUEST, "Please enter a valid mobile number.");
    }
    let token = random_hex(24);
    if let Some(s) = u.flows().sessions.get_mut(&id) {
        s.stage = Stage::OtpSent;
        s.validate_token = Some(token.clone());
    }
    let tail: Vec<char> = u.creds.username.chars().rev().take(4).collect();
    let masked = format!("******{}", tail.iter().rev().collect::<String>());
    service_ok(json!({
        "message": format!("OTP sent to {masked}"),
        "validateOTPToken": token,
        "nextRequestInterval": 30,
        "userType": "individual",
        "isTotpEnabled": true,
    }))
}

/// Step 3, `POST /service/login/open/v4/auth/1fa/otp-totp/verify` with
/// `{"data": {"otp", "validateOtpToken"}}`.
pub(crate) async fn otp_verify(
    State(u): State<Arc<Upstox>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (id, d) = match entered(&u, &headers, Stage::OtpSent, &body) {
        Ok(entered) => entered,
        Err(refusal) => return *refusal,
    };
    let mut flows = u.flows();
    let expected = flows
        .sessions
        .get(&id)
        .and_then(|s| s.validate_token.clone())
        .unwrap_or_default();
    let token = text(&d, "validateOtpToken").unwrap_or_default();
    if expected.is_empty() || !ct_eq(token.as_bytes(), expected.as_bytes()) {
        return service_error(
            CODE_SESSION,
            "Your session to validate otp has expired, please try again.",
        );
    }
    let code = text(&d, "otp").unwrap_or_default();
    let now_s = u.now_ms() / 1000;
    let right = code.len() == 6 && u.totp.check(code, now_s);
    if u.faults.take_reject_totp(NAME) || !right {
        let left = u.refuse(&mut flows);
        return service_error(CODE_BAD_TOTP, &format!("Invalid OTP.{left}"));
    }
    if let Some(s) = flows.sessions.get_mut(&id) {
        s.stage = Stage::OneFa;
        s.validate_token = None;
    }
    drop(flows);
    service_ok(json!({
        "message": "Your OTP has been successfully verified.",
        "userType": "individual",
        "userProfile": {
            "profileId": 1,
            "userId": u.user_id,
            "firstName": "Keyward",
            "lastName": "Testnet",
            "avatarUrl": null,
        },
        "isSecretPinSet": true,
    }))
}

/// Step 4, `POST /service/login/open/v3/auth/2fa?client_id&redirect_uri` with
/// `{"data": {"twoFAMethod": "SECRET_PIN", "inputText": base64(PIN)}}`.
pub(crate) async fn two_fa(
    State(u): State<Arc<Upstox>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let id = match open(&u, &headers, Stage::OneFa) {
        Ok(id) => id,
        Err(refusal) => return *refusal,
    };
    let q = query(&uri);
    if q.get("client_id") != Some(&u.creds.client_id)
        || q.get("redirect_uri").map(String::as_str) != Some(INTERNAL_REDIRECT)
    {
        return service_error(CODE_BAD_REQUEST, "Invalid client_id or redirect_uri.");
    }
    let Some(d) = data(&body) else {
        return service_error(CODE_BAD_REQUEST, "Something went wrong. Please try again.");
    };
    if text(&d, "twoFAMethod") != Some("SECRET_PIN") {
        return service_error(CODE_BAD_REQUEST, "Invalid twoFAMethod.");
    }
    let pin = text(&d, "inputText")
        .and_then(|t| STANDARD.decode(t).ok())
        .unwrap_or_default();
    let right = ct_eq(&pin, u.creds.pin.expose_secret().as_bytes());
    let mut flows = u.flows();
    if u.faults.take_reject_pin(NAME) || !right {
        let left = u.refuse(&mut flows);
        return service_error(
            CODE_BAD_PIN,
            &format!("You have entered an incorrect PIN.{left}"),
        );
    }
    if let Some(s) = flows.sessions.get_mut(&id) {
        s.stage = Stage::TwoFa;
    }
    drop(flows);
    service_ok(json!({
        "redirectUri": null,
        "userType": "individual",
        "customerStatus": "ACTIVE",
        "appStatus": null,
        "refreshTokenExpiry": 0,
        "isPlusPlanFastWebsocketEnabled": false,
        "isNewRefreshTokenCreated": false,
        "isExternalClientOAuthApp": true,
    }))
}

/// Step 5, `POST /service/login/v2/oauth/authorize?client_id&redirect_uri&requestId&response_type=code`
/// with `{"data": {"userOAuthApproval": true}}`: the app's redirect URI with a one-time `code`,
/// as data (nothing is redirected).
pub(crate) async fn authorize(
    State(u): State<Arc<Upstox>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(id) = at_stage(&u, &headers, Stage::TwoFa) else {
        return session_expired();
    };
    let q = query(&uri);
    if q.get("client_id") != Some(&u.creds.client_id)
        || q.get("redirect_uri").map(String::as_str) != Some(INTERNAL_REDIRECT)
        || q.get("response_type").map(String::as_str) != Some("code")
        || q.get("requestId").is_none_or(String::is_empty)
    {
        return service_error(CODE_BAD_REQUEST, "Invalid authorization request.");
    }
    let approved = data(&body)
        .and_then(|d| d.get("userOAuthApproval").and_then(Value::as_bool))
        .unwrap_or(false);
    if !approved {
        return service_error(CODE_BAD_REQUEST, "The app was not approved.");
    }
    let code = random_hex(8);
    let now = u.now_ms();
    {
        let mut flows = u.flows();
        flows.sessions.remove(&id);
        flows.failures = 0;
        Upstox::prune(&mut flows, now);
        flows.codes.insert(code.clone(), now);
    }
    let separator = if u.creds.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    service_ok(json!({
        "redirectUri": format!("{}{separator}code={code}", u.creds.redirect_uri),
        "isApproved": true,
    }))
}
