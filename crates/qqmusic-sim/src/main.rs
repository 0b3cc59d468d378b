//! `qqmusic-sim --listen ADDR [--key-lifetime-secs N]
//! [--upload-credential-lifetime-secs N] [--qr-lifetime-secs N]
//! [--wx-poll-hold-ms N] [--client-key-lifetime-secs N]`: runs the
//! simulator until interrupted.

#![forbid(unsafe_code)]

use std::time::Duration;

use clap::Parser;
use qqmusic_sim::{SimConfig, Simulator};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(version, about = "In-memory QQ Music gateway simulator")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: String,
    /// Lifetime of issued musickeys, in seconds (keyExpiresIn).
    #[arg(long, default_value_t = 259_200)]
    key_lifetime_secs: u64,
    /// Lifetime of InitUpload temporary credentials, in seconds.
    #[arg(long, default_value_t = 21_600)]
    upload_credential_lifetime_secs: u64,
    /// Lifetime of login QRs (QQ and WeChat), in seconds.
    #[arg(long, default_value_t = 120)]
    qr_lifetime_secs: u64,
    /// How long a WeChat long poll is held when nothing changes, in ms.
    #[arg(long, default_value_t = 30_000)]
    wx_poll_hold_ms: u64,
    /// Lifetime of desktop client keys from POST /_sim/clients, in seconds.
    #[arg(long, default_value_t = 1_800)]
    client_key_lifetime_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs go to stderr so stdout carries only the base URL, for scripts.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let config = SimConfig {
        key_lifetime: Duration::from_secs(args.key_lifetime_secs),
        upload_credential_lifetime: Duration::from_secs(args.upload_credential_lifetime_secs),
        qr_lifetime: Duration::from_secs(args.qr_lifetime_secs),
        wx_poll_hold: Duration::from_millis(args.wx_poll_hold_ms),
        client_key_lifetime: Duration::from_secs(args.client_key_lifetime_secs),
    };
    let sim = Simulator::spawn(&args.listen, config).await?;
    println!("{}", sim.base_url());
    tokio::select! {
        () = sim.wait() => {}
        r = tokio::signal::ctrl_c() => {
            r?;
            tracing::info!("interrupted, stopping");
        }
    }
    Ok(())
}
