//! Levels mode (`--levels`): what each compression level costs and saves on the benchmark's
//! own answers, with the codecs the server uses (flate2 and brotli, as tower-http's encoders
//! build them), in this process: one answer per operation is fetched uncompressed from a
//! server on a generated database, then compressed at each level many times. Also small
//! prefixes of an answer, for the threshold below which compressing is not worth it.
//!
//!     cargo bench --bench load -- --levels --pairings 1000

use std::io::Write;
use std::process::Stdio;
use std::time::Instant;

use crate::support::{Client, Database, Server};

/// gzip levels and brotli qualities measured.
const GZIP: [u32; 4] = [1, 4, 6, 9];
const BROTLI: [u32; 7] = [1, 3, 4, 5, 6, 9, 11];

pub async fn levels(backend: &str, pairings: u64, postgres: &str) {
    let database = Database::create(backend, pairings, postgres, "levels").await;
    let server = Server::start(&database.url, &[], Stdio::inherit()).await;
    let mut client = Client::connect(server.addr).await;
    let mut answers = Vec::new();
    for op in super::operations("g1", pairings, "stream-g1-0".into()) {
        let (status, body) = client.request("POST", "/graphql", &(op.body)(7)).await;
        assert_eq!(status, 200, "{}", op.name);
        answers.push((op.name, body));
    }
    server.stop();
    database.remove().await;

    println!("| answer | bytes | coding | level | compressed bytes | ratio | µs per answer |");
    println!("|---|---:|---|---:|---:|---:|---:|");
    let page = answers[1].1.clone();
    // The threshold: prefixes of the pairing page, as small answers of the same text.
    for size in [256, 512, 1024, 2048, 4096] {
        answers.push(("prefix of 2", page[..size.min(page.len())].to_vec()));
    }
    for (name, body) in &answers {
        for level in GZIP {
            row(name, body, "gzip", level, |b| gzip(b, level));
        }
        for level in BROTLI {
            row(name, body, "br", level, |b| brotli(b, level));
        }
    }
}

fn row(name: &str, body: &[u8], coding: &str, level: u32, compress: impl Fn(&[u8]) -> Vec<u8>) {
    let size = compress(body).len();
    // About 50 ms of work per cell, at least 5 runs.
    let started = Instant::now();
    let mut runs = 0;
    while runs < 5 || started.elapsed().as_millis() < 50 {
        std::hint::black_box(compress(body));
        runs += 1;
    }
    let micros = started.elapsed().as_secs_f64() * 1e6 / runs as f64;
    println!(
        "| {name} | {} | {coding} | {level} | {size} | {:.2} | {micros:.0} |",
        body.len(),
        body.len() as f64 / size as f64
    );
}

fn gzip(body: &[u8], level: u32) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    encoder.write_all(body).expect("in memory");
    encoder.finish().expect("in memory")
}

fn brotli(body: &[u8], quality: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        // The window async-compression's brotli encoder uses by default (22).
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, quality, 22);
        writer.write_all(body).expect("in memory");
    }
    out
}
