//! `qmkeys login` and `qmkeys accounts show`, run as a shell user runs them,
//! with the simulator playing the phone.

use crate::binary::qmkeys;
use crate::helpers::login_app;
use crate::helpers::{spawn_app_with_accounts, TestApp};
use qqmusic_sim::QrAction;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `qmkeys`, killed when the test ends, pass or fail.
pub struct Running {
    child: Child,
    stdout: Option<std::thread::JoinHandle<String>>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a `qmkeys` run ended.
pub struct Ended {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> Option<std::thread::JoinHandle<String>> {
    let mut pipe = pipe?;
    Some(std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    }))
}

impl Running {
    pub fn start(mut cmd: Command) -> Self {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("qmkeys starts");
        let (stdout, stderr) = (drain(child.stdout.take()), drain(child.stderr.take()));
        Self {
            child,
            stdout,
            stderr,
        }
    }

    /// Waits (off the runtime's threads' way) for the exit, 30 s at most.
    pub async fn end(mut self) -> Ended {
        let deadline = Instant::now() + Duration::from_secs(30);
        let code = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status.code();
            }
            assert!(Instant::now() < deadline, "qmkeys did not exit within 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let text = |h: Option<std::thread::JoinHandle<String>>| {
            h.map(|h| h.join().expect("drained")).unwrap_or_default()
        };
        Ended {
            code,
            stdout: text(self.stdout.take()),
            stderr: text(self.stderr.take()),
        }
    }
}

impl Ended {
    fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|_| panic!("stdout is not JSON: {}\n{}", self.stdout, self.stderr))
    }

    /// The PNG the command said it wrote.
    fn png(&self) -> PathBuf {
        self.stderr
            .lines()
            .find_map(|l| l.strip_prefix("QR image: "))
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("no QR image path on stderr: {}", self.stderr))
    }
}

/// The simulator's newest QR of `kind`, once the command has fetched it.
pub async fn wait_for_qr(app: &TestApp, kind: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(login) = app.sim.qr_logins().into_iter().find(|l| l.kind == kind) {
            return login.ident;
        }
        assert!(Instant::now() < deadline, "no {kind} QR within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Scans, lets the command see it (QQ is polled every 1.5 s), confirms.
pub async fn scan_and_confirm(app: &TestApp, ident: &str) -> u64 {
    app.sim
        .qr_action(ident, QrAction::Scan, None)
        .expect("scanned");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, uin) = app
        .sim
        .qr_action(ident, QrAction::Confirm, None)
        .expect("confirmed");
    uin.expect("a new account")
}

/// The binary with the server's settings in the environment, every host the
/// simulator, its temporary files in `dir`.
pub fn in_process(app: &TestApp, dir: &Path) -> Command {
    let sim = app.sim.base_url();
    let mut cmd = qmkeys();
    for var in [
        "QMKEYS_UPSTREAM",
        "QMKEYS_PTLOGIN_BASE",
        "QMKEYS_PTLOGIN_GRAPH_BASE",
        "QMKEYS_GRAPH_BASE",
        "QMKEYS_WX_OPEN_BASE",
        "QMKEYS_WX_LP_BASE",
        "QMKEYS_XLOGIN_BASE",
    ] {
        cmd.env(var, &sim);
    }
    let push = format!("{}/ws/handshake", sim.replacen("http://", "ws://", 1));
    cmd.env("QMKEYS_APP_QR_PUSH_URL", push);
    cmd.env("QMKEYS_DB", dir.join("cli.db")).env("TMPDIR", dir);
    cmd
}

/// The PNG decodes to the QR the simulator issued.
fn assert_png_holds(path: &Path, ident: &str) {
    let image = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_luma8();
    let (w, h) = (image.width() as usize, image.height() as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        image.get_pixel(x as u32, y as u32)[0]
    });
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR in {}", path.display());
    let (_, text) = grids[0].decode().expect("the PNG's QR decodes");
    assert!(text.contains(ident), "{text} is the simulator's QR {ident}");
}

fn assert_no_secret_on_stderr(app: &TestApp, stderr: &str) {
    for secret in app.sim.issued_secrets() {
        assert!(!stderr.contains(&secret), "a secret on stderr: {stderr}");
    }
}

