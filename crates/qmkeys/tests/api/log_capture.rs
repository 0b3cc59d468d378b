//! Every log line the suite writes, at debug level, kept in memory so that
//! each test can prove no credential the simulator issued was logged.
//!
//! The first app a test spawns installs the subscriber for the whole test
//! binary; each [`crate::helpers::TestApp`] remembers where the log stood when
//! it started and, when dropped, checks everything written since.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

static LINES: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static INSTALLED: OnceLock<bool> = OnceLock::new();

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut lines = LINES.lock().unwrap_or_else(|e| e.into_inner());
        lines.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber once (debug for every target, spans'
/// fields on every line); answers where the log stands now.
pub fn start() -> usize {
    INSTALLED.get_or_init(|| {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_ansi(false)
            .with_writer(|| Capture)
            .try_init()
            .is_ok()
    });
    len()
}

pub fn len() -> usize {
    LINES.lock().unwrap_or_else(|e| e.into_inner()).len()
}

/// Whether the capture is live (false if another subscriber got there first).
#[allow(dead_code)] // the browser suite shares this file but not the test that asks
pub fn installed() -> bool {
    INSTALLED.get().copied().unwrap_or(false)
}

/// The log written since `from`, as text.
pub fn since(from: usize) -> String {
    let lines = LINES.lock().unwrap_or_else(|e| e.into_inner());
    String::from_utf8_lossy(lines.get(from..).unwrap_or_default()).into_owned()
}

/// The secrets among `secrets` that occur in `log`, each shown by its first
/// characters only, so that a failure does not print a whole key.
pub fn leaked(secrets: &[String], log: &str) -> Vec<String> {
    secrets
        .iter()
        // Every credential the simulator issues is long; a short one would
        // match by chance.
        .filter(|s| s.len() >= 12 && log.contains(s.as_str()))
        .map(|s| format!("{}…", s.chars().take(8).collect::<String>()))
        .collect()
}
