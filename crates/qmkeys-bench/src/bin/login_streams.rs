//! `qmkeys-bench-login-streams --base URL [--count N] [--kind qq|wx|app|mix]
//! --stop-file PATH [--max-hold-secs N]`: opens N QR login streams
//! (`GET /music/tencent/cookie/qrcode`) at once and keeps them all open,
//! reading their events, until PATH exists (or the hold runs out); then
//! drops them all. `scripts/bench-login.sh` uses it for the memory and
//! polling cost of concurrent logins.
//!
//! Prints two lines on stdout, each a word and one JSON object:
//! - `OPEN {...}` once every stream has its first event (the QR image, id 1)
//!   or has failed: the script starts its measured window there;
//! - `DONE {...}` after the streams are dropped: what each stream saw.
//!
//! A stream that ends before the stop (the QR expired, an error event) or is
//! answered anything but 200 counts as an error, with a few samples.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    Qq,
    Wx,
    /// The QQ Music app's own QR (states pushed over MQTT).
    App,
    /// Every other stream QQ, the rest WeChat.
    Mix,
}

#[derive(Debug, Parser)]
#[command(about = "Open many QR login streams at once and hold them open")]
struct Args {
    /// qmkeys' base URL, e.g. http://127.0.0.1:8080
    #[arg(long)]
    base: String,
    /// Streams to open.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    #[arg(long, value_enum, default_value_t = Kind::Qq)]
    kind: Kind,
    /// The streams are dropped once this file exists.
    #[arg(long)]
    stop_file: PathBuf,
    /// They are dropped after this long in any case.
    #[arg(long, default_value_t = 300)]
    max_hold_secs: u64,
}

/// What the streams saw, summed.
#[derive(Default)]
struct Tally {
    /// Answered 200 with `text/event-stream`.
    opened: AtomicUsize,
    /// Got the QR image event (id 1).
    first_events: AtomicUsize,
    /// Got the `waiting` event after it.
    waiting: AtomicUsize,
    events: AtomicU64,
    bytes: AtomicU64,
    /// Not 200, a transport error, or a stream that ended before the stop.
    errors: AtomicUsize,
    ended_early: AtomicUsize,
    /// Microseconds from the start to each stream's first event.
    first_event_us: Mutex<Vec<u64>>,
    samples: Mutex<Vec<String>>,
}

impl Tally {
    fn error(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut samples) = self.samples.lock() {
            if samples.len() < 5 {
                samples.push(what);
            }
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(30))
        .build()?;
    let base = args.base.trim_end_matches('/').to_owned();
    let tally = Arc::new(Tally::default());
    // Every stream task ends when this turns true: dropping the response
    // closes its connection, which is what a browser going away does.
    let (stop_tx, stop_rx) = watch::channel(false);
    // Each stream reports once: first event seen, or failed before it.
    let settled = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.count);
    for i in 0..args.count {
        let kind = match args.kind {
            Kind::Qq => "qq",
            Kind::Wx => "wx",
            Kind::App => "app",
            Kind::Mix if i % 2 == 0 => "qq",
            Kind::Mix => "wx",
        };
        let url = format!("{base}/music/tencent/cookie/qrcode?type={kind}");
        tasks.push(tokio::spawn(one_stream(
            client.clone(),
            url,
            tally.clone(),
            settled.clone(),
            started,
            stop_rx.clone(),
        )));
    }

    let hold_until = started + Duration::from_secs(args.max_hold_secs);
    while settled.load(Ordering::Relaxed) < args.count && Instant::now() < hold_until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all_open_secs = started.elapsed().as_secs_f64();
    println!(
        "OPEN {}",
        serde_json::json!({
            "count": args.count,
            "opened": tally.opened.load(Ordering::Relaxed),
            "first_events": tally.first_events.load(Ordering::Relaxed),
            "errors": tally.errors.load(Ordering::Relaxed),
            "seconds": round3(all_open_secs),
        })
    );

    while !args.stop_file.exists() && Instant::now() < hold_until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let held_secs = started.elapsed().as_secs_f64() - all_open_secs;
    // Counted before the drop, so a stream cut by it is not "ended early".
    let still_open = tasks.iter().filter(|t| !t.is_finished()).count();
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = task.await;
    }

    let mut firsts = tally
        .first_event_us
        .lock()
        .map(|v| v.clone())
        .unwrap_or_default();
    firsts.sort_unstable();
    let pct = |p: f64| -> f64 {
        if firsts.is_empty() {
            return 0.0;
        }
        let i = ((firsts.len() as f64 - 1.0) * p).round() as usize;
        round3(firsts[i] as f64 / 1e6)
    };
    let samples = tally.samples.lock().map(|v| v.clone()).unwrap_or_default();
    println!(
        "DONE {}",
        serde_json::json!({
            "count": args.count,
            "kind": format!("{:?}", args.kind).to_lowercase(),
            "opened": tally.opened.load(Ordering::Relaxed),
            "first_events": tally.first_events.load(Ordering::Relaxed),
            "waiting": tally.waiting.load(Ordering::Relaxed),
            "still_open_at_stop": still_open,
            "ended_early": tally.ended_early.load(Ordering::Relaxed),
            "errors": tally.errors.load(Ordering::Relaxed),
            "events": tally.events.load(Ordering::Relaxed),
            "bytes": tally.bytes.load(Ordering::Relaxed),
            "all_open_secs": round3(all_open_secs),
            "held_secs": round3(held_secs),
            "first_event_p50_secs": pct(0.5),
            "first_event_max_secs": pct(1.0),
            "error_samples": samples,
        })
    );
    Ok(())
}

