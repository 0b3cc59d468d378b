//! `qmkeys-bench-fill --base URL --paths FILE [--concurrency N]`: GETs
//! `URL + line` for every line of FILE, each exactly once, N at a time, and
//! prints one JSON line: `{"requests","ok","failed","seconds","rps"}` (`ok`:
//! HTTP 200). `scripts/bench.sh` uses it to put 100,000 distinct refreshes in
//! the cache before reading qmkeys' memory: wrk runs for a duration, not for a
//! count, and cannot promise every credential is sent once.

#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use clap::Parser;
use futures::stream::{self, StreamExt as _};

#[derive(Debug, Parser)]
#[command(about = "Send every request path of a file once; report the answers")]
struct Args {
    /// Base URL, e.g. http://127.0.0.1:8080
    #[arg(long)]
    base: String,
    /// File of request paths with their query, one a line.
    #[arg(long)]
    paths: std::path::PathBuf,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.paths)?;
    let urls: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("{}{}", args.base.trim_end_matches('/'), l.trim()))
        .collect();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let started = Instant::now();
    let ok = stream::iter(urls.iter())
        .map(|url| {
            let client = &client;
            async move {
                match client.get(url).send().await {
                    // Read the body so the connection goes back to the pool.
                    Ok(resp) => {
                        resp.status() == reqwest::StatusCode::OK && resp.bytes().await.is_ok()
                    }
                    Err(_) => false,
                }
            }
        })
        .buffer_unordered(args.concurrency.max(1))
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let summary = serde_json::json!({
        "requests": urls.len(),
        "ok": ok,
        "failed": urls.len() - ok,
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "rps": if seconds > 0.0 { (urls.len() as f64 / seconds).round() } else { 0.0 },
    });
    println!("{summary}");
    Ok(())
}
