//! HTTPS from the owner's PEM files, picked up again when they change, and
//! the warning for an admin token on plain HTTP facing the network.

use crate::helpers::spawn_app_with;
use crate::log_capture;
use std::path::Path;
use std::time::Duration;

struct Pair {
    cert: String,
    key: String,
}

fn make_pair() -> Pair {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("a certificate");
    Pair {
        cert: made.cert.pem(),
        key: made.signing_key.serialize_pem(),
    }
}

fn write_pair(dir: &Path, pair: &Pair) {
    // Written beside and renamed, as certbot does, so no reader sees half.
    for (name, text) in [("cert.pem", &pair.cert), ("key.pem", &pair.key)] {
        let tmp = dir.join(format!("{name}.new"));
        std::fs::write(&tmp, text).expect("write");
        std::fs::rename(&tmp, dir.join(name)).expect("rename");
    }
}

fn trusting(pair: &Pair) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pair.cert.as_bytes()).expect("pem"))
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

#[tokio::test]
async fn https_is_served_from_pem_files_and_a_renewed_pair_is_used_without_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let first = make_pair();
    write_pair(dir.path(), &first);
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let app = spawn_app_with(|s| {
        s.http.tls_cert = Some(cert.clone());
        s.http.tls_key = Some(key.clone());
    })
    .await;
    let url = format!("{}/healthz", app.base.replace("http://", "https://"));
    let answer = trusting(&first)
        .get(&url)
        .send()
        .await
        .expect("HTTPS answers");
    assert_eq!(answer.status(), 200);
    assert!(
        app.http
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .is_err(),
        "plain HTTP on the TLS port gets no answer"
    );

    let second = make_pair();
    write_pair(dir.path(), &second);
    let renewed = trusting(&second);
    let mut picked_up = false;
    for _ in 0..40 {
        if renewed
            .get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            picked_up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(picked_up, "the renewed certificate was never served");
    assert!(
        trusting(&first).get(&url).send().await.is_err(),
        "the old certificate is gone"
    );

    // A broken renewal keeps the last good pair.
    std::fs::write(&cert, "not a certificate").expect("write");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        renewed
            .get(&url)
            .send()
            .await
            .expect("still served")
            .status(),
        200
    );
}

#[tokio::test]
async fn unreadable_tls_files_stop_the_start_naming_the_file_not_its_contents() {
    let dir = tempfile::tempdir().expect("dir");
    let pair = make_pair();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, &pair.cert).expect("write");
    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----\n",
    )
    .expect("write");
    let mut settings = qmkeys::Settings::default();
    settings.http.listen = "127.0.0.1:0".parse().expect("addr");
    settings.accounts.db = dir.path().join("qmkeys.db");
    settings.http.tls_cert = Some(cert);
    settings.http.tls_key = Some(key.clone());
    let err = match qmkeys::Application::build(settings).await {
        Ok(_) => panic!("started with a broken key"),
        Err(e) => e,
    };
    let mut chain = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        chain.push_str(&format!(": {s}"));
        source = s.source();
    }
    assert!(chain.contains(&key.display().to_string()), "{chain}");
    assert!(!chain.contains("SECRETSECRET"), "{chain}");
}

#[tokio::test]
async fn an_admin_token_on_plain_http_facing_the_network_is_warned_about_once() {
    let from = log_capture::len();
    let _app = spawn_app_with(|s| {
        s.http.listen = "0.0.0.0:0".parse().expect("addr");
        s.http.admin_token = Some("an-admin-token-for-the-warning".to_owned().into());
    })
    .await;
    let warning = "admin_token is set on a plain-HTTP listener";
    let log = log_capture::since(from);
    assert_eq!(log.matches(warning).count(), 1, "{log}");
    assert!(!log.contains("an-admin-token-for-the-warning"));

    // On loopback, or behind a trusted proxy, there is nothing to warn about.
    let from = log_capture::len();
    let _local = spawn_app_with(|s| {
        s.http.admin_token = Some("an-admin-token-for-the-warning".to_owned().into());
    })
    .await;
    let _proxied = spawn_app_with(|s| {
        s.http.listen = "0.0.0.0:0".parse().expect("addr");
        s.http.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
        s.http.admin_token = Some("an-admin-token-for-the-warning".to_owned().into());
    })
    .await;
    assert!(!log_capture::since(from).contains(warning));
}
