//! How long a statement runs, and so how long it holds its locks, from the lock model's work
//! class and the live size of the table.
//!
//! The model: `t ≈ catalog + Σ bytes / throughput + Σ index builds (c · n · log2 n)`. Scans and
//! the heap copy of a rewrite are linear in bytes; foreign-key validation is linear in rows;
//! index builds are n·log n in rows, four times slower for text keys than for integer keys,
//! and faster with parallel maintenance workers; a rewrite also rebuilds every index; a
//! concurrent build is a plain build × 1.3 plus the fixed cost of its extra transactions (its
//! waits for old snapshots are reported as blockers, not estimated). The default profile was
//! measured on PostgreSQL 15 (2 vCPU, warm cache, 1M-row table); `lockgate calibrate` measures
//! the target's scan and sort speed and scales the memory-bound and CPU-bound classes by them.

pub mod calibrate;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::ir::{ConstraintKind, DataChangeKind, DefaultExpr, OpKind, QualifiedName};
use crate::live::schema::TableStats;
use crate::locks::{LockEffect, Work};

/// Throughputs per work class.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Profile {
    /// Catalog-only work per statement.
    pub catalog_ms: f64,
    /// A scan that checks every row (SET NOT NULL, VALIDATE CHECK), heap MB/s.
    pub scan_mb_per_s: f64,
    /// Foreign-key validation, per row of the referencing table.
    pub fk_validate_ns_per_row: f64,
    /// Foreign-key validation, per row of the referenced table (its hash is built once).
    pub fk_parent_ns_per_row: f64,
    /// Index build with an integer key, one process: c in c · n · log2 n.
    pub index_build_ns_per_nlogn: f64,
    /// Speed-up of an index build with parallel maintenance workers.
    pub parallel_build_speedup: f64,
    /// Text keys (collation comparisons) and expressions build this much slower.
    pub text_key_factor: f64,
    /// CREATE INDEX CONCURRENTLY / REINDEX CONCURRENTLY against a plain build.
    pub concurrent_factor: f64,
    /// The fixed cost of a concurrent build's extra transactions and catalog waits.
    pub concurrent_fixed_ms: f64,
    /// The heap copy of a table rewrite, MB/s of table bytes.
    pub rewrite_mb_per_s: f64,
    /// A per-row UUID function in a rewrite (a default of gen_random_uuid()); cheaper
    /// functions such as random() cost next to nothing.
    pub per_row_function_ns: f64,
    /// UPDATE/DELETE, per row.
    pub row_change_ns_per_row: f64,
    /// SET TABLESPACE, MB/s.
    pub file_copy_mb_per_s: f64,
    /// Set when `lockgate calibrate` measured the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<calibrate::Calibration>,
}

impl Default for Profile {
    /// Measured on PostgreSQL 15 (2 vCPU, warm cache): see the module documentation.
    fn default() -> Self {
        Profile {
            catalog_ms: 3.0,
            scan_mb_per_s: 2000.0,
            fk_validate_ns_per_row: 360.0,
            fk_parent_ns_per_row: 150.0,
            index_build_ns_per_nlogn: 28.5,
            parallel_build_speedup: 1.45,
            text_key_factor: 4.0,
            concurrent_factor: 1.3,
            concurrent_fixed_ms: 20.0,
            rewrite_mb_per_s: 190.0,
            per_row_function_ns: 1500.0,
            row_change_ns_per_row: 4500.0,
            file_copy_mb_per_s: 300.0,
            calibration: None,
        }
    }
}

impl Profile {
    /// The profile of a server whose scans run `scan` times and whose sorts and joins run
    /// `cpu` times as fast as the reference machine's.
    pub fn scaled(&self, scan: f64, cpu: f64) -> Profile {
        Profile {
            catalog_ms: self.catalog_ms,
            scan_mb_per_s: self.scan_mb_per_s * scan,
            fk_validate_ns_per_row: self.fk_validate_ns_per_row / cpu,
            fk_parent_ns_per_row: self.fk_parent_ns_per_row / cpu,
            index_build_ns_per_nlogn: self.index_build_ns_per_nlogn / cpu,
            parallel_build_speedup: self.parallel_build_speedup,
            text_key_factor: self.text_key_factor,
            concurrent_factor: self.concurrent_factor,
            concurrent_fixed_ms: self.concurrent_fixed_ms,
            rewrite_mb_per_s: self.rewrite_mb_per_s * scan,
            per_row_function_ns: self.per_row_function_ns / cpu,
            row_change_ns_per_row: self.row_change_ns_per_row / cpu,
            file_copy_mb_per_s: self.file_copy_mb_per_s * scan,
            calibration: self.calibration.clone(),
        }
    }

    pub fn load(path: &std::path::Path) -> Result<Profile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: not a lockgate profile: {e}", path.display()))
    }
}

/// An expected duration with the range it will most likely fall in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Duration {
    pub low_ms: f64,
    pub expected_ms: f64,
    pub high_ms: f64,
}

impl Duration {
    /// Run-to-run spread measured on a busy host: p90 ≈ 1.5 × median, best ≈ 0.7 ×.
    pub fn around(expected_ms: f64) -> Duration {
        Duration { low_ms: expected_ms * 0.7, expected_ms, high_ms: expected_ms * 1.5 }
    }

    pub fn plus(self, other: Duration) -> Duration {
        Duration {
            low_ms: self.low_ms + other.low_ms,
            expected_ms: self.expected_ms + other.expected_ms,
            high_ms: self.high_ms + other.high_ms,
        }
    }
}

