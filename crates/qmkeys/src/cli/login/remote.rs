//! `qmkeys login --server URL`: the same login through a running server's
//! `GET /music/tencent/cookie/qrcode`, read as Server-Sent Events, or with
//! `--desktop` its `/music/tencent/cookie/fastlogin`.

use super::{progress, terminal, Ending, LoginArgs, COMMAND};
use crate::cli::{client, exit};
use crate::domain::{ClientKey, Uin};
use crate::http::envelope::Stamp;
use crate::http::refresh::RefreshData;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;
use std::process::ExitCode;
use std::time::Duration;
use url::Url;

/// The server writes a comment at least every 15 s; a minute of silence
/// means the connection is gone.
const SILENCE: Duration = Duration::from_secs(60);

pub async fn login(server: &Url, args: &LoginArgs, stamp: &Stamp) -> Result<Ending, ExitCode> {
    let mut url = client::server_route(COMMAND, server, "/music/tencent/cookie/qrcode")?;
    url.query_pairs_mut()
        .clear()
        .append_pair("type", args.qr_kind().as_str());
    if args.save {
        url.query_pairs_mut().append_pair("save", "true");
    }
    let unreachable = |e: reqwest::Error| {
        let message = format!("cannot reach {server}: {}", e.without_url());
        client::fail(COMMAND, exit::UNAVAILABLE, &message)
    };
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(unreachable)?;
    let mut response = http.get(url).send().await.map_err(unreachable)?;
    let is_stream = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !is_stream {
        // Refused before any stream started: the server's envelope.
        let status = response.status().as_u16();
        let text = response.text().await.map_err(unreachable)?;
        return Err(match serde_json::from_str::<Envelope>(&text) {
            Ok(envelope) => {
                if args.json {
                    println!("{text}");
                }
                client::fail_answer(COMMAND, status, envelope.code, &envelope.message)
            }
            Err(_) => client::fail(
                COMMAND,
                exit::UNAVAILABLE,
                &format!("{server} did not answer like a qmkeys server (HTTP {status})"),
            ),
        });
    }
    let mut events = Events::default();
    let mut shown = false;
    loop {
        while let Some(data) = events.next_data() {
            if !shown {
                show(&data)?;
                shown = true;
                continue;
            }
            if let Some(ending) = read_event(&data, stamp, args.json)? {
                return Ok(ending);
            }
        }
        let chunk = tokio::time::timeout(SILENCE, response.chunk())
            .await
            .map_err(|_| client::fail(COMMAND, exit::UNAVAILABLE, "the server went silent"))?
            .map_err(unreachable)?;
        match chunk {
            Some(bytes) => events.push(&bytes),
            None => {
                return Err(client::fail(
                    COMMAND,
                    exit::UNAVAILABLE,
                    "the server closed the stream before the login ended",
                ))
            }
        }
    }
}

/// `--desktop --server`: the key read from desktop QQ goes to the server's
/// fast login. POSTed as a form, so the key is in no URL a proxy might log.
pub async fn fast_login(
    server: &Url,
    args: &LoginArgs,
    uin: Uin,
    key: &ClientKey,
) -> Result<Ending, ExitCode> {
    let url = client::server_route(COMMAND, server, "/music/tencent/cookie/fastlogin")?;
    let unreachable = |e: reqwest::Error| {
        let message = format!("cannot reach {server}: {}", e.without_url());
        client::fail(COMMAND, exit::UNAVAILABLE, &message)
    };
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(SILENCE)
        .build()
        .map_err(unreachable)?;
    let uin_text = uin.to_string();
    let mut form = vec![
        ("client_uin", uin_text.as_str()),
        ("client_key", key.expose()),
    ];
    if args.save {
        form.push(("save", "true"));
    }
    let response = http
        .post(url)
        .form(&form)
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status().as_u16();
    let text = response.text().await.map_err(unreachable)?;
    let unlike = || {
        let message = format!("{server} did not answer like a qmkeys server (HTTP {status})");
        client::fail(COMMAND, exit::UNAVAILABLE, &message)
    };
    let envelope: Envelope = serde_json::from_str(&text).map_err(|_| unlike())?;
    if status != 200 || envelope.code != 200 {
        if args.json {
            println!("{text}");
        }
        return Err(client::fail_answer(
            COMMAND,
            status,
            envelope.code,
            &envelope.message,
        ));
    }
    let value: Value = serde_json::from_str(&text).map_err(|_| unlike())?;
    serde_json::from_value::<RefreshData>(value["data"].clone())
        .map(|data| Ending::Done(Box::new(data)))
        .map_err(|_| unlike())
}

