//! `qmkeys cos-sign FILE`: hash a cover image while streaming it, get a signed
//! upload for it (from a running server with `--server`, or directly with the
//! configured upload accounts, as `serve` would), print it, and with
//! `--upload` PUT the file to the bucket.

use super::client;
use super::exit;
use crate::clock::{SharedClock, SystemClock};
use crate::config::Settings;
use crate::domain::{ImageExt, UploadFile};
use crate::http::cos_sign::SignData;
use crate::http::error::ApiError;
use crate::startup;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use md5::Md5;
use serde::Deserialize;
use sha1::{Digest, Sha1};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use tokio::io::AsyncReadExt;
use url::Url;

const COMMAND: &str = "cos-sign";
/// Files from this size on get progress bars (shown only on a terminal).
const PROGRESS_FROM: u64 = 1024 * 1024;
const CHUNK: usize = 64 * 1024;

#[derive(Debug, Args)]
pub struct CosSignArgs {
    /// The cover image.
    pub file: PathBuf,
    /// Image type (png, jpg, jpeg, gif, webp, bmp, svg); by default the file's extension.
    #[arg(long)]
    pub ext: Option<String>,
    /// Ask this running qmkeys server (e.g. http://127.0.0.1:8080) instead of
    /// signing with the configured upload accounts.
    #[arg(long)]
    pub server: Option<Url>,
    /// PUT the file to the bucket and print the CDN address.
    #[arg(long)]
    pub upload: bool,
    /// Print the endpoint's JSON envelope instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// A file's digests and size, as the sign endpoint takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub sha1: String,
    pub md5: String,
    pub size: u64,
}

/// Reads `reader` once, feeding both digests; `progress` sees each chunk.
pub fn digest(mut reader: impl Read, mut progress: impl FnMut(u64)) -> std::io::Result<Digests> {
    let (mut sha1, mut md5, mut size) = (Sha1::new(), Md5::new(), 0u64);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        sha1.update(&buf[..n]);
        md5.update(&buf[..n]);
        size += n as u64;
        progress(n as u64);
    }
    Ok(Digests {
        sha1: hex::encode(sha1.finalize()),
        md5: hex::encode(md5.finalize()),
        size,
    })
}

/// The image type: `--ext`, else the file's extension.
pub fn image_ext(file: &Path, ext: Option<&str>) -> Result<ImageExt, String> {
    match ext {
        Some(ext) => ImageExt::from_file_ext(ext)
            .ok_or_else(|| "--ext: must be one of png|jpg|jpeg|gif|webp|bmp|svg".to_owned()),
        None => file
            .extension()
            .and_then(|e| e.to_str())
            .and_then(ImageExt::from_file_ext)
            .ok_or_else(|| {
                format!(
                    "cannot tell the image type from the name {}: pass --ext png|jpg|jpeg|gif|webp|bmp|svg",
                    file.display()
                )
            }),
    }
}

