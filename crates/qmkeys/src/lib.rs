//! qmkeys: a self-hosted server that refreshes QQ Music login keys and signs
//! cover uploads to QQ Music's COS bucket, answering in the 落月API V3 format.

#![forbid(unsafe_code)]

pub mod accounts;
pub mod beijing;
pub mod cache;
pub mod cli;
pub mod cli_accounts;
pub mod cli_client;
pub mod cli_cos_sign;
pub mod cli_healthcheck;
pub mod cli_refresh;
pub mod clock;
pub mod config;
pub mod cos;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod refresh;
pub mod secrets;
pub mod shared;
pub mod startup;
pub mod telemetry;
pub mod upload;
pub mod upstream;

pub use config::Settings;
pub use startup::Application;
