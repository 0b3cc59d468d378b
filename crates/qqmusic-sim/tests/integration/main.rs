//! Integration tests: a real simulator on 127.0.0.1:0, driven over HTTP.

mod admin;
mod common;
mod faults;
mod gateway;
mod login;
mod vip;