#[tokio::test]
async fn login_through_a_server_prints_the_new_key_and_writes_a_png_of_the_qr() {
    let app = login_app(|_| {}).await;
    let dir = tempfile::tempdir().expect("dir");
    let mut cmd = qmkeys();
    cmd.args(["login", "--json", "--server", &app.base])
        .env("TMPDIR", dir.path());
    let running = Running::start(cmd);
    let ident = wait_for_qr(&app, "qq").await;
    let uin = scan_and_confirm(&app, &ident).await;
    let ended = running.end().await;

    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    let body = ended.json();
    assert_eq!(body["code"], 200);
    assert_eq!(body["data"]["cookie"]["uin"], uin);
    let key = body["data"]["cookie"]["musickey"].as_str().expect("key");
    assert!(key.starts_with("Q_H_L_"), "{key}");
    assert!(body["data"]["info"]["vip"].is_boolean(), "{body}");
    let again = app
        .refresh(&[("uin", uin.to_string()), ("music_key", key.to_owned())])
        .await;
    assert_eq!(again.code(), 200, "the printed key works: {:?}", again.body);

    assert!(
        ended.stderr.contains('█'),
        "the QR is drawn: {}",
        ended.stderr
    );
    assert!(ended.stderr.contains("等待扫码"), "{}", ended.stderr);
    assert!(ended.stderr.contains("已扫码"), "{}", ended.stderr);
    let png = ended.png();
    assert!(png.starts_with(dir.path()), "{}", png.display());
    assert_png_holds(&png, &ident);
    assert_no_secret_on_stderr(&app, &ended.stderr);
}

#[tokio::test]
async fn login_in_process_with_wechat_and_save_keeps_the_account_in_the_store() {
    let app = login_app(|_| {}).await;
    let dir = tempfile::tempdir().expect("dir");
    let mut cmd = in_process(&app, dir.path());
    cmd.args(["login", "--wx", "--save"]);
    let running = Running::start(cmd);
    let ident = wait_for_qr(&app, "wx").await;
    let uin = scan_and_confirm(&app, &ident).await;
    let ended = running.end().await;

    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    assert!(
        ended.stdout.contains("musickey       W_X_"),
        "a summary as refresh prints it: {}",
        ended.stdout
    );
    assert!(ended.stdout.contains(&format!("uin            {uin}")));
    // The JPEG was converted: the file is a PNG.
    let png = ended.png();
    assert!(std::fs::read(&png).expect("png").starts_with(b"\x89PNG"));
    assert_png_holds(&png, &ident);

    // What it saved is what `accounts show` hands back.
    let mut show = in_process(&app, dir.path());
    show.args(["accounts", "show", &uin.to_string(), "--json"]);
    let shown = Running::start(show).end().await;
    assert_eq!(shown.code, Some(0), "{}", shown.stderr);
    let printed = ended
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("musickey       "))
        .expect("key line");
    assert_eq!(shown.json()["data"]["cookie"]["musickey"], printed);
    assert_no_secret_on_stderr(&app, &ended.stderr);
}

#[tokio::test]
async fn login_in_process_with_the_app_qr_saves_a_type_6_account() {
    let app = login_app(|_| {}).await;
    let dir = tempfile::tempdir().expect("dir");
    let mut cmd = in_process(&app, dir.path());
    cmd.args(["login", "--kind", "app", "--save", "--json"]);
    let running = Running::start(cmd);
    let ident = wait_for_qr(&app, "app").await;
    let uin = scan_and_confirm(&app, &ident).await;
    let ended = running.end().await;

    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    let body = ended.json();
    assert_eq!(body["data"]["cookie"]["uin"], uin);
    assert_png_holds(&ended.png(), &ident);
    assert_no_secret_on_stderr(&app, &ended.stderr);

    let mut show = in_process(&app, dir.path());
    show.args(["accounts", "show", &uin.to_string(), "--json"]);
    let shown = Running::start(show).end().await;
    assert_eq!(shown.code, Some(0), "{}", shown.stderr);
    assert_eq!(
        shown.json()["data"]["cookie"]["musickey"],
        body["data"]["cookie"]["musickey"]
    );
    // The store remembers how the key was issued (docs/protocol.md section 10.1).
    let db = rusqlite::Connection::open(dir.path().join("cli.db")).expect("db");
    let login_type: Option<String> = db
        .query_row(
            "SELECT login_type FROM accounts WHERE uin = ?1",
            [uin.to_string()],
            |r| r.get(0),
        )
        .expect("the saved row");
    assert_eq!(login_type.as_deref(), Some("6"));
}

