//! HTTP/2 keepalive finds a client that vanished without closing its connection: a raw HTTP/2
//! client that opens a connection and then answers nothing (as behind a cut network) is pinged at
//! the server's configured interval and, when no answer comes within the timeout, disconnected.

use std::time::Duration;

use theatre_optimiser::api::server::ServerOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::TestServer;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;

/// One frame's type and flags, or `None` when the server has closed the connection.
async fn frame(stream: &mut TcpStream) -> Option<(u8, u8)> {
    let mut header = [0u8; 9];
    stream.read_exact(&mut header).await.ok()?;
    let length = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
    let mut payload = vec![0u8; length];
    stream.read_exact(&mut payload).await.ok()?;
    Some((header[3], header[4]))
}

#[tokio::test]
async fn a_client_that_stops_answering_pings_is_disconnected() {
    let options = ServerOptions {
        keepalive_interval: Duration::from_millis(200),
        keepalive_timeout: Duration::from_millis(200),
        ..ServerOptions::default()
    };
    let server = TestServer::start(options).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    // The connection preface and an empty SETTINGS frame; after that the client answers nothing,
    // not even the server's SETTINGS.
    stream.write_all(PREFACE).await.unwrap();
    stream
        .write_all(&[0, 0, 0, SETTINGS, 0, 0, 0, 0, 0])
        .await
        .unwrap();
    let mut frames = Vec::new();
    // A hang guard only: with the server's defaults (30 s + 10 s) this would not end in time.
    let closed = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(f) = frame(&mut stream).await {
            frames.push(f);
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the connection is still open; frames so far (type, flags): {frames:?}"
    );
    assert!(
        frames.contains(&(PING, 0)),
        "the server never pinged; frames (type, flags): {frames:?}"
    );
    eprintln!("frames before the server closed the connection (type, flags): {frames:?}");
}