/// What the estimator needs to know about the server and the tables.
pub struct Inputs<'a> {
    pub profile: &'a Profile,
    pub catalog: &'a Catalog,
    /// Live sizes of a table; `None` for a table that does not exist yet (created by a
    /// pending migration: empty).
    pub stats: &'a dyn Fn(&QualifiedName) -> Option<TableStats>,
    pub parallel_maintenance: bool,
}

impl Inputs<'_> {
    fn sizes(&self, table: &QualifiedName) -> TableStats {
        let created_by_pending = self.catalog.table(table).is_some_and(|t| t.origin.is_some());
        if created_by_pending {
            return TableStats::default();
        }
        (self.stats)(table).unwrap_or_default()
    }

    /// Rows the work reads or changes, for the tiers: 0 for catalog-only work.
    pub fn rows_touched(&self, op: &OpKind, effect: &LockEffect) -> u64 {
        match (effect.work, op) {
            (work, _) if !work.scales_with_table() => 0,
            (Work::RowChanges, OpKind::DataChange { kind: DataChangeKind::Insert, .. }) => 0,
            _ => self.sizes(&effect.relation).rows(),
        }
    }

    /// The statement's own running time for one effect's work.
    pub fn work_ms(&self, op: &OpKind, effect: &LockEffect) -> f64 {
        let profile = self.profile;
        let sizes = self.sizes(&effect.relation);
        let rows = sizes.rows() as f64;
        let mb = |bytes: u64| bytes as f64 / 1_000_000.0;
        match effect.work {
            Work::Catalog | Work::WaitForTransactions => 0.0,
            Work::Scan => mb(sizes.heap_bytes) / profile.scan_mb_per_s * 1000.0,
            Work::ValidateForeignKey => {
                // An empty referencing table is checked without reading the referenced one.
                let parent = fk_parent(op, self.catalog).filter(|_| rows > 0.0);
                let parent_rows = parent.map_or(0, |p| self.sizes(&p).rows()) as f64;
                (rows * profile.fk_validate_ns_per_row + parent_rows * profile.fk_parent_ns_per_row) / 1e6
            }
            Work::IndexBuild => self.builds_ms(op, &effect.relation, rows),
            Work::ConcurrentIndexBuild => {
                self.builds_ms(op, &effect.relation, rows) * profile.concurrent_factor + profile.concurrent_fixed_ms
            }
            Work::Rewrite => {
                let heap = mb(sizes.table_bytes.max(sizes.heap_bytes)) / profile.rewrite_mb_per_s * 1000.0;
                let indexes: f64 = self
                    .catalog
                    .indexes_on(&effect.relation)
                    .map(|index| self.build_ms(rows, self.text_key(&effect.relation, &index.columns)))
                    .sum();
                heap + indexes + rows * self.per_row_function_ns(op) / 1e6
            }
            Work::FileCopy => mb(sizes.table_bytes + sizes.index_bytes) / profile.file_copy_mb_per_s * 1000.0,
            Work::RowChanges => match op {
                OpKind::DataChange { kind: DataChangeKind::Insert, .. } => 0.0,
                _ => rows * profile.row_change_ns_per_row / 1e6,
            },
        }
    }

    /// One build for CREATE INDEX and key constraints; every index of the table for REINDEX.
    fn builds_ms(&self, op: &OpKind, table: &QualifiedName, rows: f64) -> f64 {
        match op {
            OpKind::CreateIndex { columns, .. } => self.build_ms(rows, self.text_key(table, columns)),
            OpKind::AddConstraint { constraint, .. } => {
                let columns: Vec<Option<String>> = constraint.columns().into_iter().map(Some).collect();
                self.build_ms(rows, self.text_key(table, &columns))
            }
            _ => self.catalog.indexes_on(table).map(|i| self.build_ms(rows, self.text_key(table, &i.columns))).sum(),
        }
    }

    fn build_ms(&self, rows: f64, text_key: bool) -> f64 {
        if rows < 2.0 {
            return 0.0;
        }
        let profile = self.profile;
        let mut ns = profile.index_build_ns_per_nlogn * rows * rows.log2();
        if text_key {
            ns *= profile.text_key_factor;
        }
        if self.parallel_maintenance {
            ns /= profile.parallel_build_speedup;
        }
        ns / 1e6
    }

    /// Does the key compare text (collation) or an expression rather than fixed-width values?
    fn text_key(&self, table: &QualifiedName, columns: &[Option<String>]) -> bool {
        let table = self.catalog.table(table);
        columns.iter().any(|column| match column {
            None => true,
            Some(name) => table.and_then(|t| t.column(name)).is_some_and(|c| {
                matches!(c.ty.name.as_str(), "text" | "varchar" | "char" | "citext" | "name") || c.ty.array
            }),
        })
    }

    fn per_row_function_ns(&self, op: &OpKind) -> f64 {
        match op {
            OpKind::AddColumn { column, .. } => match &column.default {
                // Only a per-row default is costed per row; the op's lock effect says whether it is.
                Some(default) if !matches!(default, DefaultExpr::Stable(_)) && default.text().contains("uuid") => {
                    self.profile.per_row_function_ns
                }
                _ => 0.0,
            },
            _ => 0.0,
        }
    }
}

/// The table a foreign key being added or validated points at.
fn fk_parent(op: &OpKind, catalog: &Catalog) -> Option<QualifiedName> {
    let kind = match op {
        OpKind::AddConstraint { constraint, .. } => constraint.kind.clone(),
        OpKind::ValidateConstraint { table, name } => catalog.table(table)?.constraint(name)?.kind.clone(),
        _ => return None,
    };
    match kind {
        ConstraintKind::ForeignKey { references, .. } => Some(references),
        _ => None,
    }
}
