//! What a client with nothing but a socket can hold of the server: slow
//! headers, idle connections, big headers, many connections, and which
//! client an address counts as.

use crate::helpers::{spawn_app_with, TestApp};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

fn addr(app: &TestApp) -> SocketAddr {
    app.base
        .trim_start_matches("http://")
        .parse()
        .expect("app address")
}

/// A connection from a chosen loopback address (127.0.0.0/8 is all ours).
async fn connect_from(from: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(format!("{from}:0").parse().expect("local address"))?;
    socket.connect(to).await
}

/// Waits for the server to close `stream`: true when it did within `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // An answer (a 408 or 431 page) before the close.
            Ok(Ok(_)) => continue,
        }
    }
}

async fn healthz_from(from: &str, to: SocketAddr) -> (String, Duration) {
    let started = Instant::now();
    let mut stream = connect_from(from, to).await.expect("connects");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("writes");
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer))
        .await
        .expect("answers in time")
        .expect("reads");
    (answer, started.elapsed())
}

#[tokio::test]
async fn half_open_connections_from_one_address_do_not_lock_out_another() {
    let app = spawn_app_with(|s| {
        s.http.header_timeout_ms = 1_000;
        s.http.max_connections_per_client = 32;
    })
    .await;
    let to = addr(&app);
    // Each sends the start of a request and stops, as the attack did.
    let mut held = Vec::new();
    for _ in 0..600 {
        let mut stream = connect_from("127.0.0.1", to).await.expect("connects");
        let _ = stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await;
        held.push(stream);
    }
    let (answer, took) = healthz_from("127.0.0.2", to).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    // All 600 are closed: those past the cap at once, the rest by the
    // header timeout.
    let started = Instant::now();
    for stream in &mut held {
        let left = Duration::from_secs(4).saturating_sub(started.elapsed());
        assert!(
            closed_within(stream, left).await,
            "a half-open connection stayed open"
        );
    }
    let metrics = app.get_text("/metrics").await;
    assert!(
        metric(&metrics, "qmkeys_connections_refused_total") >= 500.0,
        "{metrics}"
    );
    assert!(
        metric(
            &metrics,
            "qmkeys_connections_closed_total{reason=\"header_timeout\"}"
        ) >= 30.0
    );
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let app = spawn_app_with(|s| s.http.header_timeout_ms = 300).await;
    let mut stream = connect_from("127.0.0.1", addr(&app))
        .await
        .expect("connects");
    let started = Instant::now();
    assert!(closed_within(&mut stream, Duration::from_secs(3)).await);
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "not before its time"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_lives_for_the_idle_timeout_then_closes() {
    let app = spawn_app_with(|s| {
        s.http.header_timeout_ms = 300;
        s.http.idle_timeout_ms = 1_500;
    })
    .await;
    let mut stream = connect_from("127.0.0.1", addr(&app))
        .await
        .expect("connects");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("writes");
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.expect("answer");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let idle_from = Instant::now();
    // Past the header timeout, the idle connection is still open...
    assert!(!closed_within(&mut stream, Duration::from_millis(800)).await);
    // ...and it serves another request.
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("writes");
    let n = stream.read(&mut buf).await.expect("second answer");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let idle_from_again = Instant::now();
    assert!(closed_within(&mut stream, Duration::from_secs(4)).await);
    let idle = idle_from_again.elapsed();
    assert!(
        idle >= Duration::from_millis(1_300) && idle_from.elapsed() < Duration::from_secs(5),
        "closed after {idle:?} idle"
    );
}

#[tokio::test]
async fn headers_past_max_header_bytes_are_refused_not_buffered() {
    let app = spawn_app_with(|s| s.http.max_header_bytes = 8_192).await;
    let mut stream = connect_from("127.0.0.1", addr(&app))
        .await
        .expect("connects");
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    // The server may close before all of it is written.
    let _ = stream.write_all(big.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 431"),
        "answered {answer:?} to 64 KiB of headers"
    );
    // A request of ordinary size still works.
    assert_eq!(app.get("/healthz", &[]).await.status, 200);
}

#[tokio::test]
async fn a_client_past_its_connection_cap_is_closed_on_arrival_and_others_are_not() {
    let app = spawn_app_with(|s| {
        s.http.max_connections = 5;
        s.http.max_connections_per_client = 3;
        s.http.header_timeout_ms = 30_000;
    })
    .await;
    let to = addr(&app);
    let mut mine = Vec::new();
    for _ in 0..3 {
        mine.push(connect_from("127.0.0.1", to).await.expect("connects"));
    }
    // Let the server take all three before the fourth.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut fourth = connect_from("127.0.0.1", to).await.expect("connects");
    assert!(
        closed_within(&mut fourth, Duration::from_secs(2)).await,
        "per client"
    );
    for stream in &mut mine {
        assert!(
            !closed_within(stream, Duration::from_millis(50)).await,
            "the first three stay"
        );
    }
    let (answer, _) = healthz_from("127.0.0.2", to).await;
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "another client: {answer}"
    );
    // Two more clients fill the total of 5; a sixth connection is closed.
    let _b = connect_from("127.0.0.3", to).await.expect("connects");
    let _c = connect_from("127.0.0.4", to).await.expect("connects");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut sixth = connect_from("127.0.0.5", to).await.expect("connects");
    assert!(
        closed_within(&mut sixth, Duration::from_secs(2)).await,
        "total"
    );
    drop(mine);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (answer, _) = healthz_from("127.0.0.5", to).await;
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "places come back: {answer}"
    );
}

