//! `qmkeys-bench-baseline --listen ADDR --body-bytes N`: the floor every
//! end-to-end figure of `scripts/bench.sh` is compared with. A minimal hyper
//! HTTP/1.1 server on the same tokio runtime qmkeys uses (multi-thread, one
//! worker per CPU it may run on), answering every request with the same
//! `N`-byte JSON body and nothing else: no routing, parsing or work.
//!
//! With `--axum` it serves the same body through an axum router and
//! `axum::serve`, as qmkeys does, with no middleware and no work: the most a
//! server built on axum can get out of the same core, which tells how much of
//! qmkeys' gap to the baseline is the framework and how much is qmkeys.
//!
//! Prints its base URL (`http://IP:PORT`) on stdout once listening; runs
//! until killed.

#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::io::Write as _;
use std::time::Duration;

use clap::Parser;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[derive(Debug, Parser)]
#[command(about = "Minimal hyper server answering a fixed body, the baseline of scripts/bench.sh")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// Size of the answer body in bytes (scripts/bench.sh passes the size of a
    /// qmkeys refresh answer).
    #[arg(long, default_value_t = 760)]
    body_bytes: usize,
    /// Serve through axum (router and `axum::serve`) instead of bare hyper.
    #[arg(long)]
    axum: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&args.listen).await?;
    let mut out = std::io::stdout();
    writeln!(out, "http://{}", listener.local_addr()?)?;
    out.flush()?;
    let body = Bytes::from(qmkeys_bench::baseline_body(args.body_bytes));
    if args.axum {
        let router = axum::Router::new().fallback(move || {
            let body = body.clone();
            async move {
                (
                    [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                    body,
                )
            }
        });
        axum::serve(listener, router).await?;
        return Ok(());
    }
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(err) => {
                eprintln!("qmkeys-bench-baseline: accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let body = body.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |_req: Request<Incoming>| {
                let mut response = Response::new(Full::new(body.clone()));
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                async move { Ok::<_, Infallible>(response) }
            });
            // A client closing mid-request is not this server's business.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
