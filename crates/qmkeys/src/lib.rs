//! qmkeys: a self-hosted server that refreshes QQ Music login keys and signs
//! cover uploads to QQ Music's COS bucket, answering in the 落月API V3 format.

#![forbid(unsafe_code)]

pub mod accounts;
pub mod backoff;
pub mod beijing;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod config;
pub mod cos;
pub mod domain;
pub mod http;
pub mod login;
pub mod metrics;
pub mod redis;
pub mod refresh;
pub mod secrets;
pub mod serve;
pub mod startup;
pub mod telemetry;
pub mod upload;
pub mod upstream;
pub mod webhook;

pub use config::Settings;
pub use startup::Application;
