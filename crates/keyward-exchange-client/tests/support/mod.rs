//! A scripted HTTP/1.1 server on 127.0.0.1 for the client's own integration tests: it answers
//! each request with the next raw response of its script (the last one repeats), closes the
//! connection, and records what it received. Hand-written rather than axum so that a test can
//! send answers no framework would (a 1xx or 3xx to a POST, a usage header of 2^32 - 1).
#![allow(dead_code, clippy::unwrap_used)] // reason: each test binary uses part of this

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request line and headers.
    pub head: String,
    /// The body.
    pub body: String,
}

/// A running scripted server.
pub struct Scripted {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Scripted {
    /// Starts a server answering with `script` in order (the last answer repeats).
    pub async fn start(script: Vec<String>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let seen = received.clone();
        tokio::spawn(async move {
            let mut n = 0usize;
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let answer = script[n.min(script.len() - 1)].clone();
                n += 1;
                let Some(req) = read_request(&mut sock).await else {
                    continue;
                };
                seen.lock().unwrap().push(req);
                let _ = sock.write_all(answer.as_bytes()).await;
                let _ = sock.shutdown().await;
            }
        });
        Self { url, received }
    }

    /// The requests received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// A raw HTTP/1.1 answer with `Connection: close`, a JSON content type, `extra` header lines
/// and `body`.
pub fn answer(status: &str, extra: &[&str], body: &str) -> String {
    let mut s =
        format!("HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: application/json\r\n");
    for h in extra {
        s.push_str(h);
        s.push_str("\r\n");
    }
    s.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0)
        .min(1 << 20);
    while buf.len() < head_end + length {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let end = buf.len().min(head_end + length);
    let body = String::from_utf8_lossy(&buf[head_end..end]).into_owned();
    Some(Received { head, body })
}