/// The first event: the QR as a data URI.
fn show(data: &str) -> Result<(), ExitCode> {
    let bad = || client::fail(COMMAND, exit::UNAVAILABLE, "the server sent no QR image");
    let (head, b64) = data
        .strip_prefix("data:")
        .and_then(|d| d.split_once(";base64,"))
        .ok_or_else(bad)?;
    let bytes = B64.decode(b64).map_err(|_| bad())?;
    terminal::show(&bytes, head).map_err(|m| client::fail(COMMAND, exit::FAILED, &m))?;
    Ok(())
}

#[derive(Deserialize)]
struct Envelope {
    code: i64,
    message: String,
}

/// One event after the image: a state change (`None`: keep reading) or the
/// login's end.
fn read_event(data: &str, stamp: &Stamp, json: bool) -> Result<Option<Ending>, ExitCode> {
    if data == crate::http::login::EXPIRED_TEXT {
        return Ok(Some(Ending::Expired));
    }
    let value: Value = serde_json::from_str(data).map_err(|_| {
        client::fail(
            COMMAND,
            exit::UNAVAILABLE,
            "the server sent an unreadable event",
        )
    })?;
    if value.get("cookie").is_some() {
        return serde_json::from_value::<RefreshData>(value)
            .map(|data| Some(Ending::Done(Box::new(data))))
            .map_err(|e| {
                let message = format!("the server sent an unreadable result: {e}");
                client::fail(COMMAND, exit::UNAVAILABLE, &message)
            });
    }
    if let Ok(Envelope { code, message }) = serde_json::from_value::<Envelope>(value.clone()) {
        if json {
            let envelope =
                stamp.envelope::<()>(i32::try_from(code).unwrap_or(50000), &message, None);
            if let Ok(text) = serde_json::to_string(&envelope) {
                println!("{text}");
            }
        }
        // Envelope codes start with their HTTP status (50203: 502).
        let status = u16::try_from(code / 100).unwrap_or(500);
        return Err(client::fail_answer(COMMAND, status, code, &message));
    }
    let message = value["message"].as_str().unwrap_or_default();
    match value["status"].as_str() {
        Some("refused") => Ok(Some(Ending::Refused)),
        Some("waiting") => {
            progress(&format!("{message} (waiting for a scan)"));
            Ok(None)
        }
        Some("scanned") => {
            progress(&format!("{message} (scanned: confirm on the phone)"));
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// An event stream's `data`, event by event, as bytes arrive.
#[derive(Default)]
struct Events {
    buffer: Vec<u8>,
}

impl Events {
    fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete event's data (its `data:` lines joined by
    /// newlines); events without data (keep-alive comments) are skipped.
    fn next_data(&mut self) -> Option<String> {
        loop {
            let end = self.buffer.windows(2).position(|w| w == b"\n\n")?;
            let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
            let block = String::from_utf8_lossy(&block);
            let lines: Vec<&str> = block
                .lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            if !lines.is_empty() {
                return Some(lines.join("\n"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_read_across_chunks_and_comments_are_skipped() {
        let mut events = Events::default();
        events.push(b"id: 1\ndata: data:image/png;base64,iVBO\n\n: keep-al");
        assert_eq!(
            events.next_data().as_deref(),
            Some("data:image/png;base64,iVBO")
        );
        assert_eq!(events.next_data(), None);
        events.push(b"ive\n\nid: 2\ndata: {\"status\":\"waiting\"");
        assert_eq!(events.next_data(), None, "half an event waits");
        events.push(b"}\n\nid: 3\ndata: a\ndata: b\n\n");
        assert_eq!(
            events.next_data().as_deref(),
            Some("{\"status\":\"waiting\"}")
        );
        assert_eq!(events.next_data().as_deref(), Some("a\nb"));
        assert_eq!(events.next_data(), None);
    }
}
