//! How long a statement runs, and so how long it holds its locks, from the lock model's work
//! class and the live size of the table.
//!
//! The model, one term per thing the server does:
//!
//! - **Scans** (SET NOT NULL, VALIDATE CHECK): every heap page is read and every row tested,
//!   so the time is the heap's bytes over the scan speed.
//! - **Foreign-key validation** is one anti-join (`RI_Initial_Check`): the referencing table is
//!   scanned and each of its rows probes a hash of the referenced keys, which is built once from
//!   a scan of the referenced table. Both tables count, each by its bytes (the scan) and its rows
//!   (the probe, the hash insert) — not a rewrite: nothing is written.
//! - **Index builds** read the heap once, sort the keys (`c · n · log2 n` comparisons) and form,
//!   copy and write one index tuple per row, which costs per byte of key: the key's width is
//!   the columns' `pg_stats.avg_width`, else the type's width. Parallel maintenance workers
//!   share the sort and the tuples. A concurrent build is a plain build × 1.5 (it reads the
//!   heap a second time, and scans and sorts the new index to validate it: measured 1.44× a
//!   plain build on PostgreSQL 18 and 1.56× on 11) plus the fixed cost of its extra
//!   transactions (its waits for old snapshots are reported as blockers, not estimated).
//! - **Rewrites** copy the table's bytes (heap and TOAST, so a wide row costs by its width) at
//!   the rate `scripts/bench/estimate` measured on PostgreSQL 11 and 18 alike (≈ 140 MB/s: the
//!   copy writes every page and its WAL), then rebuild every index of the table as above.
//!
//! The default profile was measured on PostgreSQL 15 (2 vCPU, warm cache, C collation);
//! `lockgate calibrate` measures the target's scan, sort and hash-join speed and scales the
//! classes that depend on each.

pub mod calibrate;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::ir::{ConstraintKind, DataChangeKind, DefaultExpr, OpKind, QualifiedName, SqlType};
use crate::live::schema::TableStats;
use crate::locks::{LockEffect, Work};

/// Throughputs per work class.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Profile {
    /// Catalog-only work per statement.
    pub catalog_ms: f64,
    /// A scan that reads every page and tests every row: the scan classes, and the heap read
    /// of a foreign-key validation and of an index build. Heap MB/s.
    pub scan_mb_per_s: f64,
    /// Foreign-key validation, per row of the referencing table: its probe into the hash of
    /// the referenced keys.
    pub fk_probe_ns_per_row: f64,
    /// Foreign-key validation, per row of the referenced table: its insert into that hash.
    pub fk_parent_ns_per_row: f64,
    /// Index build, one process: c in c · n · log2 n, the comparisons of the sort.
    pub index_sort_ns_per_nlogn: f64,
    /// Index build, one process: per row and byte of key, forming, copying and writing the
    /// index tuple.
    pub index_key_ns_per_byte: f64,
    /// Speed-up of an index build with parallel maintenance workers.
    pub parallel_build_speedup: f64,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibration: Option<calibrate::Calibration>,
}

impl Default for Profile {
    /// Measured on PostgreSQL 15 (2 vCPU, warm cache): see the module documentation.
    fn default() -> Self {
        Profile {
            catalog_ms: 3.0,
            scan_mb_per_s: 2000.0,
            fk_probe_ns_per_row: 280.0,
            fk_parent_ns_per_row: 300.0,
            index_sort_ns_per_nlogn: 23.0,
            index_key_ns_per_byte: 10.0,
            parallel_build_speedup: 1.45,
            concurrent_factor: 1.5,
            concurrent_fixed_ms: 20.0,
            rewrite_mb_per_s: 140.0,
            per_row_function_ns: 1500.0,
            row_change_ns_per_row: 4500.0,
            file_copy_mb_per_s: 300.0,
            calibration: None,
        }
    }
}

