//! Criterion micro-benchmarks of qmkeys' hot pure functions:
//! `cargo bench -p qmkeys-bench` (add `-- NAME` to run some).
//!
//! - `cos/*`: the COS signer on docs/protocol.md section 6 vector D (a cover upload),
//!   next to one SHA-1 over the same HttpString bytes, the floor of any signer;
//! - `zzc/*`: the musics.fcg signature over the protocol vector and over an
//!   InitUpload body of the size qmkeys really signs;
//! - `refresh/*`: the CPU work of a cache-hit refresh outside the cache and
//!   the network: parsing the credential, its cache key, building the answer
//!   and serialising the envelope (BENCHMARKS.md puts them side by side with
//!   the end-to-end figures).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use qmkeys::cache::CacheKeyer;
use qmkeys::clock::SystemClock;
use qmkeys::cos::sign;
use qmkeys::http::envelope::Stamp;
use qmkeys::http::refresh::RefreshData;
use qmkeys::upstream::zzc_sign;
use qmkeys_bench::fixtures::{self, vector_d};
use sha1::{Digest, Sha1};

fn cos(c: &mut Criterion) {
    let req = vector_d::request();
    let signed = vector_d::signed();
    assert_eq!(signed.signature, vector_d::SIGNATURE, "vector D");
    let http_string = signed.http_string.into_bytes();

    let mut g = c.benchmark_group("cos");
    g.bench_function("sign_vector_d", |b| {
        b.iter(|| {
            sign(
                black_box(&req),
                black_box(vector_d::SECRET_ID),
                black_box(vector_d::SECRET_KEY),
                black_box(vector_d::KEY_TIME),
            )
        })
    });
    g.throughput(Throughput::Bytes(http_string.len() as u64));
    g.bench_function("sha1_http_string", |b| {
        b.iter(|| Sha1::digest(black_box(&http_string)))
    });
    g.finish();
}

fn zzc(c: &mut Criterion) {
    let mut g = c.benchmark_group("zzc");
    for (name, body) in [
        ("vector", fixtures::ZZC_VECTOR_BODY),
        ("init_upload_body", fixtures::INIT_UPLOAD_BODY.as_bytes()),
    ] {
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(format!("{name}_{}B", body.len()), |b| {
            b.iter(|| zzc_sign(black_box(body)))
        });
    }
    g.finish();
}

fn refresh(c: &mut Criterion) {
    let refreshed = fixtures::refreshed().expect("fixture");
    let now = fixtures::now().expect("fixture");
    let cred = fixtures::credential().expect("fixture");
    let keyer = CacheKeyer::new([7; 32]);
    let stamp = Stamp::new(Arc::new(SystemClock), "欢迎使用 qmkeys");
    let data = RefreshData::new(&refreshed, now);
    let answer =
        serde_json::to_vec(&stamp.envelope(200, "请求成功！", Some(&data))).expect("serialises");

    let mut g = c.benchmark_group("refresh");
    g.bench_function("credential_parse", |b| {
        b.iter(|| {
            qmkeys::domain::Credential::parse(
                black_box(Some(fixtures::UIN)),
                black_box(Some(fixtures::MUSIC_KEY)),
                black_box(Some(fixtures::REFRESH_KEY)),
                black_box(Some(fixtures::REFRESH_TOKEN)),
            )
        })
    });
    g.bench_function("cache_key", |b| b.iter(|| keyer.key_for(black_box(&cred))));
    g.bench_function("answer_build", |b| {
        b.iter(|| RefreshData::new(black_box(&refreshed), black_box(now)))
    });
    g.throughput(Throughput::Bytes(answer.len() as u64));
    g.bench_function("envelope_serialise", |b| {
        b.iter(|| serde_json::to_vec(&stamp.envelope(200, "请求成功！", Some(black_box(&data)))))
    });
    g.bench_function("answer_build_and_respond", |b| {
        b.iter(|| {
            let data = RefreshData::new(black_box(&refreshed), black_box(now));
            stamp.respond(StatusCode::OK, 200, "请求成功！", Some(data))
        })
    });
    g.finish();
}

fn config() -> Criterion {
    // Short runs: these functions take micro- or nanoseconds, so 2 s per
    // benchmark gives tight intervals and the whole suite stays near a minute.
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = cos, zzc, refresh
}
criterion_main!(benches);
