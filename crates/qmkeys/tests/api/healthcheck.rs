//! `qmkeys healthcheck`, the container image's probe, against real servers.

use crate::binary::{free_port, qmkeys};
use serde_json::json;
use std::process::Output;
use std::time::{Duration, Instant};

/// Runs the probe off the runtime: the server under test shares it.
async fn healthcheck(args: Vec<String>, listen: Option<String>) -> (Output, Duration) {
    tokio::task::spawn_blocking(move || {
        let mut cmd = qmkeys();
        cmd.arg("healthcheck").args(args);
        if let Some(listen) = listen {
            cmd.env("QMKEYS_LISTEN", listen);
        }
        let started = Instant::now();
        let out = cmd.output().expect("runs");
        (out, started.elapsed())
    })
    .await
    .expect("joins")
}

#[tokio::test]
async fn healthcheck_exits_0_while_the_server_is_ready_and_1_once_it_is_not() {
    let (app, accounts) = crate::helpers::spawn_app_with_accounts(1, |_| {}).await;
    let url = format!("{}/readyz", app.base);

    let (ready, _) = healthcheck(vec!["--url".into(), url.clone()], None).await;
    assert_eq!(
        ready.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ready.stderr)
    );

    // The only upload account dies: /readyz answers 503.
    app.sim_post(
        &format!("/_sim/accounts/{}/logout", accounts[0].uin),
        json!({}),
    )
    .await;
    app.get(
        "/tool/cos/sign",
        &crate::cos_sign::TestFile::random(8).params(),
    )
    .await;
    let (not_ready, _) = healthcheck(vec!["--url".into(), url], None).await;
    assert_eq!(not_ready.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&not_ready.stderr);
    assert!(stderr.contains("503"), "{stderr}");
}

#[tokio::test]
async fn healthcheck_finds_the_server_from_a_wildcard_qmkeys_listen() {
    let app = crate::helpers::spawn_app().await;
    let port = app.base.rsplit(':').next().expect("port").to_owned();
    let (out, _) = healthcheck(vec![], Some(format!("0.0.0.0:{port}"))).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn healthcheck_exits_1_when_nothing_listens_on_the_port() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/readyz");
    let (out, _) = healthcheck(vec!["--url".into(), url], None).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&port.to_string()), "{stderr}");
}

#[tokio::test]
async fn healthcheck_gives_up_on_a_server_that_never_answers() {
    // Accepts connections and says nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let (out, took) =
        healthcheck(vec!["--url".into(), format!("http://{addr}/readyz")], None).await;
    silent.abort();
    assert_eq!(out.status.code(), Some(1));
    assert!(took < Duration::from_secs(10), "took {took:?}");
}
