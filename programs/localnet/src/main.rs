//! GPUMesh localnet: the natively compiled gpumesh program (plus SPL Token / ATA as
//! solana-program-test provides them) in a long-lived bank, behind the subset of Solana
//! JSON-RPC over HTTP that the apps and `@solana/web3.js` use. See README.md.
mod bank;
mod rpc;
mod stubs;

use std::sync::mpsc as stdmpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const VERSION: &str = "2.3.13";

struct Args {
    host: String,
    port: u16,
}

fn parse_args() -> Args {
    let mut args = Args {
        host: "127.0.0.1".into(),
        port: 8899,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--port" => {
                args.port = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--port <number>")
            }
            "--host" => args.host = it.next().expect("--host <ip>"),
            "-h" | "--help" => {
                println!("usage: localnet [--port 8899] [--host 127.0.0.1]");
                std::process::exit(0);
            }
            other => {
                eprintln!("localnet: unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    args
}

fn main() {
    let started = Instant::now();
    let args = parse_args();
    let shared = Arc::new(Mutex::new(bank::Shared::default()));
    let (tx, rx) = stdmpsc::channel::<bank::Req>();
    let (ready_tx, ready_rx) = stdmpsc::channel();
    let bank_shared = shared.clone();
    std::thread::Builder::new()
        .name("bank".into())
        .spawn(move || bank::run(rx, bank_shared, ready_tx))
        .expect("bank thread");
    ready_rx.recv().expect("bank failed to start");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = TcpListener::bind((args.host.as_str(), args.port))
            .await
            .unwrap_or_else(|e| {
                eprintln!(
                    "localnet: cannot listen on {}:{}: {e}",
                    args.host, args.port
                );
                std::process::exit(1);
            });
        let addr = listener.local_addr().expect("local addr");
        let state = rpc::Rpc { bank: tx, shared };
        println!(
            "localnet listening on http://{addr} (started in {} ms)",
            started.elapsed().as_millis()
        );
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let _ = serve(stream, state).await;
            });
        }
    });
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Minimal HTTP/1.1 with keep-alive: POST / (JSON-RPC), GET /health, CORS preflight.
async fn serve(mut stream: TcpStream, state: rpc::Rpc) -> std::io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    loop {
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i;
            }
            let mut chunk = [0u8; 8192];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.len() > 1 << 20 {
                return Ok(());
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default().to_string();
        let mut content_length = 0usize;
        let mut close = request_line.ends_with("HTTP/1.0");
        for line in lines {
            if let Some((k, v)) = line.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
                if k == "content-length" {
                    content_length = v.parse().unwrap_or(0);
                } else if k == "connection" {
                    close = v.eq_ignore_ascii_case("close");
                }
            }
        }
        let body_start = head_end + 4;
        while buf.len() < body_start + content_length {
            let mut chunk = vec![0u8; (body_start + content_length - buf.len()).min(1 << 16)];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body: Vec<u8> = buf[body_start..body_start + content_length].to_vec();
        buf.drain(..body_start + content_length);

        let method = request_line.split(' ').next().unwrap_or_default();
        let path = request_line.split(' ').nth(1).unwrap_or("/");
        let (status, content_type, payload) = match method {
            "OPTIONS" => ("204 No Content", "text/plain", Vec::new()),
            "GET" if path.starts_with("/health") => ("200 OK", "text/plain", b"ok".to_vec()),
            "POST" => (
                "200 OK",
                "application/json",
                state.handle_body(&body).await.into_bytes(),
            ),
            _ => ("405 Method Not Allowed", "text/plain", b"use POST".to_vec()),
        };
        let header = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nAccess-Control-Allow-Origin: *\r\nAccess-Control-Allow-Methods: POST, GET, OPTIONS\r\nAccess-Control-Allow-Headers: content-type, solana-client\r\nConnection: {}\r\n\r\n",
            payload.len(),
            if close { "close" } else { "keep-alive" }
        );
        stream.write_all(header.as_bytes()).await?;
        stream.write_all(&payload).await?;
        if close {
            return Ok(());
        }
    }
}
