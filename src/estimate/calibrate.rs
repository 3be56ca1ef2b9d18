//! `lockgate calibrate`: three short read-only measurements on the target server — a
//! sequential scan of a real table that reads every column (as SET NOT NULL and VALIDATE do),
//! an in-memory sort of a million rows by an integer key (as an index build does), and a hash
//! anti-join of a million values against a hash of a hundred thousand (as a foreign-key
//! validation does) — compared with the same measurements on the reference machine the default
//! profile was measured on. Scans, the heap reads of validations and builds, and the heap copy
//! of rewrites scale with the first; index builds and per-row work with the second;
//! foreign-key probes and hash inserts with the third.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Profile, Speed};
use crate::ir::{quote_identifier, quote_relation, QualifiedName};
use crate::live::{LiveError, Server, Session};

// The three measurements below on the reference machine, taken beside the statements they
// stand for (SET NOT NULL, CREATE INDEX, VALIDATE of a foreign key on a million rows) on
// PostgreSQL 11, 15 and 18, and scaled to the default profile. The servers differ by up to
// 1.3× in how a statement compares with its sort and join (PostgreSQL 11 joins slower for the
// same statement speed, 15 sorts slower): those figures are the middle of the three.
/// The scan below as a TID range scan (PostgreSQL 14+), MB/s.
pub const REFERENCE_SCAN_MB_PER_S: f64 = 2000.0;
/// The scan below bounded by a LIMIT (before 14), MB/s: the subquery costs per row, so the
/// same heap reads slower this way (scripts/bench/estimate: a calibration on PostgreSQL 18 with
/// one reference for both forms estimated every scan and rewrite ~1.5× too fast, on 11 not).
pub const REFERENCE_LIMITED_SCAN_MB_PER_S: f64 = 1400.0;
/// The sort below, ms.
pub const REFERENCE_SORT_MS: f64 = 470.0;
/// The join below, ms.
pub const REFERENCE_JOIN_MS: f64 = 290.0;

/// Pages read per scan at most (1 GiB at 8 kB pages): a few seconds on slow storage.
const MAX_PAGES: u64 = 131_072;

/// Rows sorted by an integer key, with a second column so that the server sorts whole tuples
/// as an index build does (a one-column sort takes a faster path from PostgreSQL 15 that no
/// index build takes).
const SORT: &str = "SELECT count(*) FROM (SELECT (random() * 1e9)::int8 AS k, g FROM generate_series(1, 1000000) g \
     ORDER BY k OFFSET 0) sorted";

/// The shape of `RI_Initial_Check`'s query: every row of the larger side probes a hash of the
/// smaller side's keys (work_mem is raised below, as the server raises it to
/// maintenance_work_mem for the check, so the hash fits in memory).
const JOIN: &str = "SELECT count(*) FROM generate_series(1, 1000000) c(a) \
     WHERE NOT EXISTS (SELECT FROM generate_series(1, 100000) p(id) WHERE p.id = c.a % 100000 + 1)";

/// Why the server could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum CalibrateError {
    #[error(transparent)]
    Live(#[from] LiveError),
    #[error("no table `{0}` to calibrate on")]
    NoSuchTable(String),
    #[error("the database has no tables to calibrate on; pass --table")]
    NoTables,
    /// The table has no pages as far as the statistics know.
    #[error("{0} is empty (or never analyzed: run ANALYZE); calibrate needs a table with data")]
    EmptyTable(String),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Calibration {
    /// `schema.table` that was scanned.
    pub table: String,
    pub bytes_scanned: u64,
    /// Median of five timed scans after a warm-up.
    pub scan_ms: f64,
    pub scan_mb_per_s: f64,
    /// Median of five timed sorts of a million rows.
    pub sort_ms: f64,
    /// Median of five timed hash anti-joins (a million probes, a hundred thousand inserts).
    #[serde(default)]
    pub join_ms: f64,
    /// Against the reference machine: > 1 is faster.
    pub scan_factor: f64,
    pub cpu_factor: f64,
    #[serde(default = "one")]
    pub join_factor: f64,
    pub server_version: String,
    pub measured_at: String,
}

/// Measures the server and returns the default profile scaled to it.
pub fn calibrate(session: &Session, table: Option<&str>) -> Result<Profile, CalibrateError> {
    let server = Server::read(session)?;
    let (schema, name, pages, last_column) = pick_table(session, table)?;
    let pages = pages.min(MAX_PAGES);
    if pages == 0 {
        return Err(CalibrateError::EmptyTable(format!("{schema}.{name}")));
    }
    session.batch(
        "calibration settings",
        "SET max_parallel_workers_per_gather = 0; SET statement_timeout = '30s'; SET jit = off; SET work_mem = '256MB'",
    )?;
    let relation = quote_relation(&QualifiedName::new(Some(schema.clone()), name.clone()));
    // Testing the last column makes every row be read column by column, like a validation.
    // A TID range scan (PostgreSQL 14+) reads exactly the first `pages` pages; before 14 a
    // LIMIT bounds an ordinary sequential scan the same way.
    let filter = format!("{} IS NULL", quote_identifier(&last_column));
    let scan = if server.major() >= 14 {
        format!("SELECT count(*) FROM {relation} WHERE ctid < '({pages},0)'::tid AND {filter}")
    } else {
        let rows = rows_in_pages(session, &schema, &name, pages)?;
        format!(
            "SELECT count(*) FROM (SELECT {} FROM {relation} LIMIT {rows}) s WHERE {filter}",
            quote_identifier(&last_column)
        )
    };
    let scan_ms = median_ms(session, &scan)?;
    let sort_ms = median_ms(session, SORT)?;
    let join_ms = median_ms(session, JOIN)?;
    let bytes = pages * server.block_size;
    let scan_mb_per_s = bytes as f64 / 1e6 / (scan_ms / 1000.0).max(1e-6);
    let reference_scan = if server.major() >= 14 { REFERENCE_SCAN_MB_PER_S } else { REFERENCE_LIMITED_SCAN_MB_PER_S };
    let scan_factor = scan_mb_per_s / reference_scan;
    let cpu_factor = REFERENCE_SORT_MS / sort_ms.max(1e-3);
    let join_factor = REFERENCE_JOIN_MS / join_ms.max(1e-3);
    let speed = Speed { scan: scan_factor, sort: cpu_factor, join: join_factor };
    let mut profile = Profile::default().scaled(speed);
    profile.calibration = Some(Calibration {
        table: format!("{schema}.{name}"),
        bytes_scanned: bytes,
        scan_ms,
        scan_mb_per_s,
        sort_ms,
        join_ms,
        scan_factor,
        cpu_factor,
        join_factor,
        server_version: server.version,
        measured_at: jiff::Timestamp::now().to_string(),
    });
    Ok(profile)
}

/// A profile written before the join was measured: its foreign-key terms are unscaled.
fn one() -> f64 {
    1.0
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
fn pick_table(session: &Session, table: Option<&str>) -> Result<(String, String, u64, String), CalibrateError> {
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
    let row = rows.first().ok_or_else(|| match table {
        Some(t) => CalibrateError::NoSuchTable(t.to_string()),
        None => CalibrateError::NoTables,
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
