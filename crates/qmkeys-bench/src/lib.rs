//! Benchmarks for qmkeys.
//!
//! - `cargo bench -p qmkeys-bench`: criterion micro-benchmarks of the hot
//!   pure functions (`benches/micro.rs`), on the fixtures below.
//! - `scripts/bench.sh`: the end-to-end benchmark. It starts the simulator,
//!   qmkeys and `qmkeys-bench-baseline` (a minimal hyper server answering
//!   [`baseline_body`]) and drives each with wrk; `qmkeys-bench-fill` fills the
//!   refresh cache for the memory figure. BENCHMARKS.md records a run.
//! - `qmkeys-bench-allocs`: heap allocations per cache hit and per sign,
//!   counted by dhat's allocator against an in-process qmkeys.
//! - `qmkeys-bench-login-streams`: many QR login streams held open at once,
//!   for `scripts/bench-login.sh`.

#![forbid(unsafe_code)]

pub mod fixtures;

/// The baseline server's answer: a JSON object of exactly `len` bytes (or
/// `len` spaces when `len` is too small to hold one), so the baseline moves
/// as many bytes as the qmkeys answer it stands in for.
pub fn baseline_body(len: usize) -> Vec<u8> {
    const HEAD: &str = r#"{"code":200,"message":"ok","data":""#;
    const TAIL: &str = r#""}"#;
    let Some(pad) = len.checked_sub(HEAD.len() + TAIL.len()) else {
        return vec![b' '; len];
    };
    let mut body = Vec::with_capacity(len);
    body.extend_from_slice(HEAD.as_bytes());
    body.resize(HEAD.len() + pad, b'x');
    body.extend_from_slice(TAIL.as_bytes());
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_body_is_json_of_exactly_the_asked_length() {
        for len in [38, 39, 700, 1024] {
            let body = baseline_body(len);
            assert_eq!(body.len(), len);
            let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
            assert_eq!(v["code"], 200);
        }
        assert_eq!(baseline_body(5), b"     ");
        assert!(baseline_body(0).is_empty());
    }
}
