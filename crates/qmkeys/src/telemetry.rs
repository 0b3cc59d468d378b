//! Logging. Nothing in qmkeys logs a request's query, body or any credential;
//! a request's span carries its id, method and path only.

use crate::config::{LogFormat, Settings};
use std::fmt;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::{DefaultFields, Writer};
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; a second call (as in tests) is a no-op.
pub fn init(settings: &Settings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colour only for a person at a terminal, never into files or collectors.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match settings.log.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.fmt_fields(OneWrite).try_init(),
    };
}

/// tracing-subscriber's own text for fields, handed on in one piece. A
/// span keeps its fields as a `String` that starts empty; written piece by
/// piece, the request span's grew it four times on every request.
struct OneWrite;

impl<'w> FormatFields<'w> for OneWrite {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut text = StackText::default();
        // A fresh writer sanitises ANSI escapes in values, as the layer's does.
        DefaultFields::new().format_fields(Writer::new(&mut text), fields)?;
        writer.write_str(text.as_str())
    }
}

/// Text on the stack, spilling to the heap past its size.
struct StackText {
    bytes: [u8; 256],
    len: usize,
    spilled: String,
}

impl Default for StackText {
    fn default() -> Self {
        Self {
            bytes: [0; 256],
            len: 0,
            spilled: String::new(),
        }
    }
}

impl StackText {
    fn as_str(&self) -> &str {
        if !self.spilled.is_empty() {
            return &self.spilled;
        }
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.spilled.is_empty() && self.len + s.len() <= self.bytes.len() {
            self.bytes[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
            self.len += s.len();
            return Ok(());
        }
        if self.spilled.is_empty() {
            let head = std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default();
            let mut spilled = String::with_capacity(self.len + s.len());
            spilled.push_str(head);
            self.spilled = spilled;
        }
        self.spilled.push_str(s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write;

    #[test]
    fn stack_text_keeps_every_piece_in_order_past_its_size() {
        let mut text = StackText::default();
        let piece = "αβ-0123456789";
        for _ in 0..40 {
            text.write_str(piece).expect("write");
        }
        assert_eq!(text.as_str(), piece.repeat(40));
        let mut short = StackText::default();
        short.write_str("id=1 ").expect("write");
        short.write_str("path=/x").expect("write");
        assert_eq!(short.as_str(), "id=1 path=/x");
    }
}
