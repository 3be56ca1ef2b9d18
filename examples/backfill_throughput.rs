//! Backfill throughput: the same data change on two copies of a ROWS-row table (default
//! 2,000,000) — once by a hand-written loop of batched UPDATEs over id ranges (10,000 rows each,
//! autocommit), once by `lockgate backfill run` (adaptive keyset batches, journaled cursor,
//! health checks). Prints rows/s for both, the ratio, and lockgate's batch durations (p50,
//! p99) against its 200 ms target.
//!
//!     scripts/bench/backfill
//!     ROWS=500000 scripts/bench/backfill

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

fn seed(db: &mut common::TestDb, rows: i64) {
    db.client
        .batch_execute(&format!(
            "CREATE TABLE items (id bigint PRIMARY KEY, amount int NOT NULL, note text);
             INSERT INTO items SELECT g, g % 1000, NULL FROM generate_series(1, {rows}) g;"
        ))
        .expect("seed");
    db.client.batch_execute("VACUUM ANALYZE items").expect("vacuum");
}

fn main() {
    let rows: i64 = std::env::var("ROWS").ok().and_then(|r| r.parse().ok()).unwrap_or(2_000_000);

    let mut manual = common::database();
    seed(&mut manual, rows);
    let started = Instant::now();
    let mut low = 0;
    while low < rows {
        manual
            .client
            .execute(
                "UPDATE items SET amount = amount + 1, note = 'bumped' WHERE id > $1 AND id <= $1 + 10000",
                &[&low],
            )
            .expect("batch");
        low += 10_000;
    }
    let manual_time = started.elapsed();

    let mut db = common::database();
    seed(&mut db, rows);
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("m")).unwrap();
    std::fs::write(dir.path().join("m/0001_bump.sql"), "UPDATE items SET amount = amount + 1, note = 'bumped';\n")
        .unwrap();
    let plan = dir.path().join("plan.json");
    let events = dir.path().join("events.jsonl");
    let binary = common::lockgate_binary();
    let url = db.url();
    let run = |args: &[&str]| {
        let output = std::process::Command::new(&binary).args(args).output().expect("run lockgate");
        assert!(output.status.success(), "lockgate {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    };
    run(&["plan", "--database-url", &url, "-o", plan.to_str().unwrap(), dir.path().join("m").to_str().unwrap()]);
    let started = Instant::now();
    run(&["backfill", "run", plan.to_str().unwrap(), "--database-url", &url, "--events", events.to_str().unwrap()]);
    let lockgate_time = started.elapsed();

    let mut batches: Vec<f64> = std::fs::read_to_string(&events)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| event["event"] == "batch")
        .filter_map(|event| event["batch_ms"].as_f64())
        .collect();
    batches.sort_by(f64::total_cmp);
    let percentile = |p: usize| batches.get(batches.len().saturating_sub(1) * p / 100).copied().unwrap_or(0.0);
    let rate = |time: Duration| rows as f64 / time.as_secs_f64();
    println!("| {rows} rows | time | rows/s |");
    println!("|---|--:|--:|");
    println!(
        "| hand-written loop (10,000-row id ranges) | {:.1} s | {:.0} |",
        manual_time.as_secs_f64(),
        rate(manual_time)
    );
    println!("| lockgate backfill run | {:.1} s | {:.0} |", lockgate_time.as_secs_f64(), rate(lockgate_time));
    println!(
        "\nlockgate: {:.0}% of the hand-written loop's throughput; {} batches, p50 {:.0} ms, p99 {:.0} ms (target 200 ms)",
        100.0 * rate(lockgate_time) / rate(manual_time),
        batches.len(),
        percentile(50),
        percentile(99)
    );
}
