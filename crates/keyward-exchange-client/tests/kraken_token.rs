//! Kraken's WebSocket token request (issue 13, finding 13): it never follows a redirect (its
//! signed headers would go to wherever the redirect points), and it has a timeout.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{header, http_server, json_response, silent_server};
use keyward_exchange_client::ws::{WsError, kraken_rest_token, kraken_rest_token_with};
use keyward_exchange_client::{Credentials, Scheme, Transport};
use keyward_signing::Signer;

fn signer() -> Arc<Signer> {
    let creds = Credentials::new("CANARY-key", "Q0FOQVJZLXNlY3JldA==".into());
    Arc::new(Signer::new(Scheme::Kraken, &creds).unwrap())
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_the_signed_headers_stay_home() {
    // Where the redirect points: it would answer with a token, and records what it received.
    let (elsewhere, elsewhere_seen) =
        http_server(json_response(r#"{"error":[],"result":{"token":"t"}}"#)).await;
    let redirect = format!(
        "HTTP/1.1 302 Found\r\nlocation: http://{elsewhere}/0/private/GetWebSocketsToken\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    let (origin, origin_seen) = http_server(redirect).await;
    let provider = kraken_rest_token(&format!("http://{origin}"), signer()).unwrap();
    let err = provider().await.unwrap_err();
    assert!(matches!(err, WsError::Token { .. }), "{err}");
    assert!(err.to_string().contains("302"), "{err}");
    // The request reached the origin signed, and nothing reached the redirect's target: had the
    // client followed, the target would have recorded the request before answering it.
    let heads = origin_seen.heads();
    assert_eq!(heads.len(), 1);
    assert!(header(&heads[0], "API-Sign").is_some(), "{}", heads[0]);
    let leaked = elsewhere_seen.heads();
    assert!(leaked.is_empty(), "the redirect was followed: {leaked:?}");
}

#[tokio::test(start_paused = true)]
async fn a_token_request_without_an_answer_times_out() {
    // tokio's clock is paused and advances only when every task waits: the timeout fires as
    // soon as the client waits on a server that never answers, with no wall-clock wait.
    let (addr, _) = silent_server().await;
    let origin = format!("http://{addr}");
    let short = Duration::from_millis(200);
    let provider = kraken_rest_token_with(&origin, signer(), &Transport::default(), short).unwrap();
    let err = provider().await.unwrap_err();
    assert!(
        matches!(err, WsError::TokenTimeout { timeout } if timeout == short),
        "{err}"
    );
    // The default provider has a timeout too.
    let provider = kraken_rest_token(&origin, signer()).unwrap();
    let err = provider().await.unwrap_err();
    assert!(matches!(err, WsError::TokenTimeout { .. }), "{err}");
}
