//! The ceiling on a REST answer's body: a venue (or whatever answers at its URL) decides how
//! much it sends, so the client reads at most [`MAX_RESPONSE_BODY`] bytes and refuses the rest
//! instead of buffering without limit. The largest documented answers (order books, trade
//! history pages) stay far below it.

use reqwest::Response;

/// The largest response body a REST client reads: 16 MiB.
pub const MAX_RESPONSE_BODY: usize = 16 << 20;

/// Why a body was not read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The body is (or announces itself) larger than the limit.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The connection failed while reading.
    Transport(reqwest::Error),
}

/// Reads `response`'s body, chunk by chunk, refusing it once it exceeds `limit` bytes (at once
/// when its `Content-Length` says so).
pub(crate) async fn read_capped(
    mut response: Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    let announced = response.content_length().unwrap_or(0);
    if announced > limit as u64 {
        return Err(BodyError::TooLarge { limit });
    }
    // Preallocate what the peer announced (already checked), not more.
    let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    /// One HTTP/1.1 answer on 127.0.0.1: `head` then `body_len` bytes, as chunks of 64 KiB
    /// when `chunked`.
    async fn serve_once(body_len: usize, chunked: bool) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let head = if chunked {
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_owned()
            } else {
                format!("HTTP/1.1 200 OK\r\ncontent-length: {body_len}\r\n\r\n")
            };
            if sock.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = vec![b'a'; 64 << 10];
            let mut left = body_len;
            while left > 0 {
                let n = left.min(chunk.len());
                let ok = if chunked {
                    let mut framed = format!("{n:x}\r\n").into_bytes();
                    framed.extend_from_slice(&chunk[..n]);
                    framed.extend_from_slice(b"\r\n");
                    sock.write_all(&framed).await
                } else {
                    sock.write_all(&chunk[..n]).await
                };
                if ok.is_err() {
                    return;
                }
                left -= n;
            }
            if chunked {
                let _ = sock.write_all(b"0\r\n\r\n").await;
            }
        });
        format!("http://{addr}/")
    }

    async fn read(body_len: usize, chunked: bool, limit: usize) -> Result<Vec<u8>, BodyError> {
        let url = serve_once(body_len, chunked).await;
        let response = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(url)
            .send()
            .await
            .unwrap();
        read_capped(response, limit).await
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused_announced_or_not() {
        for chunked in [false, true] {
            let body = read(1 << 20, chunked, 1 << 20).await.unwrap();
            assert_eq!(body.len(), 1 << 20);
            let err = read((1 << 20) + 1, chunked, 1 << 20).await.unwrap_err();
            assert!(
                matches!(err, BodyError::TooLarge { limit } if limit == 1 << 20),
                "{err:?}"
            );
        }
        // The default ceiling holds against a peer that streams without end.
        let err = read(MAX_RESPONSE_BODY + 1, true, MAX_RESPONSE_BODY)
            .await
            .unwrap_err();
        assert!(matches!(err, BodyError::TooLarge { .. }), "{err:?}");
    }

    /// Finding 20: the REST client itself stops at the ceiling: a venue that answers the time
    /// endpoint with an endless body gets a decode error naming the limit, not an unbounded
    /// buffer.
    #[tokio::test]
    async fn the_rest_client_refuses_an_answer_over_16_mib() {
        let url = serve_once(MAX_RESPONSE_BODY + (1 << 20), true).await;
        let client = crate::RestClient::builder(crate::Scheme::Binance, url.trim_end_matches('/'))
            .credentials(crate::Credentials::new("k", "s".into()))
            .clock_sync(false)
            .retry_policy(
                keyward_resilience::RetryPolicy::builder()
                    .max_attempts(1)
                    .build()
                    .unwrap(),
            )
            .build()
            .await
            .unwrap();
        let err = client.server_time().await.unwrap_err();
        assert!(
            matches!(&err, crate::Error::Decode { reason, .. } if reason.contains("16 MiB")),
            "{err}"
        );
    }
}
