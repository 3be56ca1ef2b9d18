//! Zero downtime, measured: an application workload (reads, inserts and updates with prepared
//! statements on four connections) runs while each unsafe statement is applied on a table of
//! ROWS rows (default 1,000,000), once as written and once through `lockgate plan` +
//! `lockgate apply`. Prints each query's worst wait and the failures for both.
//!
//!     scripts/bench/apply-workload            (builds the release binary, then runs this)
//!     ROWS=200000 scripts/bench/apply-workload

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::workload::{Report, Workload};

const CASES: &[(&str, &str)] = &[
    ("CREATE INDEX", "CREATE INDEX orders_amount_idx ON orders (amount);"),
    ("ADD FOREIGN KEY", "ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users (id);"),
    ("ADD CHECK", "ALTER TABLE orders ADD CONSTRAINT orders_amount_positive CHECK (amount > 0);"),
    ("SET NOT NULL", "ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;"),
    (
        "ADD COLUMN … DEFAULT gen_random_uuid()",
        "ALTER TABLE orders ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();",
    ),
    ("ADD UNIQUE", "ALTER TABLE orders ADD CONSTRAINT orders_id_amount_key UNIQUE (id, amount);"),
    ("ALTER COLUMN … TYPE bigint", "ALTER TABLE orders ALTER COLUMN amount TYPE bigint;"),
];

/// Runs `apply` while the workload runs; returns the workload's report and the wall time.
fn measured(db: &common::TestDb, apply: impl FnOnce()) -> (Report, Duration) {
    let workload = Workload::start(|| db.connect(), 4, 10_000_000, 2000);
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    apply();
    let elapsed = started.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    (workload.stop(), elapsed)
}

fn lockgate(args: &[&str]) {
    let output = std::process::Command::new(common::lockgate_binary()).args(args).output().expect("run lockgate");
    assert!(output.status.success(), "lockgate {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

fn main() {
    let rows: i64 = std::env::var("ROWS").ok().and_then(|r| r.parse().ok()).unwrap_or(1_000_000);
    println!("| statement ({rows} rows) | as written: time | worst query wait | failed | lockgate: time | worst query wait | failed |");
    println!("|---|--:|--:|--:|--:|--:|--:|");
    let mut failures: Vec<String> = vec![];
    for (name, sql) in CASES {
        let mut naive = common::database();
        common::workload::seed(&mut naive.client, rows);
        let (naive_report, naive_time) =
            measured(&naive, || naive.connect().batch_execute(sql).expect("naive statement"));
        drop(naive);

        let mut db = common::database();
        common::workload::seed(&mut db.client, rows);
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("m")).unwrap();
        std::fs::write(dir.path().join("m/0001_case.sql"), sql).unwrap();
        let plan = dir.path().join("plan.json").display().to_string();
        let folder = dir.path().join("m").display().to_string();
        let url = db.url();
        lockgate(&["plan", "--database-url", &url, "-o", &plan, &folder]);
        let (report, time) = measured(&db, || {
            for phase in ["expand", "backfill", "contract"] {
                lockgate(&["apply", &plan, "--phase", phase, "--database-url", &url, "--snapshot", "none"]);
            }
        });
        println!(
            "| {name} | {:.2} s | {:.0} ms | {} of {} | {:.2} s | {:.0} ms | {} of {} |",
            naive_time.as_secs_f64(),
            naive_report.max_latency.as_secs_f64() * 1000.0,
            naive_report.failures.len(),
            naive_report.queries,
            time.as_secs_f64(),
            report.max_latency.as_secs_f64() * 1000.0,
            report.failures.len(),
            report.queries
        );
        for failure in naive_report.failures.iter().chain(&report.failures) {
            let line = format!("{name}: {failure}");
            if !failures.contains(&line) {
                failures.push(line);
            }
        }
    }
    for failure in failures {
        println!("\nfailed: {failure}");
    }
}