#[tokio::test]
async fn an_expired_qr_or_a_refusal_on_the_phone_exits_3() {
    let app = login_app(|_| {}).await;
    let dir = tempfile::tempdir().expect("dir");
    let mut cmd = in_process(&app, dir.path());
    cmd.arg("login");
    let running = Running::start(cmd);
    wait_for_qr(&app, "qq").await;
    app.sim.advance_clock(121);
    let expired = running.end().await;
    assert_eq!(expired.code, Some(3), "{}", expired.stderr);
    assert!(
        expired.stderr.contains("二维码已失效"),
        "{}",
        expired.stderr
    );
    assert!(expired.stdout.is_empty(), "{}", expired.stdout);

    let mut cmd = qmkeys();
    cmd.args(["login", "--wx", "--server", &app.base])
        .env("TMPDIR", dir.path());
    let running = Running::start(cmd);
    let ident = wait_for_qr(&app, "wx").await;
    app.sim
        .qr_action(&ident, QrAction::Refuse, None)
        .expect("refused");
    let refused = running.end().await;
    assert_eq!(refused.code, Some(3), "{}", refused.stderr);
    assert!(refused.stderr.contains("拒绝"), "{}", refused.stderr);
}

#[tokio::test]
async fn login_exit_codes_tell_a_refused_save_and_an_unreachable_server_apart() {
    let app = login_app(|_| {}).await;
    let mut cmd = qmkeys();
    cmd.args(["login", "--save", "--json", "--server", &app.base]);
    let refused = Running::start(cmd).end().await;
    assert_eq!(refused.code, Some(3), "{}", refused.stderr);
    assert_eq!(refused.json()["code"], 40305, "the server's envelope");
    assert!(app.sim.qr_logins().is_empty(), "no QR was fetched");

    let mut cmd = qmkeys();
    cmd.args(["login", "--server", "http://127.0.0.1:1"]);
    assert_eq!(Running::start(cmd).end().await.code, Some(4));

    let mut cmd = qmkeys();
    cmd.args(["login", "--server", "ftp://example.com"]);
    assert_eq!(Running::start(cmd).end().await.code, Some(2));
}

#[tokio::test]
async fn accounts_show_prints_a_kept_accounts_live_key_from_the_store() {
    let (app, _) = spawn_app_with_accounts(1, |_| {}).await;
    let stored = app.stored_accounts().await.remove(0);
    let uin = stored.uin().to_string();
    let key = stored.cred.key.expose().to_owned();
    let show = |args: &[&str]| {
        let mut cmd = qmkeys();
        cmd.args(["accounts", "show"])
            .args(args)
            .env("QMKEYS_DB", &app.settings.accounts.db)
            .env("QMKEYS_UPSTREAM", app.sim.base_url());
        Running::start(cmd)
    };

    let json = show(&[&uin, "--json"]).end().await;
    assert_eq!(json.code, Some(0), "{}", json.stderr);
    let body = json.json();
    assert_eq!(
        (body["code"].clone(), body["message"].clone()),
        (200.into(), "请求成功！".into())
    );
    assert_eq!(body["data"]["cookie"]["musickey"], key.as_str());
    assert_eq!(body["data"]["cookie"]["uin"].to_string(), uin);
    assert!(body["data"]["info"]["vip"].is_boolean(), "{body}");

    let text = show(&[&uin]).end().await;
    assert_eq!(text.code, Some(0), "{}", text.stderr);
    assert!(
        text.stdout.contains(&format!("musickey       {key}")),
        "{}",
        text.stdout
    );
    assert!(!text.stderr.contains(&key), "the key only on stdout");

    let unknown = show(&["123456789"]).end().await;
    assert_eq!(unknown.code, Some(1), "{}", unknown.stderr);
    assert!(unknown.stderr.contains("no account with uin 123456789"));

    let bad = show(&["not-a-uin"]).end().await;
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
}
