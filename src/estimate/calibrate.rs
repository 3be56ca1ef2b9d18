//! `lockgate calibrate`: one bounded, read-only sequential scan of a real table on the target
//! server gives the factor by which it is faster or slower than the reference machine the
//! default profile was measured on; every throughput is scaled by it.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Profile;
use crate::live::{LiveError, Server, Session};

/// Single-process `count(*)` over a warm heap on the reference machine, MB/s.
pub const REFERENCE_SCAN_MB_PER_S: f64 = 1314.0;

/// Pages read per measurement at most (1 GiB at 8 kB pages): a few seconds on slow storage.
const MAX_PAGES: u64 = 131_072;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Calibration {
    /// `schema.table` that was scanned.
    pub table: String,
    pub bytes_scanned: u64,
    /// Median of three timed scans after a warm-up.
    pub elapsed_ms: f64,
    pub scan_mb_per_s: f64,
    /// `scan_mb_per_s` ÷ the reference machine's.
    pub factor: f64,
    pub server_version: String,
    pub measured_at: String,
}

/// Measures the server and returns the default profile scaled to it.
pub fn calibrate(session: &Session, table: Option<&str>) -> Result<Profile, LiveError> {
    let server = Server::read(session)?;
    let (schema, name, pages) = pick_table(session, table)?;
    let pages = pages.min(MAX_PAGES);
    if pages == 0 {
        return Err(LiveError::Runtime(format!(
            "{schema}.{name} is empty (or never analyzed: run ANALYZE); calibrate needs a table with data"
        )));
    }
    session.batch(
        "calibration settings",
        "SET max_parallel_workers_per_gather = 0; SET statement_timeout = '30s'; SET jit = off",
    )?;
    let relation = format!("\"{}\".\"{}\"", schema.replace('"', "\"\""), name.replace('"', "\"\""));
    // A TID range scan (PostgreSQL 14+) reads exactly the first `pages` pages; before 14 a
    // LIMIT bounds an ordinary sequential scan the same way.
    let sql = if server.major() >= 14 {
        format!("SELECT count(*) FROM {relation} WHERE ctid < '({pages},0)'::tid")
    } else {
        let rows = rows_in_pages(session, &schema, &name, pages)?;
        format!("SELECT count(*) FROM (SELECT 1 FROM {relation} LIMIT {rows}) s")
    };
    session.query("calibration scan", &sql, &[])?;
    let mut timings: Vec<Duration> = (0..3)
        .map(|_| {
            let start = Instant::now();
            session.query("calibration scan", &sql, &[]).map(|_| start.elapsed())
        })
        .collect::<Result<_, _>>()?;
    timings.sort();
    let elapsed_ms = timings[1].as_secs_f64() * 1000.0;
    let bytes = pages * server.block_size;
    let scan_mb_per_s = bytes as f64 / 1e6 / (elapsed_ms / 1000.0).max(1e-6);
    let factor = scan_mb_per_s / REFERENCE_SCAN_MB_PER_S;
    let mut profile = Profile::default().scaled(factor);
    profile.calibration = Some(Calibration {
        table: format!("{schema}.{name}"),
        bytes_scanned: bytes,
        elapsed_ms,
        scan_mb_per_s,
        factor,
        server_version: server.version,
        measured_at: jiff::Timestamp::now().to_string(),
    });
    Ok(profile)
}

/// The table to scan: the one named, else the largest user table.
fn pick_table(session: &Session, table: Option<&str>) -> Result<(String, String, u64), LiveError> {
    let rows = match table {
        Some(table) => {
            let (schema, name) = table.split_once('.').unwrap_or(("public", table));
            session.query(
                "calibration table",
                "SELECT n.nspname::text, c.relname::text, c.relpages::int8 FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'r'",
                &[&schema, &name],
            )?
        }
        None => session.query(
            "calibration table",
            "SELECT n.nspname::text, c.relname::text, c.relpages::int8 FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY c.relpages DESC LIMIT 1",
            &[],
        )?,
    };
    let row = rows.first().ok_or_else(|| {
        LiveError::Runtime(match table {
            Some(t) => format!("no table `{t}` to calibrate on"),
            None => "the database has no tables to calibrate on; pass --table".into(),
        })
    })?;
    Ok((row.get(0), row.get(1), row.get::<_, i64>(2).max(0) as u64))
}

fn rows_in_pages(session: &Session, schema: &str, name: &str, pages: u64) -> Result<i64, LiveError> {
    let rows = session.query(
        "calibration rows",
        "SELECT (c.reltuples / greatest(c.relpages, 1) * $3::float8)::int8 FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
        &[&schema, &name, &(pages as f64)],
    )?;
    Ok(rows.first().map(|r| r.get::<_, i64>(0)).unwrap_or(0).max(1))
}