#[tokio::test]
async fn behind_a_proxy_on_a_dual_stack_listener_each_client_has_its_own_bucket() {
    let app = spawn_app_with(|s| {
        s.http.listen = "[::]:0".parse().expect("addr");
        s.http.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
        s.http.rate_limit_per_second = 1;
        s.http.rate_limit_burst = 1;
    })
    .await;
    // The proxy connects over IPv4: the socket on [::] sees ::ffff:127.0.0.1.
    let port = addr_port(&app);
    let base = format!("http://127.0.0.1:{port}");
    let get = |xff: &'static str| {
        let http = app.http.clone();
        let url = format!("{base}/music/tencent/cookie/refresh?uin=1&music_key=Q_H_L_x");
        async move {
            http.get(url)
                .header("x-forwarded-for", xff)
                .send()
                .await
                .expect("answers")
                .status()
                .as_u16()
        }
    };
    assert_ne!(get("198.51.100.1").await, 429);
    assert_ne!(
        get("198.51.100.2").await,
        429,
        "another client behind the proxy"
    );
    assert_eq!(get("198.51.100.2").await, 429, "the same client again");
    // IPv6 clients are counted by their /64.
    assert_ne!(get("2001:db8:1:2::1").await, 429);
    assert_eq!(get("2001:db8:1:2::99").await, 429, "same /64");
    assert_ne!(get("2001:db8:1:3::1").await, 429, "another /64");
}

fn addr_port(app: &TestApp) -> u16 {
    app.base
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port")
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn out_of_open_files_the_server_backs_off_keeps_its_clients_and_recovers() {
    use crate::binary::free_port;
    use crate::process::KillOnDrop;
    use std::io::Read;
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    // The real binary under a file limit small enough to run out.
    let mut child = std::process::Command::new("sh")
        .args([
            "-c",
            "ulimit -n 96 && exec \"$0\" serve",
            env!("CARGO_BIN_EXE_qmkeys"),
        ])
        .env_clear()
        .env("QMKEYS_LISTEN", format!("127.0.0.1:{port}"))
        .env("QMKEYS_DB", dir.path().join("qmkeys.db"))
        .env("QMKEYS_LOG_LEVEL", "warn")
        .env("QMKEYS_HEADER_TIMEOUT_MS", "1500")
        .env("QMKEYS_MAX_CONNECTIONS", "1000")
        .env("QMKEYS_MAX_CONNECTIONS_PER_CLIENT", "1000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map(KillOnDrop::new)
        .expect("starts");
    let to: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut kept = loop {
        if let Ok(s) = connect_from("127.0.0.2", to).await {
            break s;
        }
        assert!(Instant::now() < deadline, "the server never listened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let ask = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut buf = [0u8; 1024];
    kept.write_all(ask).await.expect("writes");
    let n = kept.read(&mut buf).await.expect("answer");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));

    // Far more half-open connections than the server has descriptors for.
    let mut held = Vec::new();
    for _ in 0..300 {
        if let Ok(mut s) = connect_from("127.0.0.1", to).await {
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
            held.push(s);
        }
    }
    // A client it already has is still served, at once.
    let started = Instant::now();
    kept.write_all(ask).await.expect("writes");
    let n = tokio::time::timeout(Duration::from_secs(1), kept.read(&mut buf))
        .await
        .expect("answered while out of files")
        .expect("reads");
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "took {:?}",
        started.elapsed()
    );
    // Once the half-open ones time out, new clients get in again.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let (answer, took) = healthz_from("127.0.0.3", to).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    drop(held);

    let _ = child.kill();
    let mut log = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut log);
    }
    let failures = log.matches("accept failed").count();
    assert!(failures >= 1, "the file limit was never reached:\n{log}");
    assert!(failures <= 20, "{failures} accept warnings: it spun\n{log}");
}
