//! The login engine (QR login and desktop fast login) driven against the
//! simulator's login hosts over real HTTP, the simulator playing the phone
//! and the desktop QQ through its control API.

use crate::helpers::{login_app, TestApp};
use qmkeys::domain::{ClientKey, Uin};
use qmkeys::login::{LoginError, LoginResult, LoginService, QrEvent, QrKind, QrLogin};
use qmkeys::metrics::Metrics;
use qqmusic_sim::{QrAction, QrState};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::time::timeout;

const QQ_LOGIN: &str = "QQConnectLogin.LoginServer.QQLogin";

/// An app and a login engine whose login hosts are all the simulator.
async fn setup(max_sessions: usize) -> (TestApp, LoginService, Arc<Metrics>) {
    let app = login_app(|s| s.login.max_sessions = max_sessions).await;
    let metrics = Arc::new(Metrics::new().expect("metrics"));
    let upstream = qmkeys::startup::upstream_client(&app.settings).expect("upstream client");
    let settings = qmkeys::startup::login_settings(&app.settings);
    let login = LoginService::new(&settings, upstream, metrics.clone()).expect("login service");
    (app, login, metrics)
}

/// A kind from the registry.
fn qr_kind(name: &str) -> QrKind {
    QrKind::parse(name).expect("a registered kind")
}

/// The simulator's ident of the newest QR of `kind`.
fn newest(app: &TestApp, kind: &str) -> String {
    app.sim
        .qr_logins()
        .into_iter()
        .find(|l| l.kind == kind)
        .map(|l| l.ident)
        .expect("the simulator knows the QR")
}

async fn next(qr: &mut QrLogin) -> Result<QrEvent, LoginError> {
    timeout(Duration::from_secs(15), qr.next())
        .await
        .expect("an event within 15 s")
}

fn act(app: &TestApp, ident: &str, action: QrAction) -> Option<u64> {
    app.sim
        .qr_action(ident, action, None)
        .expect("the simulator takes the action")
        .1
}

/// The login's new key refreshes through the app like any other.
async fn refreshes_through_the_app(app: &TestApp, result: &LoginResult) {
    let cookie = &result.cookie;
    let params = vec![
        ("uin", cookie.uin.to_string()),
        ("music_key", cookie.key.expose().to_owned()),
        (
            "refresh_key",
            cookie
                .refresh_key
                .as_ref()
                .map(|s| s.expose().to_owned())
                .unwrap_or_default(),
        ),
        (
            "refresh_token",
            cookie
                .refresh_token
                .as_ref()
                .map(|s| s.expose().to_owned())
                .unwrap_or_default(),
        ),
    ];
    let answer = app.refresh(&params).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(!answer.musickey().is_empty());
    assert_ne!(
        answer.musickey(),
        cookie.key.expose(),
        "a refresh rotates the key"
    );
}

/// No issued secret shows in what a caller might print.
fn shows_no_secret(app: &TestApp, shown: &str) {
    let leaked = crate::log_capture::leaked(&app.sim.issued_secrets(), shown);
    assert!(leaked.is_empty(), "Debug output holds secrets: {leaked:?}");
}