async fn one_stream(
    client: reqwest::Client,
    url: String,
    tally: Arc<Tally>,
    settled: Arc<AtomicUsize>,
    started: Instant,
    mut stop: watch::Receiver<bool>,
) {
    let mut reported = false;
    let settle = |reported: &mut bool| {
        if !*reported {
            *reported = true;
            settled.fetch_add(1, Ordering::Relaxed);
        }
    };
    let response = tokio::select! {
        r = client.get(&url).send() => r,
        _ = stop.wait_for(|s| *s) => { settle(&mut reported); return; }
    };
    let mut response = match response {
        Ok(r) => r,
        Err(e) => {
            tally.error(format!("request: {e}"));
            settle(&mut reported);
            return;
        }
    };
    let is_sse = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if response.status() != reqwest::StatusCode::OK || !is_sse {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        tally.error(format!(
            "{status}: {}",
            body.chars().take(200).collect::<String>()
        ));
        settle(&mut reported);
        return;
    }
    tally.opened.fetch_add(1, Ordering::Relaxed);

    // Events are split on blank lines; only `id:` and `data:` are read.
    let mut buffer = String::new();
    let mut last_data = String::new();
    loop {
        let chunk = tokio::select! {
            c = response.chunk() => c,
            _ = stop.wait_for(|s| *s) => break,
        };
        match chunk {
            Ok(Some(bytes)) => {
                tally.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                buffer.push_str(&String::from_utf8_lossy(&bytes));
                while let Some(end) = buffer.find("\n\n") {
                    let event: String = buffer.drain(..end + 2).collect();
                    let id = field(&event, "id");
                    let Some(data) = field(&event, "data") else {
                        continue; // a keep-alive comment
                    };
                    tally.events.fetch_add(1, Ordering::Relaxed);
                    if id.as_deref() == Some("1") && data.starts_with("data:image/") {
                        tally.first_events.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut v) = tally.first_event_us.lock() {
                            v.push(started.elapsed().as_micros() as u64);
                        }
                        settle(&mut reported);
                    } else if data.contains("\"waiting\"") {
                        tally.waiting.fetch_add(1, Ordering::Relaxed);
                    }
                    last_data = data;
                }
            }
            Ok(None) => {
                tally.ended_early.fetch_add(1, Ordering::Relaxed);
                tally.error(format!(
                    "ended early; last event: {}",
                    last_data.chars().take(200).collect::<String>()
                ));
                break;
            }
            Err(e) => {
                tally.error(format!("read: {e}"));
                break;
            }
        }
    }
    settle(&mut reported);
}

/// The value of the first `name:` line of one event.
fn field(event: &str, name: &str) -> Option<String> {
    event.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?.strip_prefix(':')?;
        Some(rest.strip_prefix(' ').unwrap_or(rest).to_owned())
    })
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
