//! Integration tests: qmkeys and the simulator on random loopback ports, talking
//! real HTTP. One binary, so the suite links once.

mod accounts;
mod accounts_cli;
mod admin_accounts;
mod binary;
mod check;
mod check_cli;
mod cli;
mod connections;
mod cors;
mod cos_property;
mod cos_sign;
mod crash;
mod envelopes;
mod healthcheck;
mod helpers;
mod keeper_checks;
mod lease;
mod log_capture;
mod login_app;
mod login_cli;
mod login_desktop;
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
mod timeline;
mod tls;
mod untrusted;
mod webhooks;
