//! Loopback servers for the transport tests: a tiny HTTP/1.1 server that records each request's
//! head and answers with a fixed response, over plain TCP or any stream (TLS).
#![allow(dead_code)] // Each test binary uses a part of these helpers.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// The heads (request line and headers) of the requests a server received, in order.
#[derive(Clone, Default)]
pub struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    /// Every head received so far.
    pub fn heads(&self) -> Vec<String> {
        self.0.lock().expect("a test server panicked").clone()
    }

    fn push(&self, head: String) {
        self.0.lock().expect("a test server panicked").push(head);
    }
}

/// The value of header `name` (any case) in a request head.
pub fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// A complete HTTP/1.1 answer with a JSON body, closing the connection.
pub fn json_response(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// A server on 127.0.0.1 that records each request and answers `response` to every one.
pub async fn http_server(response: String) -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("a bound address");
    let seen = Seen::default();
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (record, response) = (record.clone(), response.clone());
            tokio::spawn(async move { serve(stream, &response, &record).await });
        }
    });
    (addr, seen)
}

/// A server on 127.0.0.1 that accepts connections, records each request and never answers.
pub async fn silent_server() -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("a bound address");
    let seen = Seen::default();
    let record = seen.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            if let Some(head) = read_request(&mut stream).await {
                record.push(head);
            }
            held.push(stream);
        }
    });
    (addr, seen)
}

/// Reads one request from `stream`, records its head and writes `response`.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, response: &str, seen: &Seen) {
    if let Some(head) = read_request(&mut stream).await {
        seen.push(head);
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    }
}

/// Reads a request's head (up to 64 KiB) and its `content-length` body; returns the head.
pub async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let length: usize = header(&head, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut have = buf.len() - end;
    while have < length.min(1 << 20) {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        have += n;
    }
    Some(head)
}
