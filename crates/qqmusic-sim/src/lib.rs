//! A faithful, stateful, in-memory stand-in for the QQ Music gateway
//! (`/work/shared/PROTOCOL.md` sections 1-4), for testing qmkeys over real
//! HTTP on loopback.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use qqmusic_sim::{SimConfig, Simulator};
//! let sim = Simulator::spawn("127.0.0.1:0", SimConfig::default()).await?;
//! let upstream = sim.base_url(); // "http://127.0.0.1:PORT"
//! # let _ = upstream; Ok(()) }
//! ```
//!
//! # Gateway
//!
//! `POST /cgi-bin/musicu.fcg` (unsigned) and `POST /cgi-bin/musics.fcg?sign=S`
//! (zzc sign over the exact body bytes; missing or wrong: every sub-request
//! answers 2000). Handled: `music.login.LoginServer.Login` and
//! `VipLogin.VipLoginInter.vip_login_base`. Any other `module.method` answers
//! code 404 with `data {}`; a sub-request without string `module`/`method`
//! answers 500001; a body that is not a JSON object gets top-level code 500001
//! (HTTP 200). Keys come from the `qqmusic_key` or `qm_keyst` cookie (or
//! `comm.authst`), the uin from the `uin` cookie or `comm.uin`; a present
//! `comm.g_tk` must be hash33 of the key in play or the call is not logged in.
//! Login takes its key from `param.musickey`.
//!
//! # Admin API
//!
//! Every answer is JSON; errors are `{"error": "..."}`.
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /_sim/accounts` | `{"kind":"qq"\|"wx","vip_end":"YYYY-MM-DD HH:MM:SS"\|null,"svip_end":..}` (ends optional, Beijing time) | `{"uin","musickey","refresh_key","refresh_token"}`; 400 on a bad body |
//! | `POST /_sim/accounts/{uin}/expire` | none | every key of the account expires now |
//! | `POST /_sim/accounts/{uin}/logout` | none | its keys stop working; nothing refreshes any more |
//! | `POST /_sim/accounts/{uin}/ban` | none | Login for it answers 20277 |
//! | `GET /_sim/stats` | | `{"module.method": calls}`, every sub-request received |
//! | `GET /_sim/requests` | | `[{"path","query","cookie","body"}]` in order, last 10,000 |
//! | `DELETE /_sim/requests` | | clears the log: `{"cleared": n}` |
//! | `POST /_sim/faults` | `{"target":"module.method","delay_ms","code","http_status","garbage","drop","times"}` | arms a fault; echoes it |
//! | `DELETE /_sim/faults` | | disarms all: `{"cleared": n}` |
//! | `POST /_sim/clock` | `{"advance_secs": N}` | `{"now": unix_s}` |
//! | `GET /_sim/clock` | | `{"now": unix_s}` |
//!
//! The account routes answer 404 for an unknown uin.
//!
//! ## Faults
//!
//! A fault hits the next `times` (default 1) gateway requests that contain at
//! least one sub-request for `target`; each hit uses up one, however many
//! sub-requests of that target the request holds. Every armed fault that
//! matches a request fires on it. Their `delay_ms` add up and are slept
//! first; then, in this order, the first that applies decides the answer:
//! `drop` (the connection closes without any response byte), `http_status`
//! (that status with a short text body), `garbage` (HTTP 200, a body that is
//! not JSON). Otherwise the request is answered normally, except that each
//! sub-request of a target with a `code` fault answers that code with its
//! method's failure-shaped `data`, without running the handler. Requests
//! answered by `drop`, `http_status` or `garbage` run no handler either.
//! Faulted requests still appear in the request log and the stats.

#![forbid(unsafe_code)]

mod admin;
mod app;
mod clock;
mod codes;
mod config;
mod error;
mod faults;
mod gateway;
mod ids;
mod journal;
mod server;
mod state;
pub mod zzc;

pub use config::SimConfig;
pub use server::Simulator;
