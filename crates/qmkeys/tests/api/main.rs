//! Integration tests: qmkeys and the simulator on random loopback ports, talking
//! real HTTP. One binary, so the suite links once.

mod accounts;
mod binary;
mod cli;
mod connections;
mod cors;
mod cos_property;
mod cos_sign;
mod crash;
mod envelopes;
mod healthcheck;
mod helpers;
mod lease;
mod log_capture;
mod login_app;
mod login_cli;
mod login_engine;
mod login_http;
mod logs;
mod openapi;
mod process;
mod redis;
mod refresh;
mod refresh_caching;
mod refresh_errors;
mod store;
mod tls;
mod untrusted;
mod webhooks;
