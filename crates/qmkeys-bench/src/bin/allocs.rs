//! `qmkeys-bench-allocs [--requests N] [--sites FILE]`: heap allocations per
//! answered request, counted by a counting allocator (dhat's), for the
//! refresh cache hit and the cos sign with the InitUpload answer reused.
//!
//! qmkeys is built by `Application::build` and served by the same serve loop,
//! logging and settings as `qmkeys serve` in scripts/bench.sh (rate limit
//! off, one upload account), against an in-process simulator. The client is
//! a plain blocking socket on its own thread that reuses one buffer, so after
//! the warm-up it allocates nothing: the count is the server's (and whatever
//! its background tasks did in the same time, which is reported apart as
//! the count over an idle stretch of the same length).
//!
//! `--sites FILE` writes dhat's per-call-site profile (view it with
//! dh_view.html from valgrind, or read its JSON) for finding where they are.

#![forbid(unsafe_code)]

use anyhow::{bail, Context, Result};
use clap::Parser;
use qmkeys::config::Settings;
use qmkeys::startup::Application;
use qqmusic_sim::{SimConfig, Simulator};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[derive(Parser)]
struct Args {
    /// Measured requests per workload, after as many again to warm up.
    #[arg(long, default_value_t = 20_000)]
    requests: u64,
    /// Write dhat's per-site profile here (JSON).
    #[arg(long)]
    sites: Option<PathBuf>,
}

