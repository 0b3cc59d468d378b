//! A headless Chromium per test, driven through WebDriver (chromedriver), and
//! the small things the page tests need: a real PNG, a second origin,
//! screenshots.

use crate::process::KillOnDrop;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long a page may take to reach a state.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// chromedriver and the Chromium it starts, in a process group of their own
/// that is killed (by its id) when the test ends, however it ends.
struct Driver {
    _child: KillOnDrop,
    port: u16,
    _profile: tempfile::TempDir,
}

pub struct Browser {
    pub client: Client,
    _driver: Driver,
}

impl Browser {
    /// A fresh headless Chromium with an empty profile and no network but loopback.
    pub async fn start() -> Browser {
        assert!(
            Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists(),
            "the browser tests need Debian's chromium and chromium-driver \
             ({CHROMIUM}, {CHROMEDRIVER}); .ci/run installs them: apt-get install -y chromium chromium-driver"
        );
        let profile = tempfile::tempdir().expect("profile dir");
        // A chromedriver that dies before naming its port (seen once on a
        // loaded machine) is started again; its stderr is shown if it never does.
        let mut failures = Vec::new();
        let (child, port) = loop {
            let log = profile
                .path()
                .join(format!("chromedriver-{}.log", failures.len()));
            match start_chromedriver(&log).await {
                Ok(started) => break started,
                Err(why) if failures.len() < 2 => failures.push(why),
                Err(why) => {
                    failures.push(why);
                    panic!("chromedriver never reported its port: {failures:#?}");
                }
            }
        };
        let driver = Driver {
            _child: child,
            port,
            _profile: profile,
        };
        let mut caps = Capabilities::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-dev-shm-usage",
                    "--disable-crash-reporter",
                    "--disable-breakpad",
                    "--window-size=1280,1600",
                    "--lang=zh-CN",
                    format!("--user-data-dir={}", driver._profile.path().display()),
                ]
            }),
        );
        // Plain HTTP to chromedriver on loopback: no TLS stack needed at all.
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a Chromium session");
        Browser {
            client,
            _driver: driver,
        }
    }

    /// Ends the session: chromedriver closes Chromium, which reaps its own
    /// helpers. (A panicking test skips this; dropping kills the group.)
    pub async fn close(self) {
        let Browser { client, _driver } = self;
        let _ = client.close().await;
        drop(_driver);
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigates");
    }

    /// Waits until `css` matches, then returns it.
    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(el) => el,
            Err(err) => {
                let body = self.text("body").await;
                panic!("{css} never appeared ({err}); the page says:\n{body}");
            }
        }
    }

    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
    }

    pub async fn text(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        el.clear().await.expect("clears");
        el.send_keys(text).await.expect("types");
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("clicks");
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    pub async fn run(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .expect("script runs")
    }

    /// As [`Browser::run`], for a script that calls `arguments[arguments.length - 1]` when done.
    pub async fn run_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute_async(script, args)
            .await
            .expect("async script runs")
    }

    /// Every resource the page loaded, by URL.
    pub async fn loaded_urls(&self) -> Vec<String> {
        let urls = self
            .run(
                "return [location.href].concat(performance.getEntriesByType('resource').map(e => e.name));",
                vec![],
            )
            .await;
        serde_json::from_value(urls).unwrap_or_default()
    }

    /// Saves a screenshot of the element under target/screenshots/.
    pub async fn screenshot(&self, css: &str, name: &str) -> PathBuf {
        let png = self.find(css).await.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(name);
        std::fs::write(&path, &png).expect("screenshot saved");
        assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
        path
    }
}

/// `target/screenshots`, beside the build's own temporary directory.
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .join("screenshots")
}

/// A real PNG (stored deflate blocks): a cover-like gradient with a disc.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut raw = Vec::with_capacity(((width * 3 + 1) * height) as usize);
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
            let (dx, dy) = (fx - 0.5, fy - 0.5);
            let disc = dx * dx + dy * dy < 0.09;
            let hole = dx * dx + dy * dy < 0.004;
            let (r, g, b) = if hole {
                (244, 246, 245)
            } else if disc {
                (20, 28, 24)
            } else {
                (
                    (29.0 + 120.0 * fx) as u8,
                    (185.0 - 60.0 * fy) as u8,
                    (84.0 + 140.0 * fx * fy) as u8,
                )
            };
            raw.extend_from_slice(&[r, g, b]);
        }
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A page served from a second origin (another loopback port), to call the
/// API cross-origin from. Stops when dropped.
pub struct OtherOrigin {
    pub base: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for OtherOrigin {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub async fn other_origin() -> OtherOrigin {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(|| async {
            axum::response::Html("<!doctype html><title>another site</title><p>another site</p>")
        }),
    );
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    OtherOrigin { base, server }
}

/// Starts chromedriver on a port of its choosing and reads which; on failure,
/// what it wrote to stderr.
async fn start_chromedriver(log: &Path) -> Result<(KillOnDrop, u16), String> {
    let stderr = std::fs::File::create(log).map_err(|e| format!("log file: {e}"))?;
    let mut cmd = Command::new(CHROMEDRIVER);
    cmd.arg("--port=0")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr));
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    // Guarded from here on: a chromedriver that never names its port is
    // killed. The group's id is chromedriver's pid, so this ends only what
    // the test started.
    let mut child = cmd
        .spawn()
        .map(KillOnDrop::group_leader)
        .map_err(|e| format!("spawn: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    // chromedriver names the port it chose; wait for that line, then keep
    // draining its output so it never blocks on a full pipe.
    let port = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        let port = lines.by_ref().map_while(Result::ok).find_map(|line| {
            line.split("started successfully on port ")
                .nth(1)
                .and_then(|rest| rest.trim_end_matches('.').trim().parse::<u16>().ok())
        });
        std::thread::spawn(move || lines.for_each(drop));
        port
    })
    .await
    .map_err(|e| format!("reader: {e}"))?;
    match port {
        Some(port) => Ok((child, port)),
        None => Err(std::fs::read_to_string(log).unwrap_or_default()),
    }
}