impl Profile {
    /// The profile of a server whose scans run `speed.scan` times, whose sorts run `speed.sort`
    /// times and whose hash joins run `speed.join` times as fast as the reference machine's.
    pub fn scaled(&self, speed: Speed) -> Profile {
        // Only the speeds scale; counts and factors stay as they are.
        Profile {
            scan_mb_per_s: self.scan_mb_per_s * speed.scan,
            fk_probe_ns_per_row: self.fk_probe_ns_per_row / speed.join,
            fk_parent_ns_per_row: self.fk_parent_ns_per_row / speed.join,
            index_sort_ns_per_nlogn: self.index_sort_ns_per_nlogn / speed.sort,
            index_key_ns_per_byte: self.index_key_ns_per_byte / speed.sort,
            rewrite_mb_per_s: self.rewrite_mb_per_s * speed.scan,
            per_row_function_ns: self.per_row_function_ns / speed.sort,
            row_change_ns_per_row: self.row_change_ns_per_row / speed.sort,
            file_copy_mb_per_s: self.file_copy_mb_per_s * speed.scan,
            ..self.clone()
        }
    }

    pub fn load(path: &std::path::Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read { path: path.into(), source })?;
        serde_json::from_str(&text).map_err(|source| ProfileError::Invalid { path: path.into(), source })
    }
}

/// Why a throughput profile (`lockgate calibrate`'s output) could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{}: {source}", path.display())]
    Read { path: std::path::PathBuf, source: std::io::Error },
    #[error("{}: not a lockgate profile: {source}", path.display())]
    Invalid { path: std::path::PathBuf, source: serde_json::Error },
}

/// A server's speed against the reference machine's, per resource: > 1 is faster.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Speed {
    pub scan: f64,
    pub sort: f64,
    pub join: f64,
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
pub struct EstimateInputs<'a> {
    pub profile: &'a Profile,
    pub catalog: &'a Catalog,
    /// Live sizes of a table; `None` for a table that does not exist yet (created by a
    /// pending migration: empty).
    pub stats: &'a dyn Fn(&QualifiedName) -> Option<TableStats>,
    pub parallel_maintenance: bool,
}