fn bar(len: u64, what: &str) -> ProgressBar {
    if len < PROGRESS_FROM {
        return ProgressBar::hidden();
    }
    // Draws to stderr, and only when it is a terminal.
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(
        "{msg:9} [{bar:32}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(what.to_owned());
    bar
}

/// The sign answer's `data`, as read back from JSON (ours or a server's).
#[derive(Debug, Deserialize)]
struct Signed {
    url: String,
    header: std::collections::BTreeMap<String, String>,
    #[serde(rename = "CDN")]
    cdn: String,
}

type Answer = client::Envelope<Signed>;

pub fn run(settings: Option<&Settings>, args: CosSignArgs) -> ExitCode {
    let ext = match image_ext(&args.file, args.ext.as_deref()) {
        Ok(ext) => ext,
        Err(message) => return client::fail(COMMAND, exit::USAGE, &message),
    };
    let file = match std::fs::File::open(&args.file) {
        Ok(f) => f,
        Err(err) => {
            let message = format!("cannot read {}: {err}", args.file.display());
            return client::fail(COMMAND, exit::USAGE, &message);
        }
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let hashing = bar(len, "hashing");
    let digests = digest(std::io::BufReader::new(file), |n| hashing.inc(n));
    hashing.finish_and_clear();
    let digests = match digests {
        Ok(d) => d,
        Err(err) => {
            let message = format!("cannot read {}: {err}", args.file.display());
            return client::fail(COMMAND, exit::USAGE, &message);
        }
    };
    let runtime = match client::runtime() {
        Ok(rt) => rt,
        Err(err) => return client::fail(COMMAND, exit::FAILED, &err.to_string()),
    };
    runtime.block_on(async {
        let http = match client::http_client(COMMAND) {
            Ok(c) => c,
            Err(code) => return code,
        };
        let (text, signed) = match (&args.server, settings) {
            (Some(server), _) => match from_server(&http, server, &digests, ext).await {
                Ok(got) => got,
                Err(code) => return code,
            },
            (None, Some(settings)) => match directly(settings, &digests, ext, args.json).await {
                Ok(got) => got,
                Err(code) => return code,
            },
            (None, None) => return client::fail(COMMAND, exit::USAGE, "no settings to sign with"),
        };
        if args.json {
            println!("{text}");
        } else {
            print_signed(&signed);
        }
        if !args.upload {
            return ExitCode::from(exit::OK);
        }
        match upload(&http, &args.file, &signed, digests.size).await {
            Ok(()) => {
                if args.json {
                    eprintln!(
                        "qmkeys {COMMAND}: uploaded {} bytes; CDN {}",
                        digests.size, signed.cdn
                    );
                } else {
                    println!("uploaded {} bytes", digests.size);
                    println!("CDN: {}", signed.cdn);
                }
                ExitCode::from(exit::OK)
            }
            Err(code) => code,
        }
    })
}

fn print_signed(signed: &Signed) {
    println!("PUT {}", signed.url);
    for (name, value) in &signed.header {
        println!("{name}: {value}");
    }
    println!("CDN: {}", signed.cdn);
}

/// Signs with this process's own services, as `serve` would.
async fn directly(
    settings: &Settings,
    digests: &Digests,
    ext: ImageExt,
    json: bool,
) -> Result<(String, Signed), ExitCode> {
    let stamp = client::stamp(&settings.http.tips);
    let size = digests.size.to_string();
    let file = UploadFile::parse(
        Some(&digests.sha1),
        Some(&digests.md5),
        Some(&size),
        Some(ext.as_str()),
        settings.cos.max_upload_bytes,
    )
    .map_err(|e| client::fail_api(COMMAND, &stamp, json, &ApiError::from(e)))?;
    let clock: SharedClock = Arc::new(SystemClock);
    let upstream =
        startup::upstream_client(settings).map_err(|e| client::fail_startup(COMMAND, &e))?;
    let backends = startup::backends(settings).map_err(|e| client::fail_startup(COMMAND, &e))?;
    let (_accounts, uploads) = startup::upload_service(settings, upstream, clock, &backends)
        .await
        .map_err(|e| client::fail_startup(COMMAND, &e))?;
    let signed = uploads
        .sign(&file)
        .await
        .map_err(|e| client::fail_api(COMMAND, &stamp, json, &ApiError::from(e)))?;
    let envelope = stamp.envelope(0, "访问成功", Some(SignData::from(signed)));
    let text = serde_json::to_string(&envelope)
        .map_err(|e| client::fail(COMMAND, exit::FAILED, &e.to_string()))?;
    let answer: Answer = serde_json::from_str(&text)
        .map_err(|e| client::fail(COMMAND, exit::FAILED, &e.to_string()))?;
    let signed = answer
        .data
        .ok_or_else(|| client::fail(COMMAND, exit::FAILED, "no data"))?;
    Ok((text, signed))
}

/// Asks a running server; its answer is printed as it came.
async fn from_server(
    http: &reqwest::Client,
    server: &Url,
    digests: &Digests,
    ext: ImageExt,
) -> Result<(String, Signed), ExitCode> {
    let mut url = client::server_route(COMMAND, server, crate::http::cos_sign::PATH)?;
    url.query_pairs_mut()
        .clear()
        .append_pair("sha1", &digests.sha1)
        .append_pair("md5", &digests.md5)
        .append_pair("size", &digests.size.to_string())
        .append_pair("ext", ext.as_str());
    let answer = client::call_server::<Signed>(COMMAND, server, http.get(url)).await?;
    let (status, text, answer) = (answer.status, answer.text, answer.envelope);
    match answer.data {
        Some(signed) if answer.code == 0 => Ok((text, signed)),
        _ => {
            // The server's envelope, for scripts that read stdout.
            println!("{text}");
            Err(client::fail_answer(
                COMMAND,
                status,
                answer.code,
                &answer.message,
            ))
        }
    }
}

/// PUTs the file's raw bytes, streamed, with the signed headers; the client
/// sets Host, and Content-Length is the signed size.
async fn upload(
    http: &reqwest::Client,
    path: &Path,
    signed: &Signed,
    size: u64,
) -> Result<(), ExitCode> {
    let file = tokio::fs::File::open(path).await.map_err(|e| {
        client::fail(
            COMMAND,
            exit::USAGE,
            &format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let sending = bar(size, "uploading");
    let progress = sending.clone();
    let chunks = futures::stream::try_unfold(file, move |mut file| {
        let progress = progress.clone();
        async move {
            let mut buf = vec![0u8; CHUNK];
            let n = file.read(&mut buf).await?;
            if n == 0 {
                return Ok::<_, std::io::Error>(None);
            }
            buf.truncate(n);
            progress.inc(n as u64);
            Ok(Some((buf, file)))
        }
    });
    let mut request = http
        .put(&signed.url)
        .header(reqwest::header::CONTENT_LENGTH, size)
        .body(reqwest::Body::wrap_stream(chunks));
    for (name, value) in &signed.header {
        if !name.eq_ignore_ascii_case("host") && !name.eq_ignore_ascii_case("content-length") {
            request = request.header(name, value);
        }
    }
    let response = request.send().await;
    sending.finish_and_clear();
    let response = response.map_err(|e| {
        let message = format!("cannot reach the bucket: {e}");
        client::fail(COMMAND, exit::UNAVAILABLE, &message)
    })?;
    if response.status().is_success() {
        return Ok(());
    }
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    let pick = |tag: &str| {
        body.split(&format!("<{tag}>"))
            .nth(1)
            .and_then(|rest| rest.split(&format!("</{tag}>")).next())
            .unwrap_or_default()
            .to_owned()
    };
    let message = format!(
        "the bucket refused the upload: HTTP {status} {}: {}",
        pick("Code"),
        pick("Message")
    );
    Err(client::fail(COMMAND, exit::UPLOAD_REFUSED, &message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_those_of_the_whole_stream_read_in_chunks() {
        let bytes: Vec<u8> = (0..CHUNK * 3 + 17).map(|i| (i * 31 % 251) as u8).collect();
        let mut seen = 0;
        let d = digest(bytes.as_slice(), |n| seen += n).expect("digest");
        assert_eq!(d.size, bytes.len() as u64);
        assert_eq!(seen, d.size);
        assert_eq!(d.sha1, hex::encode(Sha1::digest(&bytes)));
        assert_eq!(d.md5, hex::encode(Md5::digest(&bytes)));
        let empty = digest(std::io::empty(), |_| {}).expect("empty");
        assert_eq!(empty.md5, "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn the_type_comes_from_the_flag_or_else_the_extension() {
        let p = Path::new("cover.JPEG");
        assert_eq!(image_ext(p, None), Ok(ImageExt::Jpeg));
        assert_eq!(image_ext(p, Some("png")), Ok(ImageExt::Png));
        assert!(image_ext(Path::new("notes.txt"), None).is_err_and(|e| e.contains("--ext")));
        assert!(image_ext(Path::new("noext"), None).is_err_and(|e| e.contains("--ext")));
        assert!(image_ext(p, Some("tiff")).is_err_and(|e| e.starts_with("--ext")));
    }
}