fn metric(metrics: &Metrics, line_start: &str) -> Option<String> {
    metrics
        .render()
        .lines()
        .find(|l| l.starts_with(line_start))
        .map(|l| l.rsplit(' ').next().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_qq_qr_login_goes_waiting_scanned_done_and_its_key_refreshes() {
    let (app, login, metrics) = setup(64).await;
    let mut qr = login.start_qr(qr_kind("qq")).await.expect("QR");
    let (image, mime) = qr.image();
    assert_eq!(mime, "image/png");
    assert!(image.starts_with(b"\x89PNG"), "a PNG");
    assert!(matches!(next(&mut qr).await, Ok(QrEvent::Waiting)));
    let ident = newest(&app, "qq");

    act(&app, &ident, QrAction::Scan);
    assert!(matches!(next(&mut qr).await, Ok(QrEvent::Scanned)));
    let uin = act(&app, &ident, QrAction::Confirm).expect("confirm names the uin");
    let event = next(&mut qr).await;
    shows_no_secret(&app, &format!("{event:?} {qr:?}"));
    let Ok(QrEvent::Done(result)) = event else {
        panic!("expected Done, got {event:?}");
    };
    assert_eq!(result.cookie.uin.get(), uin);
    assert!(result.cookie.key.expose().starts_with("Q_H_L_"));
    assert!(result.cookie.refresh_key.is_some() || result.cookie.refresh_token.is_some());
    assert!(result.cookie.expires_at() > result.cookie.created_at);
    assert!(result.info.is_some(), "membership read with the new key");
    assert_eq!(app.calls(QQ_LOGIN).await, 1, "QQLogin exactly once");
    assert!(matches!(qr.next().await, Err(LoginError::Finished)));
    assert_eq!(
        metric(
            &metrics,
            "qmkeys_logins_total{kind=\"qq\",outcome=\"done\"}"
        )
        .as_deref(),
        Some("1")
    );
    drop(qr);
    check_sig_was_rebuilt(&app).await;
    refreshes_through_the_app(&app, &result).await;
}

/// The check_sig request qmkeys made is its own, not the URL ptqrlogin
/// answered: the simulator's URL has an `f_url` field that docs/protocol.md section 9's
/// request has not.
async fn check_sig_was_rebuilt(app: &TestApp) {
    let requests = app.sim_get("/_sim/requests").await;
    let check_sigs: Vec<_> = requests
        .as_array()
        .expect("a list")
        .iter()
        .filter(|r| r["kind"] == "login" && r["path"] == "/check_sig")
        .collect();
    assert_eq!(check_sigs.len(), 1, "one check_sig");
    let query = check_sigs[0]["query"].as_str().unwrap_or_default();
    assert!(
        query.contains("ptsigx=") && query.contains("uin="),
        "{query}"
    );
    assert!(
        !query.contains("f_url"),
        "followed the answered URL: {query}"
    );
    assert_eq!(
        check_sigs[0]["headers"]["referer"],
        "https://xui.ptlogin2.qq.com/"
    );
}

#[tokio::test]
async fn a_failing_qq_login_call_is_never_retried_and_ends_the_login_with_its_error() {
    let (app, login, _) = setup(64).await;
    app.fault(serde_json::json!({"target": QQ_LOGIN, "http_status": 502, "times": 5}))
        .await;
    let mut qr = login.start_qr(qr_kind("qq")).await.expect("QR");
    assert!(matches!(next(&mut qr).await, Ok(QrEvent::Waiting)));
    let ident = newest(&app, "qq");
    act(&app, &ident, QrAction::Confirm);
    let event = next(&mut qr).await;
    assert!(
        matches!(
            event,
            Err(LoginError::Upstream(
                qmkeys::upstream::UpstreamError::Status(502)
            ))
        ),
        "{event:?}"
    );
    assert_eq!(
        app.calls(QQ_LOGIN).await,
        1,
        "a code is good once: no retry"
    );
    assert!(matches!(qr.next().await, Err(LoginError::Finished)));
}

#[tokio::test]
async fn a_login_whose_membership_cannot_be_read_still_hands_over_the_key() {
    let (app, login, _) = setup(64).await;
    app.fault(serde_json::json!({"target": crate::helpers::VIP, "http_status": 500, "times": 10}))
        .await;
    let (client_uin, client_key) = app.sim.new_client(None).expect("desktop QQ");
    let uin = Uin::parse(&client_uin.to_string()).expect("uin");
    let key = ClientKey::parse(&client_key).expect("client key");
    let result = login.fast_login(uin, &key).await.expect("fast login");
    assert!(result.info.is_none());
    assert!(result.cookie.key.expose().starts_with("Q_H_L_"));
    assert!(app.calls(crate::helpers::VIP).await >= 1);
}

#[tokio::test]
async fn a_wechat_qr_login_goes_waiting_scanned_done_and_its_key_refreshes() {
    let (app, login, _) = setup(64).await;
    let mut qr = login.start_qr(qr_kind("wx")).await.expect("QR");
    let (image, mime) = qr.image();
    assert_eq!(mime, "image/jpeg");
    assert!(image.starts_with(b"\xff\xd8\xff"), "a JPEG");
    assert!(matches!(next(&mut qr).await, Ok(QrEvent::Waiting)));
    let ident = newest(&app, "wx");

    act(&app, &ident, QrAction::Scan);
    assert!(matches!(next(&mut qr).await, Ok(QrEvent::Scanned)));
    let uin = act(&app, &ident, QrAction::Confirm).expect("confirm names the uin");
    let event = next(&mut qr).await;
    shows_no_secret(&app, &format!("{event:?}"));
    let Ok(QrEvent::Done(result)) = event else {
        panic!("expected Done, got {event:?}");
    };
    assert_eq!(result.cookie.uin.get(), uin, "the account from str_musicid");
    assert!(result.cookie.key.expose().starts_with("W_X_"));
    assert_eq!(app.logins().await, 1, "one Login: the code login");
    drop(qr);
    refreshes_through_the_app(&app, &result).await;
}

#[tokio::test]
async fn a_qr_whose_two_minutes_pass_on_the_simulators_clock_is_expired() {
    let (app, login, _) = setup(64).await;
    let mut qq = login.start_qr(qr_kind("qq")).await.expect("QQ QR");
    let mut wx = login.start_qr(qr_kind("wx")).await.expect("WeChat QR");
    assert!(matches!(next(&mut qq).await, Ok(QrEvent::Waiting)));
    assert!(matches!(next(&mut wx).await, Ok(QrEvent::Waiting)));
    app.sim.advance_clock(121);
    let (qq_event, wx_event) = tokio::join!(next(&mut qq), next(&mut wx));
    assert!(matches!(qq_event, Ok(QrEvent::Expired)), "{qq_event:?}");
    assert!(matches!(wx_event, Ok(QrEvent::Expired)), "{wx_event:?}");
    assert_eq!(app.calls(QQ_LOGIN).await, 0);
}

#[tokio::test]
async fn a_login_never_outlives_its_deadline_even_if_the_host_says_waiting() {
    let (_app, login, _) = setup(64).await;
    let login = login.with_qr_deadline(Duration::from_secs(3));
    for kind in [qr_kind("qq"), qr_kind("wx")] {
        let started = Instant::now();
        let mut qr = login.start_qr(kind).await.expect("QR");
        assert!(matches!(next(&mut qr).await, Ok(QrEvent::Waiting)));
        // The simulator holds WeChat's long poll for 30 s; the deadline wins.
        let event = next(&mut qr).await;
        assert!(matches!(event, Ok(QrEvent::Expired)), "{kind:?}: {event:?}");
        let took = started.elapsed();
        assert!(took < Duration::from_secs(6), "{kind:?} took {took:?}");
    }
}

#[tokio::test]
async fn a_qr_refused_on_the_phone_ends_refused() {
    let (app, login, _) = setup(64).await;
    for (kind, name) in [(qr_kind("qq"), "qq"), (qr_kind("wx"), "wx")] {
        let mut qr = login.start_qr(kind).await.expect("QR");
        assert!(matches!(next(&mut qr).await, Ok(QrEvent::Waiting)));
        let ident = newest(&app, name);
        act(&app, &ident, QrAction::Scan);
        assert!(matches!(next(&mut qr).await, Ok(QrEvent::Scanned)));
        act(&app, &ident, QrAction::Refuse);
        let event = next(&mut qr).await;
        assert!(matches!(event, Ok(QrEvent::Refused)), "{name}: {event:?}");
    }
    assert_eq!(app.calls(QQ_LOGIN).await + app.logins().await, 0);
}

#[tokio::test]
async fn dropping_a_qr_login_stops_its_polling_at_once() {
    let (app, login, metrics) = setup(64).await;
    for (kind, name, counter) in [
        (qr_kind("qq"), "qq", "ptlogin.ptqrlogin"),
        (qr_kind("wx"), "wx", "wx.lp"),
    ] {
        let mut qr = login.start_qr(kind).await.expect("QR");
        assert!(matches!(next(&mut qr).await, Ok(QrEvent::Waiting)));
        let target = format!("{counter}:{}", newest(&app, name));
        // Nothing changes, so this next() only polls until it is cut off.
        assert!(timeout(Duration::from_secs(4), qr.next()).await.is_err());
        let polls = app.calls(&target).await;
        assert!(polls >= 1, "{name}: polled while open ({polls})");
        let gauge = format!("qmkeys_login_sessions{{kind=\"{name}\"}}");
        assert_eq!(metric(&metrics, &gauge).as_deref(), Some("1"));
        drop(qr);
        assert_eq!(metric(&metrics, &gauge).as_deref(), Some("0"));
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(
            app.calls(&target).await,
            polls,
            "{name}: no poll after the drop"
        );
        let state = app
            .sim
            .qr_logins()
            .into_iter()
            .find(|l| target.ends_with(&l.ident));
        assert_eq!(state.map(|l| l.state), Some("waiting"));
    }
    assert!(
        app.calls("ptlogin.ptqrlogin").await >= 2,
        "QQ polled more than once"
    );
    assert_eq!(
        metric(
            &metrics,
            "qmkeys_logins_total{kind=\"qq\",outcome=\"abandoned\"}"
        )
        .as_deref(),
        Some("1")
    );
}

#[tokio::test]
async fn past_the_session_cap_a_login_is_busy_and_a_dropped_one_frees_its_place() {
    let (app, login, _) = setup(2).await;
    let first = login.start_qr(qr_kind("qq")).await.expect("first");
    let _second = login.start_qr(qr_kind("wx")).await.expect("second");
    assert_eq!(login.open_sessions(), 2);
    let shows = app.calls("ptlogin.ptqrshow").await;
    let started = Instant::now();
    let third = login.start_qr(qr_kind("qq")).await;
    assert!(matches!(third, Err(LoginError::Busy)), "{third:?}");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "refused at once"
    );
    assert_eq!(
        app.calls("ptlogin.ptqrshow").await,
        shows,
        "no QR fetched when busy"
    );
    drop(first);
    assert_eq!(login.open_sessions(), 1);
    let again = login.start_qr(qr_kind("qq")).await;
    assert!(again.is_ok(), "{again:?}");
}

#[tokio::test]
async fn fast_login_with_a_live_client_key_logs_in_and_the_key_refreshes() {
    let (app, login, _) = setup(64).await;
    let (client_uin, client_key) = app.sim.new_client(None).expect("desktop QQ");
    let uin = Uin::parse(&client_uin.to_string()).expect("uin");
    let key = ClientKey::parse(&client_key).expect("client key");
    let result = login.fast_login(uin, &key).await;
    shows_no_secret(&app, &format!("{result:?} {key:?}"));
    let result = result.expect("fast login");
    assert_eq!(result.cookie.uin, uin);
    assert!(result.cookie.key.expose().starts_with("Q_H_L_"));
    assert_eq!(app.calls(QQ_LOGIN).await, 1);
    refreshes_through_the_app(&app, &result).await;
}

#[tokio::test]
async fn fast_login_with_an_ended_client_key_is_refused() {
    let (app, login, _) = setup(64).await;
    let (client_uin, client_key) = app.sim.new_client(None).expect("desktop QQ");
    app.sim.expire_client(client_uin).expect("session ends");
    let uin = Uin::parse(&client_uin.to_string()).expect("uin");
    let key = ClientKey::parse(&client_key).expect("client key");
    let err = login.fast_login(uin, &key).await.expect_err("refused");
    assert!(matches!(err, LoginError::ClientKeyRefused), "{err:?}");
    assert!(err.message().contains("client_key"));
    shows_no_secret(&app, &format!("{err} {err:?}"));
    assert_eq!(app.calls("ptlogin.check_sig").await, 0);
    assert_eq!(app.calls(QQ_LOGIN).await, 0);
}

#[tokio::test]
async fn a_qr_confirmed_for_an_existing_account_logs_that_account_in() {
    let (app, login, _) = setup(64).await;
    let account = app.sim_account("qq").await;
    let mut qr = login.start_qr(qr_kind("qq")).await.expect("QR");
    assert!(matches!(next(&mut qr).await, Ok(QrEvent::Waiting)));
    let ident = newest(&app, "qq");
    let uin: u64 = account.uin.parse().expect("uin");
    let (state, _) = app
        .sim
        .qr_action(&ident, QrAction::Confirm, Some(uin))
        .expect("confirm");
    assert_eq!(state, QrState::Confirmed);
    let event = next(&mut qr).await;
    let Ok(QrEvent::Done(result)) = event else {
        panic!("expected Done, got {event:?}");
    };
    assert_eq!(result.cookie.uin.get(), uin);
    assert_ne!(result.cookie.key.expose(), account.musickey, "a new key");
}

/// A ptlogin stand-in whose ptqrlogin fails with 503 `failures` times, then
/// says the QR expired; answers its base URL and the poll count.
async fn flaky_ptlogin(failures: usize) -> (url::Url, Arc<std::sync::atomic::AtomicUsize>) {
    use axum::http::{header, StatusCode};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let polls = Arc::new(AtomicUsize::new(0));
    let counted = polls.clone();
    let router = axum::Router::new()
        .route(
            "/ptqrshow",
            axum::routing::get(|| async {
                (
                    [(header::SET_COOKIE, "qrsig=stubQRSIGvalue; Path=/")],
                    b"\x89PNG\r\n\x1a\nstub".to_vec(),
                )
            }),
        )
        .route(
            "/ptqrlogin",
            axum::routing::get(move || {
                let n = counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < failures {
                        (StatusCode::SERVICE_UNAVAILABLE, String::new())
                    } else {
                        (
                            StatusCode::OK,
                            "ptuiCB('65','0','','0','二维码已失效。', '')".into(),
                        )
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}").parse().expect("url"), polls)
}

async fn stub_login(base: url::Url) -> LoginService {
    let mut settings = qmkeys::Settings::default();
    settings.login.ptlogin_base = base;
    let upstream = qmkeys::startup::upstream_client(&settings).expect("upstream client");
    LoginService::new(
        &qmkeys::startup::login_settings(&settings),
        upstream,
        Arc::new(Metrics::new().expect("metrics")),
    )
    .expect("login service")
}

#[tokio::test]
async fn a_poll_that_fails_now_and_then_is_tried_again_at_the_next_tick() {
    let (base, polls) = flaky_ptlogin(3).await;
    let login = stub_login(base).await;
    let mut qr = login.start_qr(qr_kind("qq")).await.expect("QR");
    assert!(matches!(next(&mut qr).await, Ok(QrEvent::Waiting)));
    let event = next(&mut qr).await;
    assert!(matches!(event, Ok(QrEvent::Expired)), "{event:?}");
    assert_eq!(polls.load(std::sync::atomic::Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_poll_that_keeps_failing_ends_the_login_with_the_hosts_status() {
    let (base, polls) = flaky_ptlogin(usize::MAX).await;
    let login = stub_login(base).await;
    let mut qr = login.start_qr(qr_kind("qq")).await.expect("QR");
    assert!(matches!(next(&mut qr).await, Ok(QrEvent::Waiting)));
    let event = next(&mut qr).await;
    assert!(
        matches!(
            event,
            Err(LoginError::HostStatus {
                step: "ptqrlogin",
                status: 503
            })
        ),
        "{event:?}"
    );
    assert_eq!(
        polls.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "3 retries, then done"
    );
}

#[tokio::test]
async fn a_qr_login_lets_go_of_its_image_once_polling_starts() {
    let (_app, login, _) = setup(64).await;
    for kind in [qr_kind("qq"), qr_kind("wx")] {
        let mut qr = login.start_qr(kind).await.expect("QR");
        assert!(
            !qr.image().0.is_empty(),
            "{kind:?}: the image to show first"
        );
        assert!(matches!(next(&mut qr).await, Ok(QrEvent::Waiting)));
        let (image, mime) = qr.image();
        assert!(
            image.is_empty(),
            "{kind:?}: {} bytes still kept",
            image.len()
        );
        assert!(mime.starts_with("image/"), "{kind:?}: {mime}");
    }
}
