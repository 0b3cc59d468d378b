//! What `qmkeys refresh` and `qmkeys cos-sign` share: which exit code an
//! answer gets, and how an envelope or a failure is printed.
//!
//! stdout carries the result (a readable summary, or with `--json` the same
//! JSON the endpoint answers, failures included); stderr carries messages and
//! progress bars, so `qmkeys cos-sign f.png --json | jq` always reads JSON.

use crate::clock::SystemClock;
use crate::http::envelope::Stamp;
use crate::http::error::ApiError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::exit;

/// `path` on a running server given with `--server`, keeping any prefix
/// the server's URL has; anything but http(s) is a usage error.
pub fn server_route(command: &str, server: &url::Url, path: &str) -> Result<url::Url, ExitCode> {
    if !matches!(server.scheme(), "http" | "https") {
        return Err(fail(
            command,
            exit::USAGE,
            "--server must be an http:// or https:// URL",
        ));
    }
    let mut url = server.clone();
    url.set_path(&format!("{}{path}", server.path().trim_end_matches('/')));
    Ok(url)
}

/// A running server's answer: its HTTP status, the body as it came (for
/// `--json`, which prints it unchanged) and the envelope read from it.
#[derive(Debug)]
pub struct Answer<T> {
    pub status: u16,
    pub text: String,
    pub envelope: Envelope<T>,
}

/// The envelope every qmkeys route answers, `data` read as `T`.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    pub code: i64,
    #[serde(default)]
    pub message: String,
    pub data: Option<T>,
}

/// The HTTP client for `--server`: a short connect timeout, so a wrong
/// address fails fast.
pub fn http_client(command: &str) -> Result<reqwest::Client, ExitCode> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|err| fail(command, exit::FAILED, &err.to_string()))
}

/// Sends `request` to the running server `server` and reads its envelope:
/// an unreachable server, or one that answers something else, is
/// `exit::UNAVAILABLE` with a message on stderr.
pub async fn call_server<T: DeserializeOwned>(
    command: &str,
    server: &url::Url,
    request: reqwest::RequestBuilder,
) -> Result<Answer<T>, ExitCode> {
    let unreachable = |e: reqwest::Error| {
        let message = format!("cannot reach {server}: {e}");
        fail(command, exit::UNAVAILABLE, &message)
    };
    let response = request
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status().as_u16();
    let text = response.text().await.map_err(unreachable)?;
    let envelope = serde_json::from_str(&text).map_err(|_| {
        let message = format!("{server} did not answer like a qmkeys server (HTTP {status})");
        fail(command, exit::UNAVAILABLE, &message)
    })?;
    Ok(Answer {
        status,
        text,
        envelope,
    })
}

/// Calls an admin route of the running server `server` with the owner's
/// token as `Authorization: Bearer`, and `form` as a form body when it is
/// not empty: the HTTP status and the envelope, read as JSON whatever the
/// route's `data`. The token goes in the header only, never in a message.
pub async fn admin_request(
    command: &str,
    server: &url::Url,
    token: &str,
    method: reqwest::Method,
    path: &str,
    form: &[(&str, String)],
) -> Result<Answer<serde_json::Value>, ExitCode> {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut url = server_route(command, server, path)?;
    url.set_query(Some(query).filter(|q| !q.is_empty()));
    let mut request = http_client(command)?
        .request(method, url)
        .bearer_auth(token);
    if !form.is_empty() {
        request = request.form(form);
    }
    call_server(command, server, request).await
}

/// The exit code for an error answer with this HTTP status.
pub fn exit_for_status(status: u16) -> u8 {
    if (400..500).contains(&status) && status != 429 {
        exit::REFUSED
    } else {
        exit::UNAVAILABLE
    }
}

/// An envelope stamped as the server stamps it, with this machine's clock.
pub fn stamp(tips: &str) -> Stamp {
    Stamp::new(Arc::new(SystemClock), tips)
}

/// Prints a success envelope as the endpoint would answer it.
pub fn print_json<T: Serialize>(stamp: &Stamp, code: i32, message: &str, data: T) {
    match serde_json::to_string(&stamp.envelope(code, message, Some(data))) {
        Ok(json) => println!("{json}"),
        Err(err) => eprintln!("qmkeys: cannot write JSON: {err}"),
    }
}

/// Reports an error answered by this process's own services, as the endpoint
/// would: the envelope on stdout with `--json`, a line on stderr always.
pub fn fail_api(command: &str, stamp: &Stamp, json: bool, err: &ApiError) -> ExitCode {
    let parts = err.parts();
    if json {
        if let Ok(text) =
            serde_json::to_string(&stamp.envelope::<()>(parts.code, &parts.message, None))
        {
            println!("{text}");
        }
    }
    fail_answer(
        command,
        parts.status.as_u16(),
        i64::from(parts.code),
        &parts.message,
    )
}

/// Reports an error envelope, from this process or a server.
pub fn fail_answer(command: &str, status: u16, code: i64, message: &str) -> ExitCode {
    eprintln!("qmkeys {command}: {message} (HTTP {status}, code {code})");
    ExitCode::from(exit_for_status(status))
}

pub fn fail(command: &str, exit: u8, message: &str) -> ExitCode {
    eprintln!("qmkeys {command}: {message}");
    ExitCode::from(exit)
}

/// A service `serve` would build could not be built from these settings.
pub fn fail_startup(command: &str, err: &crate::startup::StartupError) -> ExitCode {
    let code = match err {
        crate::startup::StartupError::Store(_) | crate::startup::StartupError::Redis(_) => {
            exit::UNAVAILABLE
        }
        crate::startup::StartupError::Config(_) => exit::USAGE,
        _ => exit::FAILED,
    };
    fail(command, code, &crate::http::error::Chain(err).to_string())
}

pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_not_worth_retrying_but_an_outage_or_a_rate_limit_is() {
        assert_eq!(exit_for_status(400), exit::REFUSED);
        assert_eq!(exit_for_status(401), exit::REFUSED);
        assert_eq!(exit_for_status(403), exit::REFUSED);
        assert_eq!(exit_for_status(429), exit::UNAVAILABLE);
        assert_eq!(exit_for_status(502), exit::UNAVAILABLE);
        assert_eq!(exit_for_status(503), exit::UNAVAILABLE);
        assert_eq!(exit_for_status(504), exit::UNAVAILABLE);
    }
}
