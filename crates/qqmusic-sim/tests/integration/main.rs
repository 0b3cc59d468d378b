//! Integration tests: a real simulator on 127.0.0.1:0, driven over HTTP.

mod admin;
mod app_qr;
mod bucket;
mod common;
mod cors;
mod cos_client;
mod desktop;
mod faults;
mod gateway;
mod login;
mod qr_login;
mod upload;
mod user;
mod vip;
