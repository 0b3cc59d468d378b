//! A faithful, stateful, in-memory stand-in for the QQ Music gateway and its
//! COS upload bucket (`/work/shared/PROTOCOL.md` sections 1-7), for testing
//! qmkeys over real HTTP on loopback.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::time::Duration;
//! use qqmusic_sim::{SimConfig, Simulator};
//! let config = SimConfig {
//!     upload_credential_lifetime: Duration::from_secs(600),
//!     ..Default::default()
//! };
//! let sim = Simulator::spawn("127.0.0.1:0", config).await?;
//! let upstream = sim.base_url(); // "http://127.0.0.1:PORT"
//! let cos_endpoint = format!("{upstream}/cos/music-file-1258344705");
//! # let _ = cos_endpoint; Ok(()) }
//! ```
//!
//! # Gateway
//!
//! `POST /cgi-bin/musicu.fcg` (unsigned) and `POST /cgi-bin/musics.fcg?sign=S`
//! (zzc sign over the exact body bytes; missing or wrong: every sub-request
//! answers 2000). Handled: `music.login.LoginServer.Login`,
//! `VipLogin.VipLoginInter.vip_login_base`,
//! `music.filesys.FileSystem.InitUpload` and `.FinishUpload`. Any other
//! `module.method` answers code 404 with `data {}`; a sub-request without
//! string `module`/`method` answers 500001; a body that is not a JSON object
//! gets top-level code 500001 (HTTP 200). Keys come from the `qqmusic_key` or
//! `qm_keyst` cookie (or `comm.authst`), the uin from the `uin` cookie or
//! `comm.uin`; a present `comm.g_tk` must be hash33 of the key in play or the
//! call is not logged in. Login takes its key from `param.musickey`.
//!
//! Login-required calls (InitUpload, FinishUpload) answer 1000 unless that
//! key is known, unexpired on the sim clock, belongs to the uin named (if
//! any), passes the g_tk rule and its account is not logged out; 20277 when
//! the account is banned (as Login answers). A refused call's `data` is its
//! success shape emptied.
//!
//! ## InitUpload
//!
//! Served on musics.fcg only: on musicu.fcg it answers 2000, as a missing
//! sign does (section 5 says "signed"). Checks, first failure answers:
//! sign (2000), login (1000 / 20277), param shape (500001). Param:
//! `{"BusID":"songlist","Files":[{"FileSha1","FileName","FileSize"}]}` with
//! 1-20 files, FileSha1 40 hex chars (either case), FileSize a positive JSON
//! integer, FileName at most 255 bytes ending in `.ext`, ext 1-16 ASCII
//! alphanumerics; extra keys are ignored. Success:
//!
//! ```text
//! {"AuthInfo":{"SecretID":"AKID<36 of [A-Za-z0-9_-]>","SecretKey":"<32 alnum>",
//!              "Token":"<always holds - _ + / =>","StartTime":now,
//!              "ExpiredTime":now + upload_credential_lifetime},
//!  "Files":[{"FileSha1":"<lower>","ObjectKey":"songlist/p/<shard>/<sha1>_<size hex>.<ext>",
//!            "Buckets":[{"Bucket":{"Name":"music-file-1258344705","Region":"ap-guangzhou"},
//!                        "UploadStatus":0|1}]}]}
//! ```
//!
//! one entry per file, in order; everything in the ObjectKey lower-case;
//! shard = first 5 hex chars of SHA1(sha1 text), stable per file and opaque.
//! UploadStatus 1 when the bucket already holds that key. Every call issues
//! a new credential (times on the sim clock), which may PUT only the keys
//! of that call. The newest 50,000 credentials are remembered.
//!
//! ## FinishUpload
//!
//! Either route. Login (1000 / 20277), then shape (500001):
//! `{"BusID":"songlist","Results":[{"Storage":{"Bucket":{"Name","Region"},"ObjectKey"},"UploadResult":<int>}]}`,
//! 1-20 results, strings non-empty. Success, in order:
//! `{"Results":[{"ObjectKey":k,"URL":"https://music-file.y.qq.com/"+k,"Exists":bool}]}`,
//! Exists true when Name and Region are this bucket's and it holds k.
//!
//! # COS bucket
//!
//! `/cos/{bucket}/{key}` on the simulator's address; a client's endpoint is
//! `http://<sim>/cos/music-file-1258344705`, so the path it signs is the full
//! path (`/cos/music-file-1258344705/songlist/p/...`) and Host is
//! `127.0.0.1:PORT`. Only `music-file-1258344705` exists. Errors are COS XML
//! (`<?xml version='1.0' encoding='utf-8' ?><Error><Code/><Message/><Resource/><RequestId/></Error>`,
//! `Content-Type: application/xml`); every answer has `x-cos-request-id`.
//!
//! PUT stores an object and answers 200 with `ETag: "<md5 hex>"`. Checks,
//! first failure answers:
//!
//! | # | check | status, code |
//! |---|---|---|
//! | 1 | bucket exists | 404 NoSuchBucket |
//! | 2 | key non-empty | 400 InvalidURI |
//! | 3 | Content-Length, then bytes read, at most 64 MiB | 400 EntityTooLarge |
//! | 4 | body arrives whole | 400 IncompleteBody |
//! | 5 | Authorization present and parses ([`cos_auth::parse_authorization`]) | 403 AccessDenied |
//! | 6 | q-ak is an issued SecretID | 403 InvalidAccessKeyId |
//! | 7 | `x-cos-security-token` is that credential's Token | 403 InvalidToken |
//! | 8 | credential unexpired (ExpiredTime > now) | 403 ExpiredToken |
//! | 9 | q-sign-time equals q-key-time | 403 AccessDenied |
//! | 10 | both windows cover now, inclusive | 403 RequestTimeTooSkewed |
//! | 11 | q-header-list has host, content-length, content-md5, x-cos-security-token | 403 AccessDenied |
//! | 12 | signature over the request as received (listed header or param missing: fails) | 403 SignatureDoesNotMatch |
//! | 13 | key time ends by ExpiredTime (section 6 step 1) | 403 AccessDenied |
//! | 14 | key is one the credential was issued for | 403 AccessDenied |
//! | 15 | Content-Length equals the body length | 400 IncompleteBody |
//! | 16 | base64-decoded content-md5 equals MD5(body) | 400 InvalidDigest |
//!
//! Signature before digest: a content-md5 changed after signing is
//! SignatureDoesNotMatch; a signed one that misdescribes the body is
//! InvalidDigest. The SignatureDoesNotMatch message quotes the HttpString
//! and StringToSign the bucket computed.
//!
//! GET and HEAD are public-read: the object with its ETag, Content-Length and
//! a Content-Type from the key's extension; else 404 NoSuchKey. Other
//! methods but OPTIONS: 405 MethodNotAllowed.
//!
//! CORS, as one rule (origin `*`, methods PUT GET HEAD POST, headers `*`,
//! expose ETag, max age 600): `OPTIONS` with an Origin and an allowed
//! Access-Control-Request-Method answers 200 with Access-Control-Allow-Origin
//! (the Origin), -Allow-Methods `PUT,GET,HEAD,POST`, -Allow-Headers (the
//! requested ones), -Max-Age 600; otherwise 403 AccessDenied. Every answer
//! to a request with an Origin, errors included, carries
//! Access-Control-Allow-Origin (the Origin), Access-Control-Expose-Headers
//! `ETag` and `Vary: Origin`.
//!
//! # Admin API
//!
//! Every answer is JSON; errors are `{"error": "..."}`.
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /_sim/accounts` | `{"kind":"qq"\|"wx","vip_end":"YYYY-MM-DD HH:MM:SS"\|null,"svip_end":..}` (ends optional, Beijing time) | `{"uin","musickey","refresh_key","refresh_token"}`; 400 on a bad body |
//! | `POST /_sim/accounts/bulk` | `{"kind":"qq"\|"wx","count":N,"vip_end":..,"svip_end":..}`, N from 1 to 100,000, ends as above and shared by all | a JSON array of N `{"uin","musickey","refresh_key","refresh_token"}`, distinct accounts (for load tests); 400 on a bad body or count |
//! | `POST /_sim/accounts/{uin}/expire` | none | every key of the account expires now |
//! | `POST /_sim/accounts/{uin}/logout` | none | its keys stop working; nothing refreshes any more |
//! | `POST /_sim/accounts/{uin}/ban` | none | Login for it answers 20277 |
//! | `GET /_sim/secrets` | | `{"secrets":[..]}`: every musickey, refresh key, refresh token and access token issued, and the SecretKey and session token of every COS credential still known; for tests that prove no secret leaked (logs, Redis dumps) |
//! | `GET /_sim/stats` | | `{"module.method": calls}` for every sub-request received; `cos.PutObject` every bucket PUT, `cos.PutObject.accepted` those answered 200 |
//! | `GET /_sim/requests` | | in order, last 10,000: `{"kind":"gateway","path","query","cookie","body"}` and `{"kind":"cos","method":"PUT","path","query","headers":{lowercase name: value}}` (no body) |
//! | `DELETE /_sim/requests` | | clears the log: `{"cleared": n}` |
//! | `POST /_sim/faults` | `{"target":"module.method","delay_ms","code","http_status","garbage","drop","times"}` | arms a fault; echoes it |
//! | `DELETE /_sim/faults` | | disarms all: `{"cleared": n}` |
//! | `POST /_sim/clock` | `{"advance_secs": N}` | `{"now": unix_s}` |
//! | `GET /_sim/clock` | | `{"now": unix_s}` |
//! | `GET /_sim/cos/objects` | | `[{"bucket","key","size","etag"}]` by key; etag quoted, as the ETag header |
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
//! Faulted requests still appear in the request log and the stats. Faults
//! target gateway methods only; the bucket has none.

#![forbid(unsafe_code)]

mod admin;
mod app;
mod clock;
mod codes;
mod config;
mod cos;
pub mod cos_auth;
mod error;
mod faults;
mod gateway;
mod ids;
mod journal;
mod login;
mod server;
mod state;
mod uploads;
pub mod zzc;

pub use config::SimConfig;
pub use login::admin::{ControlError, QrLoginInfo};
pub use login::{hash33, QrAction, QrState};
pub use server::Simulator;