impl EstimateInputs<'_> {
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
        match effect.work {
            Work::Catalog | Work::WaitForTransactions => 0.0,
            Work::Scan => self.scan_ms(&sizes),
            Work::ValidateForeignKey => {
                // An empty referencing table is checked without reading the referenced one.
                let parent = fk_parent(op, self.catalog).filter(|_| rows > 0.0).map(|p| self.sizes(&p));
                let referencing = self.scan_ms(&sizes) + rows * profile.fk_probe_ns_per_row / 1e6;
                let referenced = parent.map_or(0.0, |parent| {
                    self.scan_ms(&parent) + parent.rows() as f64 * profile.fk_parent_ns_per_row / 1e6
                });
                referencing + referenced
            }
            Work::IndexBuild => self.builds_ms(op, &effect.relation, &sizes),
            Work::ConcurrentIndexBuild => {
                self.builds_ms(op, &effect.relation, &sizes) * profile.concurrent_factor + profile.concurrent_fixed_ms
            }
            Work::Rewrite => {
                // The copy is of every byte of the table (TOAST included: a wide row costs by its
                // width), then every index is built again from the new heap.
                let heap = mb(sizes.table_bytes.max(sizes.heap_bytes)) / profile.rewrite_mb_per_s * 1000.0;
                heap + self.every_index_ms(&effect.relation, &sizes) + rows * self.per_row_function_ns(op) / 1e6
            }
            Work::FileCopy => mb(sizes.table_bytes + sizes.index_bytes) / profile.file_copy_mb_per_s * 1000.0,
            Work::RowChanges => match op {
                OpKind::DataChange { kind: DataChangeKind::Insert, .. } => 0.0,
                _ => rows * profile.row_change_ns_per_row / 1e6,
            },
        }
    }

    /// Reading every heap page of a table.
    fn scan_ms(&self, sizes: &TableStats) -> f64 {
        mb(sizes.heap_bytes) / self.profile.scan_mb_per_s * 1000.0
    }

    /// One build for CREATE INDEX and key constraints; every index of the table for REINDEX.
    fn builds_ms(&self, op: &OpKind, table: &QualifiedName, sizes: &TableStats) -> f64 {
        match op {
            OpKind::CreateIndex { columns, .. } => self.index_ms(table, sizes, columns),
            OpKind::AddConstraint { constraint, .. } => {
                let columns: Vec<Option<String>> = constraint.columns().into_iter().map(Some).collect();
                self.index_ms(table, sizes, &columns)
            }
            _ => self.every_index_ms(table, sizes),
        }
    }

    /// Building one index of the table on these key columns.
    fn index_ms(&self, table: &QualifiedName, sizes: &TableStats, columns: &[Option<String>]) -> f64 {
        self.build_ms(sizes, self.key_width(table, sizes, columns))
    }

    /// Building every index the table has again.
    fn every_index_ms(&self, table: &QualifiedName, sizes: &TableStats) -> f64 {
        self.catalog.indexes_on(table).map(|index| self.index_ms(table, sizes, &index.columns)).sum()
    }

    /// One index build on a table of these sizes with a key of `key_bytes` per row.
    fn build_ms(&self, sizes: &TableStats, key_bytes: f64) -> f64 {
        let rows = sizes.rows() as f64;
        if rows < 2.0 {
            return 0.0;
        }
        let profile = self.profile;
        // The sort compares keys n·log2 n times; each row's index tuple is formed, copied
        // through the sort and written once, which grows with the key's bytes (wide keys also
        // spill the sort past maintenance_work_mem sooner).
        let sort_ns = profile.index_sort_ns_per_nlogn * rows * rows.log2();
        let tuples_ns = profile.index_key_ns_per_byte * rows * key_bytes;
        let mut cpu_ns = sort_ns + tuples_ns;
        if self.parallel_maintenance {
            cpu_ns /= profile.parallel_build_speedup;
        }
        self.scan_ms(sizes) + cpu_ns / 1e6
    }

    /// Bytes per row of an index key: each column's `pg_stats.avg_width`, else its type's
    /// width; an expression, or a column the catalog does not know, counts as an unknown
    /// variable-width value.
    fn key_width(&self, table: &QualifiedName, sizes: &TableStats, columns: &[Option<String>]) -> f64 {
        let table = self.catalog.table(table);
        columns
            .iter()
            .map(|column| {
                let Some(name) = column else { return UNKNOWN_WIDTH };
                match sizes.column_widths.get(name) {
                    Some(&width) => width as f64,
                    None => table.and_then(|t| t.column(name)).map_or(UNKNOWN_WIDTH, |c| type_width(&c.ty)),
                }
            })
            .sum()
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

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

/// The width PostgreSQL's planner assumes for a variable-width value it has no statistics for
/// (`get_typavgwidth`).
const UNKNOWN_WIDTH: f64 = 32.0;

/// Bytes of a value of this type when no statistics say: the stored length of a fixed-width
/// type (`pg_type.typlen`), else the planner's guess for a variable-width one.
fn type_width(ty: &SqlType) -> f64 {
    if ty.array {
        return UNKNOWN_WIDTH;
    }
    match ty.name.as_str() {
        "boolean" => 1.0,
        "smallint" | "smallserial" => 2.0,
        "integer" | "serial" | "real" | "date" | "oid" => 4.0,
        "bigint" | "bigserial" | "double precision" | "timestamp" | "timestamptz" | "time" | "money" => 8.0,
        "timetz" => 12.0,
        "uuid" | "interval" => 16.0,
        _ => UNKNOWN_WIDTH,
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::catalog::{Column, Constraint, Index, Table};
    use crate::postgres::LockMode;

    fn name(table: &str) -> QualifiedName {
        QualifiedName::new(Some("public".into()), table)
    }

    fn column(name: &str, ty: &str) -> Column {
        Column {
            name: name.into(),
            ty: SqlType::named(ty),
            not_null: false,
            default: None,
            identity: false,
            generated: None,
            owned_sequence: None,
        }
    }

    /// `child (id bigint, a integer, s text)` referencing `parent (id integer)` through
    /// `child_a_fk`, with an index on `child (id)`.
    fn catalog() -> Catalog {
        let mut catalog = Catalog::default();
        catalog.insert_existing_table(Table::existing(name("parent"), vec![column("id", "integer")], vec![]));
        catalog.insert_existing_table(Table::existing(
            name("child"),
            vec![column("id", "bigint"), column("a", "integer"), column("s", "text")],
            vec![Constraint {
                name: "child_a_fk".into(),
                kind: ConstraintKind::ForeignKey {
                    columns: vec!["a".into()],
                    references: name("parent"),
                    referenced_columns: vec!["id".into()],
                },
                validated: false,
                origin: None,
            }],
        ));
        catalog.insert_existing_index(Index {
            name: "child_pkey".into(),
            table: name("child"),
            columns: vec![Some("id".into())],
            reads: vec![],
            unique: true,
            partial: false,
            valid: true,
            origin: None,
        });
        catalog
    }

    /// A table of `rows` rows of `row_bytes` bytes each, with the given analyzed widths.
    fn sized(rows: u64, row_bytes: u64, widths: &[(&str, u64)]) -> TableStats {
        TableStats {
            reltuples: rows as f64,
            heap_bytes: rows * row_bytes,
            table_bytes: rows * row_bytes,
            column_widths: widths.iter().map(|(c, w)| (c.to_string(), *w)).collect(),
            ..TableStats::default()
        }
    }

    /// The work of `op` on `child` with the tables at these sizes, on the default profile, one
    /// process.
    fn work_ms(op: &OpKind, work: Work, sizes: &[(&str, TableStats)]) -> f64 {
        let profile = Profile::default();
        let catalog = catalog();
        let sizes: HashMap<QualifiedName, TableStats> = sizes.iter().map(|(t, s)| (name(t), s.clone())).collect();
        let stats = |table: &QualifiedName| sizes.get(table).cloned();
        let inputs =
            EstimateInputs { profile: &profile, catalog: &catalog, stats: &stats, parallel_maintenance: false };
        inputs.work_ms(op, &LockEffect { relation: name("child"), mode: LockMode::ShareRowExclusive, work })
    }

    fn validate_fk() -> OpKind {
        OpKind::ValidateConstraint { table: name("child"), name: "child_a_fk".into() }
    }

    fn create_index(column: &str) -> OpKind {
        OpKind::CreateIndex {
            name: None,
            table: name("child"),
            columns: vec![Some(column.into())],
            unique: false,
            concurrently: false,
            partial: false,
            reads: vec![],
            only: false,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
    }

    #[test]
    fn foreign_key_validation_probes_per_referencing_row_and_hashes_the_referenced_rows_once() {
        let profile = Profile::default();
        let fk = |child_rows: u64, parent_rows: u64| {
            work_ms(
                &validate_fk(),
                Work::ValidateForeignKey,
                &[("child", sized(child_rows, 100, &[])), ("parent", sized(parent_rows, 40, &[]))],
            )
        };
        // Each million more referencing rows: their scan and one probe each.
        let per_child_row = profile.fk_probe_ns_per_row + 100.0 / profile.scan_mb_per_s * 1000.0;
        assert!(close(fk(2_000_000, 100_000) - fk(1_000_000, 100_000), 1_000_000.0 * per_child_row / 1e6));
        // Each million more referenced rows: their scan and one hash insert each, whatever the
        // referencing table's size.
        let per_parent_row = profile.fk_parent_ns_per_row + 40.0 / profile.scan_mb_per_s * 1000.0;
        for child in [10_000, 1_000_000] {
            assert!(close(fk(child, 2_000_000) - fk(child, 1_000_000), 1_000_000.0 * per_parent_row / 1e6));
        }
        // An empty referencing table is done at once, however big the referenced one.
        assert_eq!(fk(0, 5_000_000), 0.0);
        // Validation reads and writes nothing: far below a rewrite of the same table.
        let rewrite = work_ms(
            &OpKind::AlterColumnType {
                table: name("child"),
                column: "a".into(),
                new_type: SqlType::named("bigint"),
                using: false,
            },
            Work::Rewrite,
            &[("child", sized(1_000_000, 100, &[]))],
        );
        assert!(fk(1_000_000, 100_000) * 3.0 < rewrite, "{} vs {rewrite}", fk(1_000_000, 100_000));
    }

    #[test]
    fn an_index_build_costs_per_byte_of_its_key_as_pg_stats_measures_it() {
        let profile = Profile::default();
        let widths = [("id", 8), ("a", 4), ("s", 41)];
        let build = |column: &str, widths: &[(&str, u64)]| {
            work_ms(&create_index(column), Work::IndexBuild, &[("child", sized(1_000_000, 100, widths))])
        };
        // The text key of 41 bytes costs 37 bytes per row more than the 4-byte integer key.
        let per_byte_ms = profile.index_key_ns_per_byte * 1_000_000.0 / 1e6;
        assert!(close(build("s", &widths) - build("a", &widths), 37.0 * per_byte_ms));
        // It is the width that counts, not the type: a text column of 4-byte values costs as an
        // integer does.
        assert!(close(build("s", &[("s", 4)]), build("a", &widths)));
        // With no statistics, the type's width: 4 for an integer, 8 for a bigint, the planner's
        // 32 for text.
        assert!(close(build("a", &[]), build("a", &widths)));
        assert!(close(build("id", &[]) - build("a", &[]), 4.0 * per_byte_ms));
        assert!(close(build("s", &[]) - build("a", &[]), 28.0 * per_byte_ms));
    }

    #[test]
    fn an_index_build_grows_as_n_log_n() {
        let build = |rows: u64| work_ms(&create_index("a"), Work::IndexBuild, &[("child", sized(rows, 100, &[]))]);
        let (small, large) = (build(1_000_000), build(4_000_000));
        // Four times the rows: more than four times the time (the sort), less than five.
        assert!(large > 4.0 * small && large < 5.0 * small, "{small} → {large}");
    }

    #[test]
    fn scans_cost_by_heap_bytes() {
        let op = OpKind::SetNotNull { table: name("child"), column: "a".into() };
        let scan = |rows: u64, row_bytes: u64| work_ms(&op, Work::Scan, &[("child", sized(rows, row_bytes, &[]))]);
        assert!(close(scan(1_000_000, 200), scan(2_000_000, 100)), "the same bytes, the same time");
        assert!(close(scan(1_000_000, 100), 100.0 / Profile::default().scan_mb_per_s * 1000.0));
    }

    #[test]
    fn a_rewrite_copies_the_table_bytes_and_rebuilds_each_index() {
        let op = OpKind::AlterColumnType {
            table: name("child"),
            column: "a".into(),
            new_type: SqlType::named("bigint"),
            using: false,
        };
        let sizes = sized(1_000_000, 100, &[("id", 8)]);
        let rewrite = work_ms(&op, Work::Rewrite, &[("child", sizes.clone())]);
        let reindex = OpKind::Reindex { target: Some(name("child")), index: false, system: false, concurrently: false };
        let rebuild = work_ms(&reindex, Work::IndexBuild, &[("child", sizes)]);
        let copy = 100.0 / Profile::default().rewrite_mb_per_s * 1000.0;
        assert!(close(rewrite, copy + rebuild), "{rewrite} = {copy} + {rebuild}");
    }
}
