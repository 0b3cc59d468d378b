//! The log capture behind every test's no-secret check (see `log_capture`)
//! really sees qmkeys' debug lines, and really finds a secret in them.

use crate::cos_sign::TestFile;
use crate::helpers::spawn_app_with_accounts;
use crate::log_capture;

#[tokio::test]
async fn debug_logs_of_refresh_and_sign_are_captured_and_hold_no_issued_credential() {
    let (app, accounts) = spawn_app_with_accounts(1, |_| {}).await;
    let from = log_capture::len();
    let user = app.sim_account("qq").await;
    let refreshed = app.refresh_post(&user.params_with_refresh()).await;
    assert_eq!(refreshed.code(), 200, "{:?}", refreshed.body);
    let file = TestFile::random(512);
    let signed = app.sign(&file.params()).await;
    assert_eq!(signed.code(), 0, "{:?}", signed.body);
    let uploaded = app.put_signed(&signed, file.bytes.clone(), |_| {}).await;
    assert_eq!(uploaded.status(), 200);

    assert!(log_capture::installed(), "the capturing subscriber is live");
    let log = log_capture::since(from);
    // Debug-level lines of both requests, with their spans, were captured.
    for expected in [
        "path=/music/tencent/cookie/refresh",
        "path=/tool/cos/sign",
        "DEBUG",
    ] {
        assert!(log.contains(expected), "no {expected:?} in the log");
    }
    let issued = app.sim.issued_secrets();
    for secret in [
        &user.musickey,
        &user.refresh_token,
        &accounts[0].musickey,
        &refreshed.musickey().to_owned(),
    ] {
        assert!(
            issued.contains(secret),
            "the simulator lists what it issued"
        );
    }
    assert!(
        issued.len() >= 8,
        "keys, refresh pairs, access tokens and a COS secret pair"
    );
    assert_eq!(log_capture::leaked(&issued, &log), Vec::<String>::new());
}

#[tokio::test]
async fn a_secret_written_to_the_log_is_found() {
    let _app = spawn_app_with_accounts(0, |_| {}).await;
    let from = log_capture::len();
    // Not one the simulator issued, so the app's own check stays green.
    let planted = format!("Q_H_L_planted{}", rand::random::<u64>());
    tracing::debug!(key = %planted, "planted on purpose");
    let found = log_capture::leaked(&[planted], &log_capture::since(from));
    assert_eq!(found, vec!["Q_H_L_pl…".to_owned()]);
}
