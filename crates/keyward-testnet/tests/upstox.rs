//! The Upstox-shaped login at the wire: the dialog's redirect stays on loopback and carries
//! `user_id`, `client_id` and `user_type`; JSON answers are `application/json` exactly; steps
//! out of order or without the session cookie are refused; an authorization code works once.
#![allow(clippy::unwrap_used)] // reason: tests fail loudly

use keyward_signing::secrecy::ExposeSecret as _;
use keyward_testnet::{Testnet, TestnetConfig};
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn post(base: &str, path: &str, cookie: &str, body: Value) -> (String, Value) {
    let r = client()
        .post(format!("{base}{path}"))
        .header("cookie", cookie)
        .json(&body)
        .send()
        .await
        .unwrap();
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    (ct, r.json().await.unwrap())
}

#[tokio::test]
async fn the_flow_at_the_wire() {
    let t = Testnet::start(TestnetConfig::default()).await.unwrap();
    let base = t.url("upstox").unwrap().to_owned();
    let c = t.broker_credentials("upstox").unwrap().clone();

    // A wrong client id: the API's JSON error, application/json exactly.
    let r = client()
        .get(format!(
            "{base}/api/v2/login/authorization/dialog?response_type=code&client_id=nope&redirect_uri=x"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/json");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["errorCode"], "UDAPI100068");

    let r = client()
        .get(format!("{base}/api/v2/login/authorization/dialog"))
        .query(&[
            ("response_type", "code"),
            ("client_id", c.client_id.as_str()),
            ("redirect_uri", c.redirect_uri.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let location = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(
        location.origin().ascii_serialization(),
        base,
        "loopback only"
    );
    let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], c.client_id);
    assert_eq!(q["user_type"], "individual");
    let user_id = q["user_id"].clone();
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = client().get(location.as_str()).send().await.unwrap();
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    let generate = "/service/login/open/v6/auth/1fa/otp/generate";
    let data = json!({"data": {"mobileNumber": c.username, "userId": user_id}});
    // Without the cookie: the session is unknown, HTTP 200 with success false.
    let (ct, body) = post(&base, generate, "", data.clone()).await;
    assert_eq!(ct, "application/json");
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["code"], 1_017_076);
    // Out of order: the PIN before the TOTP.
    let (_, body) = post(&base, "/service/login/open/v3/auth/2fa", &cookie, json!({})).await;
    assert_eq!(body["error"]["code"], 1_017_076);
    let (_, body) = post(&base, generate, &cookie, data).await;
    assert_eq!(body["success"], true, "{body}");
    let token = body["data"]["validateOTPToken"]
        .as_str()
        .unwrap()
        .to_owned();
    for field in [
        "message",
        "nextRequestInterval",
        "userType",
        "isTotpEnabled",
    ] {
        assert!(!body["data"][field].is_null(), "{field}");
    }

    let seed = totp_rs::Secret::Encoded(c.totp_secret.expose_secret().to_owned())
        .to_bytes()
        .unwrap();
    let totp = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, seed);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (_, body) = post(
        &base,
        "/service/login/open/v4/auth/1fa/otp-totp/verify",
        &cookie,
        json!({"data": {"otp": totp.generate(now), "validateOtpToken": token}}),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");
    assert_eq!(body["data"]["userProfile"]["userId"], user_id.as_str());

    let internal = "https://api-v2.upstox.com/login/authorization/redirect";
    let pin = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        c.pin.expose_secret(),
    );
    let two_fa = format!(
        "/service/login/open/v3/auth/2fa?client_id={}&redirect_uri={internal}",
        c.client_id
    );
    let (_, body) = post(
        &base,
        &two_fa,
        &cookie,
        json!({"data": {"twoFAMethod": "SECRET_PIN", "inputText": pin}}),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");
    let authorize = format!(
        "/service/login/v2/oauth/authorize?client_id={}&redirect_uri={internal}&requestId=WPRO-1&response_type=code",
        c.client_id
    );
    let (_, body) = post(
        &base,
        &authorize,
        &cookie,
        json!({"data": {"userOAuthApproval": true}}),
    )
    .await;
    let redirect = url::Url::parse(body["data"]["redirectUri"].as_str().unwrap()).unwrap();
    assert!(redirect.as_str().starts_with(&c.redirect_uri));
    let code = redirect
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();

    let exchange = || {
        client()
            .post(format!("{base}/api/v2/login/authorization/token"))
            .form(&[
                ("code", code.as_str()),
                ("client_id", c.client_id.as_str()),
                ("client_secret", c.client_secret.expose_secret()),
                ("redirect_uri", c.redirect_uri.as_str()),
                ("grant_type", "authorization_code"),
            ])
            .send()
    };
    let r = exchange().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let body: Value = r.json().await.unwrap();
    assert!(body["access_token"].as_str().unwrap().split('.').count() == 3);
    // The code works once.
    let r = exchange().await.unwrap();
    assert_eq!(r.status(), 400);
    t.shutdown().await;
}