/// One workload's figures.
struct Count {
    name: &'static str,
    requests: u64,
    blocks: u64,
    bytes: u64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let dir = tempdir()?;
    let profiler = {
        let mut builder = dhat::Profiler::builder();
        builder = match &args.sites {
            Some(path) => builder.file_name(path),
            None => builder.testing(),
        };
        builder.trim_backtraces(Some(24)).build()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (addr, paths, _sim) = runtime.block_on(start(&dir))?;
    let mut counts = Vec::new();
    for (name, path, code) in paths {
        let mut client = Client::connect(addr, &path)?;
        for _ in 0..args.requests {
            client.round_trip(code)?;
        }
        let before = dhat::HeapStats::get();
        let started = Instant::now();
        for _ in 0..args.requests {
            client.round_trip(code)?;
        }
        let elapsed = started.elapsed();
        let after = dhat::HeapStats::get();
        counts.push(Count {
            name,
            requests: args.requests,
            blocks: after.total_blocks - before.total_blocks,
            bytes: after.total_bytes - before.total_bytes,
        });
        // What the server does on its own meanwhile (keeper, metrics,
        // timers), to tell apart from the requests' own.
        let before = dhat::HeapStats::get();
        std::thread::sleep(elapsed);
        let after = dhat::HeapStats::get();
        counts.push(Count {
            name: "  idle, as long",
            requests: args.requests,
            blocks: after.total_blocks - before.total_blocks,
            bytes: after.total_bytes - before.total_bytes,
        });
    }
    println!(
        "| workload | requests | heap allocations per request | bytes allocated per request |"
    );
    println!("|---|---:|---:|---:|");
    for c in &counts {
        println!(
            "| {} | {} | {:.1} | {:.0} |",
            c.name,
            c.requests,
            c.blocks as f64 / c.requests as f64,
            c.bytes as f64 / c.requests as f64,
        );
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    drop(profiler);
    Ok(())
}

type Workload = (&'static str, String, &'static str);

/// The simulator, two accounts (one for uploads), and qmkeys serving; the
/// workloads' request paths with the envelope code each must answer.
async fn start(dir: &std::path::Path) -> Result<(SocketAddr, Vec<Workload>, Simulator)> {
    let sim = Simulator::spawn("127.0.0.1:0", SimConfig::default()).await?;
    let base = sim.base_url();
    let http = reqwest::Client::new();
    let new_account = || async {
        let account: serde_json::Value = http
            .post(format!("{base}/_sim/accounts"))
            .json(&serde_json::json!({
                "kind": "qq",
                "vip_end": "2030-09-15 07:20:45",
                "svip_end": "2023-08-22 07:29:39",
            }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        anyhow::Ok(account)
    };
    let upload = new_account().await?;
    let hit = new_account().await?;
    let field = |v: &serde_json::Value, k: &str| v[k].to_string();
    let text = format!(
        r#"
listen = "127.0.0.1:0"
upstream = "{base}"
cos_endpoint = "{base}/cos/{{bucket}}"
rate_limit_per_second = 0
max_connections_per_client = 512
db = "{db}"

[[accounts]]
uin = {uin}
musickey = {musickey}
refresh_key = {refresh_key}
refresh_token = {refresh_token}
"#,
        db = dir.join("qmkeys.db").display(),
        uin = field(&upload, "uin"),
        musickey = field(&upload, "musickey"),
        refresh_key = field(&upload, "refresh_key"),
        refresh_token = field(&upload, "refresh_token"),
    );
    let settings = Settings::from_toml(&text)?;
    // As `qmkeys serve`: the request span and its events are built for real.
    qmkeys::telemetry::init(&settings);
    let app = Application::build(settings).await?;
    let addr = app.addr();
    tokio::spawn(app.run_until(std::future::pending()));
    let hit_path = format!(
        "/music/tencent/cookie/refresh?uin={}&music_key={}",
        hit["uin"],
        hit["musickey"].as_str().context("musickey")?,
    );
    let sign_path = "/tool/cos/sign?sha1=4fbfbc28bbc4a67850fa90823fcea389fcfcd48d&md5=f853b39f8d7c2e617dbde77dca66d413&size=51458&ext=png".to_owned();
    Ok((
        addr,
        vec![
            ("refresh, cache hit", hit_path, "\"code\":200,"),
            ("cos sign, InitUpload reused", sign_path, "\"code\":0,"),
        ],
        sim,
    ))
}

fn tempdir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("qmkeys-bench-allocs-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A keep-alive HTTP/1.1 client that allocates nothing per request.
struct Client {
    stream: TcpStream,
    request: Vec<u8>,
    buf: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr, path: &str) -> Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Self {
            stream,
            request: format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n").into_bytes(),
            buf: vec![0; 64 * 1024],
        })
    }

    /// Sends the request and reads one whole answer, which must be a 200
    /// whose body carries `code`.
    fn round_trip(&mut self, code: &str) -> Result<()> {
        self.stream.write_all(&self.request)?;
        let mut filled = 0;
        loop {
            if filled == self.buf.len() {
                bail!("answer larger than {} bytes", self.buf.len());
            }
            let n = self.stream.read(&mut self.buf[filled..])?;
            if n == 0 {
                bail!("connection closed mid-answer");
            }
            filled += n;
            let got = &self.buf[..filled];
            let Some(head_end) = find(got, b"\r\n\r\n") else {
                continue;
            };
            let length = content_length(&got[..head_end]).context("no content-length")?;
            if filled < head_end + 4 + length {
                continue;
            }
            if !got.starts_with(b"HTTP/1.1 200") {
                bail!("not a 200: {}", String::from_utf8_lossy(&got[..head_end]));
            }
            let body = &got[head_end + 4..head_end + 4 + length];
            if find(body, code.as_bytes()).is_none() {
                bail!("answer without {code}: {}", String::from_utf8_lossy(body));
            }
            if filled != head_end + 4 + length {
                bail!("more bytes than one answer");
            }
            return Ok(());
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &[u8]) -> Option<usize> {
    head.split(|&b| b == b'\n').find_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let colon = line.iter().position(|&b| b == b':')?;
        let (name, value) = line.split_at(colon);
        if !name.eq_ignore_ascii_case(b"content-length") {
            return None;
        }
        std::str::from_utf8(&value[1..]).ok()?.trim().parse().ok()
    })
}
