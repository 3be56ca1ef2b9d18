//! `lockgate calibrate`: two short read-only measurements on the target server — a
//! sequential scan of a real table that reads every column (as SET NOT NULL and VALIDATE do)
//! and an in-memory sort of a million values (as an index build does) — compared with the same
//! measurements on the reference machine the default profile was measured on. Scans and the
//! heap copy of rewrites scale with the first; index builds, joins and per-row work with the
//! second.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Profile;
use crate::live::{LiveError, Server, Session};

/// The scan below on the reference machine, MB/s.
pub const REFERENCE_SCAN_MB_PER_S: f64 = 1940.0;
/// The sort below on the reference machine, ms.
pub const REFERENCE_SORT_MS: f64 = 287.0;

/// Pages read per scan at most (1 GiB at 8 kB pages): a few seconds on slow storage.
const MAX_PAGES: u64 = 131_072;

const SORT: &str =
    "SELECT count(*) FROM (SELECT random() AS r FROM generate_series(1, 1000000) ORDER BY r OFFSET 0) sorted";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Calibration {
    /// `schema.table` that was scanned.
    pub table: String,
    pub bytes_scanned: u64,
    /// Median of five timed scans after a warm-up.
    pub scan_ms: f64,
    pub scan_mb_per_s: f64,
    /// Median of five timed sorts of a million values.
    pub sort_ms: f64,
    /// Against the reference machine: > 1 is faster.
    pub scan_factor: f64,
    pub cpu_factor: f64,
    pub server_version: String,
    pub measured_at: String,
}

/// Measures the server and returns the default profile scaled to it.
pub fn calibrate(session: &Session, table: Option<&str>) -> Result<Profile, LiveError> {
    let server = Server::read(session)?;
    let (schema, name, pages, last_column) = pick_table(session, table)?;
    let pages = pages.min(MAX_PAGES);
    if pages == 0 {
        return Err(LiveError::Runtime(format!(
            "{schema}.{name} is empty (or never analyzed: run ANALYZE); calibrate needs a table with data"
        )));
    }
    session.batch(
        "calibration settings",
        "SET max_parallel_workers_per_gather = 0; SET statement_timeout = '30s'; SET jit = off; SET work_mem = '256MB'",
    )?;
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let relation = format!("{}.{}", quote(&schema), quote(&name));
    // Testing the last column makes every row be read column by column, like a validation.
    // A TID range scan (PostgreSQL 14+) reads exactly the first `pages` pages; before 14 a
    // LIMIT bounds an ordinary sequential scan the same way.
    let filter = format!("{} IS NULL", quote(&last_column));
    let scan = if server.major() >= 14 {
        format!("SELECT count(*) FROM {relation} WHERE ctid < '({pages},0)'::tid AND {filter}")
    } else {
        let rows = rows_in_pages(session, &schema, &name, pages)?;
        format!("SELECT count(*) FROM (SELECT {} FROM {relation} LIMIT {rows}) s WHERE {filter}", quote(&last_column))
    };
    let scan_ms = median_ms(session, &scan)?;
    let sort_ms = median_ms(session, SORT)?;
    let bytes = pages * server.block_size;
    let scan_mb_per_s = bytes as f64 / 1e6 / (scan_ms / 1000.0).max(1e-6);
    let scan_factor = scan_mb_per_s / REFERENCE_SCAN_MB_PER_S;
    let cpu_factor = REFERENCE_SORT_MS / sort_ms.max(1e-3);
    let mut profile = Profile::default().scaled(scan_factor, cpu_factor);
    profile.calibration = Some(Calibration {
        table: format!("{schema}.{name}"),
        bytes_scanned: bytes,
        scan_ms,
        scan_mb_per_s,
        sort_ms,
        scan_factor,
        cpu_factor,
        server_version: server.version,
        measured_at: jiff::Timestamp::now().to_string(),
    });
    Ok(profile)
}

/// One warm-up run, then the median of five.
fn median_ms(session: &Session, sql: &str) -> Result<f64, LiveError> {
    session.query("calibration", sql, &[])?;
    let mut timings: Vec<Duration> = (0..5)
        .map(|_| {
            let start = Instant::now();
            session.query("calibration", sql, &[]).map(|_| start.elapsed())
        })
        .collect::<Result<_, _>>()?;
    timings.sort();
    Ok(timings[2].as_secs_f64() * 1000.0)
}

/// The name of a table's last column.
const LAST_COLUMN: &str = "(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 \
     AND NOT a.attisdropped ORDER BY a.attnum DESC LIMIT 1)";

/// The table to scan (the one named, else the largest user table), its pages and its last
/// column.
fn pick_table(session: &Session, table: Option<&str>) -> Result<(String, String, u64, String), LiveError> {
    let rows = match table {
        Some(table) => {
            let (schema, name) = table.split_once('.').unwrap_or(("public", table));
            session.query(
                "calibration table",
                &format!(
                    "SELECT n.nspname::text, c.relname::text, c.relpages::int8, {LAST_COLUMN} FROM pg_class c \
                     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'r'"
                ),
                &[&schema, &name],
            )?
        }
        None => session.query(
            "calibration table",
            &format!(
                "SELECT n.nspname::text, c.relname::text, c.relpages::int8, {LAST_COLUMN} FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
                   AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY c.relpages DESC LIMIT 1"
            ),
            &[],
        )?,
    };
    let row = rows.first().ok_or_else(|| {
        LiveError::Runtime(match table {
            Some(t) => format!("no table `{t}` to calibrate on"),
            None => "the database has no tables to calibrate on; pass --table".into(),
        })
    })?;
    Ok((row.get(0), row.get(1), row.get::<_, i64>(2).max(0) as u64, row.get(3)))
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
