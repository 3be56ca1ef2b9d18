//! The gate is light: `lockgate check` on a database with TABLES tables (default 1,000; each
//! with a primary key, a secondary index, a foreign key and 10,000 rows in every tenth) and a
//! handful of pending migrations. Prints the median wall time of five checks and whether any
//! user table was scanned (`pg_stat_user_tables` before and after).
//!
//!     scripts/bench/check-scale
//!     TABLES=5000 scripts/bench/check-scale

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

fn main() {
    let tables: usize = std::env::var("TABLES").ok().and_then(|t| t.parse().ok()).unwrap_or(1000);
    let mut db = common::database();
    let mut setup = String::new();
    for i in 0..tables {
        let parent = if i == 0 { String::new() } else { format!(", parent_id bigint REFERENCES t{} (id)", i - 1) };
        setup.push_str(&format!(
            "CREATE TABLE t{i} (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(12, 2), created_at timestamptz DEFAULT now(){parent});
             CREATE INDEX t{i}_created ON t{i} (created_at);\n"
        ));
        if i % 10 == 0 {
            setup.push_str(&format!(
                "INSERT INTO t{i} (id, name) SELECT g, 'n' || g FROM generate_series(1, 10000) g;\n"
            ));
        }
    }
    db.client.batch_execute(&setup).expect("create tables");
    db.client.batch_execute("VACUUM ANALYZE").expect("analyze");

    let dir = tempfile::tempdir().expect("temp dir");
    let migrations = [
        "ALTER TABLE t10 ADD COLUMN note text;",
        "CREATE INDEX CONCURRENTLY t20_name ON t20 (name);",
        "ALTER TABLE t30 ADD CONSTRAINT t30_amount CHECK (amount >= 0) NOT VALID;",
        "ALTER TABLE t30 VALIDATE CONSTRAINT t30_amount;",
        "ALTER TABLE t40 ALTER COLUMN amount TYPE numeric(14, 2);",
    ];
    for (i, sql) in migrations.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{:04}_m.sql", i + 1)), format!("SET lock_timeout = '2s';\n{sql}\n"))
            .unwrap();
    }
    let binary = common::lockgate_binary();
    let scans = |db: &mut common::TestDb| -> i64 {
        std::thread::sleep(Duration::from_millis(1200));
        db.client.batch_execute("SELECT pg_stat_clear_snapshot()").unwrap();
        db.client
            .query_one("SELECT sum(COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0))::int8 FROM pg_stat_user_tables", &[])
            .unwrap()
            .get(0)
    };
    let before = scans(&mut db);
    let url = db.url();
    let mut times = vec![];
    for _ in 0..5 {
        let started = Instant::now();
        let output = std::process::Command::new(&binary)
            .args(["check", "--format", "json", "--database-url", &url])
            .arg(dir.path())
            .output()
            .expect("run lockgate");
        times.push(started.elapsed());
        assert!(matches!(output.status.code(), Some(0..=5)), "{}", String::from_utf8_lossy(&output.stderr));
    }
    let after = scans(&mut db);
    times.sort();
    println!(
        "{tables} tables, {} pending migrations: median {:.0} ms (min {:.0}, max {:.0}) over 5 checks; user-table scans during the checks: {}",
        migrations.len(),
        times[2].as_secs_f64() * 1000.0,
        times[0].as_secs_f64() * 1000.0,
        times[4].as_secs_f64() * 1000.0,
        after - before
    );
}
