//! A small OAuth 2.0 authorization server on 127.0.0.1 for the generic login's tests: a login
//! form, a TOTP form, the authorization endpoint and the token endpoint (RFC 6749 4.1), with a
//! session cookie between them, each request recorded, and faults.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use keyward_exchange_client::session::Totp;
use keyward_signing::{Clock, FixedClock};
use url::form_urlencoded;

pub const USERNAME: &str = "trader-1";
pub const PASSWORD: &str = "CANARY-password-5f2e";
pub const CLIENT_ID: &str = "bot-client";
pub const CLIENT_SECRET: &str = "CANARY-client-secret-9a1c";
/// The canary seed, base32.
pub const SEED_B32: &str = "KEYWARDCANARYOAUTHSEEDQQQQQQQQQQ";
/// The canary seed as an otpauth URI with 8-digit codes (long enough not to match a log's
/// digits by chance in the canary test).
pub const SEED: &str = "otpauth://totp/broker:bot?secret=KEYWARDCANARYOAUTHSEEDQQQQQQQQQQ&digits=8";
/// The authorization code the server issues.
pub const AUTH_CODE: &str = "CANARY-auth-code-77d1";
/// Seconds the token lives by `expires_in`.
pub const EXPIRES_IN: u64 = 3600;

/// What the server does wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// The redirect carries another state.
    ForgedState,
    /// The redirect goes to another host.
    RedirectElsewhere,
    /// The token endpoint answers `invalid_client`.
    InvalidClient,
    /// The token answer is 1 MiB.
    HugeTokenAnswer,
}

pub struct Server {
    pub base: String,
    pub redirect_uri: String,
    /// The access token it issues (a JWT whose `exp` is later than `expires_in`).
    pub token: String,
    clock: Arc<FixedClock>,
    fault: Mutex<Fault>,
    hits: Mutex<Vec<&'static str>>,
    /// Session id -> stage ("password" or "2fa").
    sessions: Mutex<HashMap<String, &'static str>>,
    /// Whether the client secret came in the body (else Basic).
    pub secret_in_body: Mutex<Option<bool>>,
}

impl Server {
    pub fn set_fault(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    pub fn hits(&self) -> Vec<&'static str> {
        self.hits.lock().unwrap().clone()
    }

    fn hit(&self, step: &'static str) {
        self.hits.lock().unwrap().push(step);
    }

    fn fault(&self) -> Fault {
        *self.fault.lock().unwrap()
    }

    fn stage(&self, headers: &HeaderMap) -> Option<&'static str> {
        let cookie = headers.get(header::COOKIE)?.to_str().ok()?;
        let sid = cookie
            .split(';')
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| *k == "sid")?
            .1;
        self.sessions.lock().unwrap().get(sid).copied()
    }

    fn set_stage(&self, headers: &HeaderMap, stage: &'static str) {
        let cookie = headers.get(header::COOKIE).unwrap().to_str().unwrap();
        let sid = cookie
            .split_once("sid=")
            .unwrap()
            .1
            .split(';')
            .next()
            .unwrap();
        self.sessions.lock().unwrap().insert(sid.to_owned(), stage);
    }
}

fn form(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// Starts the server; the token's `exp` is two hours after the clock's time.
pub async fn start(clock: Arc<FixedClock>) -> Arc<Server> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let exp = clock.now_ms() / 1000 + 2 * EXPIRES_IN;
    let token = super::fake::jwt(exp, "CANARY-token-jti");
    let server = Arc::new(Server {
        redirect_uri: format!("{base}/callback"),
        base,
        token,
        clock,
        fault: Mutex::new(Fault::None),
        hits: Mutex::new(Vec::new()),
        sessions: Mutex::new(HashMap::new()),
        secret_in_body: Mutex::new(None),
    });
    let app = Router::new()
        .route("/login", post(login))
        .route("/totp", post(totp))
        .route("/authorize", get(authorize))
        .route("/token", post(token_endpoint))
        .with_state(server.clone());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    server
}

async fn login(State(s): State<Arc<Server>>, body: Bytes) -> Response {
    s.hit("login");
    let f = form(&body);
    if f.get("username").map(String::as_str) != Some(USERNAME)
        || f.get("password").map(String::as_str) != Some(PASSWORD)
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let sid = uuid::Uuid::new_v4().simple().to_string();
    s.sessions.lock().unwrap().insert(sid.clone(), "password");
    (
        StatusCode::OK,
        [(header::SET_COOKIE, format!("sid={sid}; Path=/; HttpOnly"))],
    )
        .into_response()
}

async fn totp(State(s): State<Arc<Server>>, headers: HeaderMap, body: Bytes) -> Response {
    s.hit("totp");
    if s.stage(&headers) != Some("password") {
        return StatusCode::FORBIDDEN.into_response();
    }
    let expected = Totp::parse(SEED).unwrap().code_at_ms(s.clock.now_ms());
    if form(&body).get("code").map(String::as_str) != Some(expected.expose()) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    s.set_stage(&headers, "2fa");
    StatusCode::NO_CONTENT.into_response()
}

async fn authorize(
    State(s): State<Arc<Server>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    s.hit("authorize");
    if s.stage(&headers) != Some("2fa") {
        return StatusCode::FORBIDDEN.into_response();
    }
    let q = form(query.unwrap_or_default().as_bytes());
    if q.get("response_type").map(String::as_str) != Some("code")
        || q.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || q.get("redirect_uri") != Some(&s.redirect_uri)
    {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let state = match s.fault() {
        Fault::ForgedState => "forged".to_owned(),
        _ => q.get("state").cloned().unwrap_or_default(),
    };
    let target = match s.fault() {
        Fault::RedirectElsewhere => "http://127.0.0.2:9/callback".to_owned(),
        _ => s.redirect_uri.clone(),
    };
    let location = format!("{target}?code={AUTH_CODE}&state={state}");
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

async fn token_endpoint(State(s): State<Arc<Server>>, headers: HeaderMap, body: Bytes) -> Response {
    s.hit("token");
    let f = form(&body);
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
    let client_ok = match (&basic, f.get("client_secret")) {
        (Some(pair), None) => {
            *s.secret_in_body.lock().unwrap() = Some(false);
            pair == format!("{CLIENT_ID}:{CLIENT_SECRET}").as_bytes()
        }
        (None, Some(secret)) => {
            *s.secret_in_body.lock().unwrap() = Some(true);
            secret == CLIENT_SECRET && f.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        }
        _ => false,
    };
    let json = [(header::CONTENT_TYPE, "application/json")];
    if !client_ok || s.fault() == Fault::InvalidClient {
        return (
            StatusCode::UNAUTHORIZED,
            json,
            r#"{"error":"invalid_client"}"#,
        )
            .into_response();
    }
    if f.get("grant_type").map(String::as_str) != Some("authorization_code")
        || f.get("code").map(String::as_str) != Some(AUTH_CODE)
        || f.get("redirect_uri") != Some(&s.redirect_uri)
    {
        return (
            StatusCode::BAD_REQUEST,
            json,
            r#"{"error":"invalid_grant","error_description":"CANARY-description"}"#,
        )
            .into_response();
    }
    if s.fault() == Fault::HugeTokenAnswer {
        return (StatusCode::OK, json, " ".repeat(1 << 20)).into_response();
    }
    let body = serde_json::json!({
        "access_token": s.token,
        "token_type": "Bearer",
        "expires_in": EXPIRES_IN,
        "refresh_token": "CANARY-refresh",
        "scope": "orders",
    });
    (StatusCode::OK, json, body.to_string()).into_response()
}
