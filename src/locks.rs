//! The one table of PostgreSQL lock knowledge: for an op on a given server version, which
//! relations get which lock mode and what work runs while the lock is held.
//!
//! Rules, the estimator and the planner all read [`effects`]; nothing keeps a second copy: a
//! rule words the lock it names from the op's effects, and a recipe step of the planner lowers
//! its own SQL and asks [`effects`] on the schema the steps before it leave.
//! `tests/lock_model.rs` checks it against a real server (pg_locks and relfilenode), and
//! `tests/recipe_locks.rs` checks the recipes' steps the same way.

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::ir::{ConstraintKind, DroppedObject, Generated, OpKind, QualifiedName, SqlType, TableAction};
use crate::postgres::{Feature, LockMode, PgVersion};

/// The work a statement does while it holds its lock; the estimator turns this into time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Work {
    /// Catalog change only: milliseconds whatever the table size.
    Catalog,
    /// A full scan of the table to verify existing rows.
    Scan,
    /// Foreign-key validation: the referencing table joined against the referenced one.
    ValidateForeignKey,
    /// The heap is copied to a new file and every index rebuilt.
    Rewrite,
    /// One index built (a sort of the table).
    IndexBuild,
    /// A concurrent index build: two scans, and waits for older transactions.
    ConcurrentIndexBuild,
    /// The table's files are copied (SET TABLESPACE).
    FileCopy,
    /// Rows inserted, updated or deleted: row locks, WAL, bloat.
    RowChanges,
    /// Catalog only, but waits for every transaction that uses the table to finish.
    WaitForTransactions,
}

impl Work {
    /// Does the time this work takes grow with the size of the table?
    pub fn scales_with_table(self) -> bool {
        !matches!(self, Work::Catalog | Work::WaitForTransactions)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Work::Catalog => "a catalog-only change",
            Work::Scan => "a full table scan",
            Work::ValidateForeignKey => "a scan of the table joined against the referenced table",
            Work::Rewrite => "a rewrite of the whole table and every index",
            Work::IndexBuild => "an index build",
            Work::ConcurrentIndexBuild => "a concurrent index build",
            Work::FileCopy => "a copy of the table's files",
            Work::RowChanges => "row changes",
            Work::WaitForTransactions => "a wait for every transaction using the table",
        }
    }
}

/// A lock an op takes on one relation, and the work done under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockEffect {
    pub relation: QualifiedName,
    pub mode: LockMode,
    pub work: Work,
}

fn effect(relation: &QualifiedName, mode: LockMode, work: Work) -> LockEffect {
    LockEffect { relation: relation.clone(), mode, work }
}

/// Every lock the op takes, strongest-first for its main relation.
pub fn effects(op: &OpKind, catalog: &Catalog, pg: PgVersion) -> Vec<LockEffect> {
    use LockMode::*;
    use OpKind::*;
    match op {
        CreateTable { table, columns, constraints, partition_of, .. } => {
            let mut out = vec![effect(table, AccessExclusive, Work::Catalog)];
            let inline = columns.iter().flat_map(|c| &c.constraints);
            for constraint in inline.chain(constraints) {
                if let ConstraintKind::ForeignKey { references, .. } = &constraint.kind {
                    out.push(effect(references, ShareRowExclusive, Work::Catalog));
                }
            }
            if let Some(parent) = partition_of {
                out.push(effect(parent, AccessExclusive, Work::Catalog));
            }
            out
        }
        CreateTableAs { table, .. } => vec![effect(table, AccessExclusive, Work::RowChanges)],
        DropTable { tables, cascade, .. } => tables
            .iter()
            .flat_map(|t| {
                // Dropping a table drops its foreign keys' triggers on the tables it references;
                // CASCADE also drops the foreign keys (and their triggers) of tables referencing it.
                let referencing = if *cascade { referencing_tables(catalog, t) } else { vec![] };
                let sequences = owned_sequences(catalog, t, None);
                std::iter::once(effect(t, AccessExclusive, Work::Catalog))
                    .chain(referenced_tables(catalog, t).map(|r| effect(&r, AccessExclusive, Work::Catalog)))
                    .chain(referencing.into_iter().map(|r| effect(&r, AccessExclusive, Work::Catalog)))
                    .chain(sequences.into_iter().map(|s| effect(&s, AccessExclusive, Work::Catalog)))
            })
            .collect(),
        RenameTable { table, .. } | RenameColumn { table, .. } => vec![effect(table, AccessExclusive, Work::Catalog)],
        DropColumn { table, column, .. } => {
            // A foreign key on the column goes with it, and so do its triggers on the other table.
            // So does the sequence a serial or identity column owns.
            let mut partners = foreign_key_partners(catalog, table, column);
            partners.retain(|other| other != table);
            partners.extend(owned_sequences(catalog, table, Some(column)));
            std::iter::once(effect(table, AccessExclusive, Work::Catalog))
                .chain(partners.iter().map(|other| effect(other, AccessExclusive, Work::Catalog)))
                .collect()
        }
        AddColumn { table, column } => {
            let mut out = vec![effect(table, AccessExclusive, add_column_work(column, pg))];
            for constraint in &column.constraints {
                match &constraint.kind {
                    ConstraintKind::ForeignKey { references, .. } => {
                        out.push(effect(references, ShareRowExclusive, Work::Catalog));
                        // Only a column added without a default is known to hold nulls alone;
                        // with one (even NULL) PostgreSQL validates the key on every row.
                        if column.default.is_some() && matches!(out[0].work, Work::Catalog | Work::Scan) {
                            out[0].work = Work::ValidateForeignKey;
                        }
                    }
                    // A rewrite builds the new index as it goes: still a rewrite.
                    ConstraintKind::Unique { .. } | ConstraintKind::PrimaryKey { .. }
                        if out[0].work != Work::Rewrite =>
                    {
                        out[0].work = Work::IndexBuild
                    }
                    _ => {}
                }
            }
            out
        }
        AlterColumnType { table, column, new_type, using, .. } => {
            let old = catalog.table(table).and_then(|t| t.column(column)).map(|c| &c.ty);
            let utc = catalog.time_zone().is_some_and(is_utc);
            let mut work = if *using { Work::Rewrite } else { type_change_work(old, new_type, pg, utc) };
            // CHECK constraints on the column are dropped and re-added, so re-validated by a scan
            // even when no rewrite happens. (The IR knows a CHECK's column only for the
            // `col IS NOT NULL` form.)
            if work == Work::Catalog && catalog.table(table).is_some_and(|t| t.has_valid_not_null_check(column)) {
                work = Work::Scan;
            }
            if matches!(work, Work::Catalog | Work::Scan)
                && old.is_some_and(|old| old != new_type && rebuilds_indexes(catalog, table, column, old, new_type))
            {
                work = Work::IndexBuild;
            }
            // A foreign key on either side of the column is dropped and re-created: ACCESS
            // EXCLUSIVE on the other table too. It is re-validated only when a rewrite happens;
            // otherwise the old check still holds and PostgreSQL keeps it.
            let revalidate = if work == Work::Rewrite { Work::ValidateForeignKey } else { Work::Catalog };
            let mut out = vec![effect(table, AccessExclusive, work)];
            for other in foreign_key_partners(catalog, table, column) {
                out.push(effect(&other, AccessExclusive, revalidate));
            }
            out
        }
        SetNotNull { table, column } => {
            let proven = proven_not_null(catalog, table, column, pg);
            vec![effect(table, AccessExclusive, if proven { Work::Catalog } else { Work::Scan })]
        }
        DropNotNull { table, .. } | SetDefault { table, .. } | RenameConstraint { table, .. } => {
            vec![effect(table, AccessExclusive, Work::Catalog)]
        }
        AddConstraint { table, constraint, .. } => {
            let validate = |work| if constraint.not_valid { Work::Catalog } else { work };
            match &constraint.kind {
                // PostgreSQL 18's NOT NULL constraint on a column already NOT NULL checks nothing.
                ConstraintKind::NotNull { column } if is_not_null(catalog, table, column) => {
                    vec![effect(table, AccessExclusive, Work::Catalog)]
                }
                ConstraintKind::Check { .. } | ConstraintKind::NotNull { .. } => {
                    vec![effect(table, AccessExclusive, validate(Work::Scan))]
                }
                ConstraintKind::ForeignKey { references, .. } => vec![
                    effect(table, ShareRowExclusive, validate(Work::ValidateForeignKey)),
                    effect(references, ShareRowExclusive, Work::Catalog),
                ],
                ConstraintKind::Unique { using_index: Some(_), .. } => {
                    vec![effect(table, AccessExclusive, Work::Catalog)]
                }
                ConstraintKind::PrimaryKey { using_index: Some(index), columns } => {
                    // The key columns must be proven NOT NULL, or the server scans for NULLs.
                    // `USING INDEX` names no columns; they are the index's, if the catalog knows it.
                    let columns =
                        if columns.is_empty() { index_columns(catalog, table, index) } else { Some(columns.clone()) };
                    let all_proven =
                        columns.is_some_and(|columns| columns.iter().all(|c| proven_not_null(catalog, table, c, pg)));
                    vec![effect(table, AccessExclusive, if all_proven { Work::Catalog } else { Work::Scan })]
                }
                ConstraintKind::Unique { .. } | ConstraintKind::PrimaryKey { .. } | ConstraintKind::Exclusion => {
                    vec![effect(table, AccessExclusive, Work::IndexBuild)]
                }
            }
        }
        ValidateConstraint { table, name } => {
            let constraint = catalog.table(table).and_then(|t| t.constraint(name));
            // A constraint already valid is left alone: no scan, no lock on the referenced table.
            if constraint.is_some_and(|c| c.validated) {
                return vec![effect(table, ShareUpdateExclusive, Work::Catalog)];
            }
            match constraint.map(|c| &c.kind) {
                Some(ConstraintKind::ForeignKey { references, .. }) => vec![
                    effect(table, ShareUpdateExclusive, Work::ValidateForeignKey),
                    effect(references, RowShare, Work::Catalog),
                ],
                _ => vec![effect(table, ShareUpdateExclusive, Work::Scan)],
            }
        }
        DropConstraint { table, name, .. } => {
            let mut out = vec![effect(table, AccessExclusive, Work::Catalog)];
            if let Some(ConstraintKind::ForeignKey { references, .. }) =
                catalog.table(table).and_then(|t| t.constraint(name)).map(|c| &c.kind)
            {
                out.push(effect(references, AccessExclusive, Work::Catalog));
            }
            out
        }
        AlterTable { table, action } => {
            let (mode, work) = table_action_lock(action);
            vec![effect(table, mode, work)]
        }
        AttachPartition { table, partition } => {
            let parent_mode = if pg.supports(Feature::AttachPartitionShareUpdateExclusive) {
                ShareUpdateExclusive
            } else {
                AccessExclusive
            };
            vec![effect(table, parent_mode, Work::Catalog), effect(partition, AccessExclusive, Work::Scan)]
        }
        DetachPartition { table, partition, concurrently } => {
            if *concurrently {
                vec![
                    effect(table, ShareUpdateExclusive, Work::WaitForTransactions),
                    effect(partition, ShareUpdateExclusive, Work::WaitForTransactions),
                ]
            } else {
                // Before 14 the partition itself was opened with SHARE UPDATE EXCLUSIVE; 14
                // (which brought the CONCURRENTLY form) takes ACCESS EXCLUSIVE on both.
                let partition_mode = if pg.supports(Feature::DetachPartitionConcurrently) {
                    AccessExclusive
                } else {
                    ShareUpdateExclusive
                };
                vec![effect(table, AccessExclusive, Work::Catalog), effect(partition, partition_mode, Work::Catalog)]
            }
        }
        CreateIndex { table, concurrently, name, .. } => {
            // An index of that name on the table already: only IF NOT EXISTS lets the statement
            // succeed, and then it builds nothing (the lock is still taken before the check).
            let exists = name.as_ref().is_some_and(|name| {
                catalog.index(&QualifiedName::new(table.schema.clone(), name)).is_some_and(|i| &i.table == table)
            });
            let mode = if *concurrently { ShareUpdateExclusive } else { Share };
            let work = match (exists, *concurrently) {
                (true, _) => Work::Catalog,
                (false, true) => Work::ConcurrentIndexBuild,
                (false, false) => Work::IndexBuild,
            };
            vec![effect(table, mode, work)]
        }
        DropIndex { indexes, concurrently, .. } => indexes
            .iter()
            .map(|index| {
                let table = catalog.index(index).map_or_else(|| index.clone(), |i| i.table.clone());
                if *concurrently {
                    effect(&table, ShareUpdateExclusive, Work::WaitForTransactions)
                } else {
                    effect(&table, AccessExclusive, Work::Catalog)
                }
            })
            .collect(),
        RenameSequence { sequence, .. } => vec![effect(sequence, AccessExclusive, Work::Catalog)],
        RenameIndex { index, .. } => {
            let mode = if pg.supports(Feature::RenameIndexShareUpdateExclusive) {
                ShareUpdateExclusive
            } else {
                AccessExclusive
            };
            vec![effect(index, mode, Work::Catalog)]
        }
        Reindex { target, index, concurrently, .. } => {
            let Some(target) = target else { return vec![] };
            let table = if *index {
                catalog.index(target).map_or_else(|| target.clone(), |i| i.table.clone())
            } else {
                target.clone()
            };
            if *concurrently {
                vec![effect(&table, ShareUpdateExclusive, Work::ConcurrentIndexBuild)]
            } else {
                // SHARE on the table, but ACCESS EXCLUSIVE on the index: planning any query on
                // the table opens every index, so reads block too.
                vec![effect(&table, AccessExclusive, Work::IndexBuild)]
            }
        }
        Truncate { tables, cascade } => {
            // CASCADE also truncates every table that references one being truncated.
            let all = if *cascade { with_referencing_tables(catalog, tables) } else { tables.clone() };
            all.iter().map(|t| effect(t, AccessExclusive, Work::Catalog)).collect()
        }
        VacuumFull { tables } => tables.iter().map(|t| effect(t, AccessExclusive, Work::Rewrite)).collect(),
        // ANALYZE samples at most 300 × default_statistics_target rows: work that does not grow
        // with the table.
        Vacuum { tables, analyze_only } => {
            let work = if *analyze_only { Work::Catalog } else { Work::Scan };
            tables.iter().map(|t| effect(t, ShareUpdateExclusive, work)).collect()
        }
        Cluster { table } => table.iter().map(|t| effect(t, AccessExclusive, Work::Rewrite)).collect(),
        RefreshMaterializedView { view, concurrently } => {
            let mode = if *concurrently { Exclusive } else { AccessExclusive };
            vec![effect(view, mode, Work::Rewrite)]
        }
        CreateTrigger { table } => vec![effect(table, ShareRowExclusive, Work::Catalog)],
        DropTrigger { table } => vec![effect(table, AccessExclusive, Work::Catalog)],
        CreateOrReplaceView { view, replace: true } => vec![effect(view, AccessExclusive, Work::Catalog)],
        AlterDomainAddConstraint { name, not_valid } => {
            // The lock is SHARE on every table with a column of the domain (each is scanned),
            // not on the domain. When the catalog knows none, the domain stands in for them.
            let work = if *not_valid { Work::Catalog } else { Work::Scan };
            let users = tables_using_type(catalog, name);
            if users.is_empty() {
                vec![effect(name, Share, work)]
            } else {
                users.iter().map(|t| effect(t, Share, work)).collect()
            }
        }
        AlterSequence { name } => vec![effect(name, ShareRowExclusive, Work::Catalog)],
        DataChange { table: Some(table), .. } => vec![effect(table, RowExclusive, Work::RowChanges)],
        LockTable { tables, mode } => tables.iter().map(|t| effect(t, *mode, Work::Catalog)).collect(),
        Comment { table: Some(table) } => vec![effect(table, ShareUpdateExclusive, Work::Catalog)],
        // Dropping a view or sequence waits for, and blocks, every query that uses it.
        Drop { object: DroppedObject::View | DroppedObject::MaterializedView | DroppedObject::Sequence, names } => {
            names
                .iter()
                .map(|name| effect(&QualifiedName::parse_dotted(name), AccessExclusive, Work::Catalog))
                .collect()
        }
        _ => vec![],
    }
}

fn table_action_lock(action: &TableAction) -> (LockMode, Work) {
    use LockMode::*;
    match action {
        TableAction::SetTablespace => (AccessExclusive, Work::FileCopy),
        TableAction::SetLogged | TableAction::SetUnlogged | TableAction::SetAccessMethod => {
            (AccessExclusive, Work::Rewrite)
        }
        TableAction::SetExpression => (AccessExclusive, Work::Rewrite),
        TableAction::StorageParameters | TableAction::ColumnStatistics => (ShareUpdateExclusive, Work::Catalog),
        TableAction::EnableTrigger | TableAction::DisableTrigger => (ShareRowExclusive, Work::Catalog),
        _ => (AccessExclusive, Work::Catalog),
    }
}

/// Work done by ADD COLUMN: PostgreSQL 11+ stores a non-volatile default in the catalog.
pub fn add_column_work(column: &crate::ir::ColumnDef, pg: PgVersion) -> Work {
    let rewrites = column.identity
        || column.default.as_ref().is_some_and(|default| default.is_volatile(pg))
        || (column.default.is_some() && !pg.supports(Feature::FastColumnDefault))
        || match column.generated {
            Some(Generated::Stored) => true,
            Some(Generated::Virtual) => !pg.supports(Feature::VirtualGeneratedColumns),
            None => false,
        };
    let has_check = column.constraints.iter().any(|c| matches!(c.kind, ConstraintKind::Check { .. }));
    if rewrites {
        Work::Rewrite
    } else if has_check || (column.not_null && column.default.is_none()) {
        Work::Scan
    } else {
        Work::Catalog
    }
}

/// Whether a `TimeZone` is UTC the way PostgreSQL's `TimestampTimestampTzRequiresRewrite` asks:
/// a zone whose offset is always zero (a zone with summer time, such as Europe/London, is not).
/// Zone names are case-insensitive; an unknown spelling counts as not UTC, so as a rewrite.
pub fn is_utc(zone: &str) -> bool {
    let zone = zone.trim().to_ascii_lowercase();
    let zone = zone.strip_prefix("etc/").unwrap_or(&zone);
    matches!(zone, "utc" | "uct" | "gmt" | "gmt0" | "gmt+0" | "gmt-0" | "greenwich" | "universal" | "zulu")
}

/// Whether `ALTER COLUMN … TYPE` rewrites, judged from the replayed old type. An unknown old
/// type is assumed to rewrite. `utc`: the session's TimeZone is UTC, which makes `timestamp` ↔
/// `timestamptz` a relabelling from PostgreSQL 12.
pub fn type_change_work(old: Option<&SqlType>, new: &SqlType, pg: PgVersion, utc: bool) -> Work {
    let Some(old) = old else { return Work::Rewrite };
    if old == new {
        return Work::Catalog;
    }
    if old.array != new.array {
        return Work::Rewrite;
    }
    let widened = |old: &[i64], new: &[i64]| new.is_empty() || (!old.is_empty() && new[0] >= old[0]);
    let safe = match (old.name.as_str(), new.name.as_str()) {
        ("varchar", "varchar") | ("varbit", "varbit") => widened(&old.modifiers, &new.modifiers),
        ("varchar", "text") | ("text", "varchar") => new.modifiers.is_empty(),
        ("numeric", "numeric") => {
            new.modifiers.is_empty()
                || (!old.modifiers.is_empty()
                    && new.modifiers[0] >= old.modifiers[0]
                    && old.modifiers.get(1).copied().unwrap_or(0) == new.modifiers.get(1).copied().unwrap_or(0))
        }
        ("cidr", "inet") => true,
        ("timestamp", "timestamptz") | ("timestamptz", "timestamp") => {
            utc && pg.supports(Feature::TimestampTimeZoneRelabelInUtc) && widened(&old.modifiers, &new.modifiers)
        }
        ("timestamp", "timestamp")
        | ("timestamptz", "timestamptz")
        | ("time", "time")
        | ("timetz", "timetz")
        | ("interval", "interval") => widened(&old.modifiers, &new.modifiers),
        _ => false,
    };
    if safe {
        Work::Catalog
    } else {
        Work::Rewrite
    }
}

/// Whether a type change that keeps the table's file still rebuilds an index: PostgreSQL keeps
/// an index on the column only when it finds it compatible (`CheckIndexCompatible`), that is with
/// the same operator class and without an expression or a predicate, which it does not compare.
/// timestamp and timestamptz have operator classes of their own. An index whose expression or
/// predicate reads the column is rebuilt too (where the catalog knows what they read: an index
/// read from SQL does; one from Django's or Alembic's expressions may not, a known gap).
fn rebuilds_indexes(catalog: &Catalog, table: &QualifiedName, column: &str, old: &SqlType, new: &SqlType) -> bool {
    let operator_class_changes =
        matches!((old.name.as_str(), new.name.as_str()), ("timestamp", "timestamptz") | ("timestamptz", "timestamp"));
    catalog.indexes_on(table).any(|index| {
        let key = index.columns.iter().any(|c| c.as_deref() == Some(column));
        let read = index.reads.iter().any(|c| c == column);
        let has_expression = index.columns.iter().any(Option::is_none);
        read || (key && (operator_class_changes || has_expression || index.partial))
    })
}

/// Whether the catalog knows `table.column` to be NOT NULL already.
fn is_not_null(catalog: &Catalog, table: &QualifiedName, column: &str) -> bool {
    catalog.table(table).and_then(|t| t.column(column)).is_some_and(|c| c.not_null)
}

/// Whether the server knows `column` holds no NULL without scanning: it is NOT NULL already,
/// or (from 12) a valid CHECK (column IS NOT NULL) proves it.
pub fn proven_not_null(catalog: &Catalog, table: &QualifiedName, column: &str, pg: PgVersion) -> bool {
    catalog.table(table).is_some_and(|t| {
        t.column(column).is_some_and(|c| c.not_null)
            || (pg.supports(Feature::SetNotNullFromCheck) && t.has_valid_not_null_check(column))
    })
}

/// The sequences the table's serial and identity columns own (of `column` only, when given):
/// dropping them with the column or table takes ACCESS EXCLUSIVE on each.
fn owned_sequences(catalog: &Catalog, table: &QualifiedName, column: Option<&str>) -> Vec<QualifiedName> {
    let Some(table) = catalog.table(table) else { return vec![] };
    table
        .columns
        .iter()
        .filter(|c| column.is_none_or(|name| c.name == name))
        .filter_map(|c| c.owned_sequence.clone())
        .collect()
}

/// Tables that `table` references with foreign keys: dropping it locks them too.
fn referenced_tables<'a>(catalog: &'a Catalog, table: &QualifiedName) -> impl Iterator<Item = QualifiedName> + 'a {
    catalog.table(table).into_iter().flat_map(|t| {
        t.constraints.iter().filter_map(|c| match &c.kind {
            ConstraintKind::ForeignKey { references, .. } => Some(references.clone()),
            _ => None,
        })
    })
}

/// The key columns of an index of `table`, when the catalog knows them all.
fn index_columns(catalog: &Catalog, table: &QualifiedName, index: &str) -> Option<Vec<String>> {
    let index = catalog.index(&QualifiedName::new(table.schema.clone(), index))?;
    index.columns.iter().cloned().collect()
}

/// Tables with a foreign key to `table` (other than `table` itself).
fn referencing_tables(catalog: &Catalog, table: &QualifiedName) -> Vec<QualifiedName> {
    let key = table;
    let mut out: Vec<QualifiedName> = catalog
        .tables()
        .filter(|t| &t.name != key)
        .filter(|t| {
            t.constraints
                .iter()
                .any(|c| matches!(&c.kind, ConstraintKind::ForeignKey { references, .. } if references == key))
        })
        .map(|t| t.name.clone())
        .collect();
    out.sort();
    out
}

/// `tables` and, transitively, every table referencing one of them (TRUNCATE … CASCADE).
fn with_referencing_tables(catalog: &Catalog, tables: &[QualifiedName]) -> Vec<QualifiedName> {
    let mut all = tables.to_vec();
    let mut next = 0;
    while next < all.len() {
        for other in referencing_tables(catalog, &all[next]) {
            if !all.contains(&other) {
                all.push(other);
            }
        }
        next += 1;
    }
    all
}

/// Tables with a column of the named type (a domain, an enum).
fn tables_using_type(catalog: &Catalog, type_name: &QualifiedName) -> Vec<QualifiedName> {
    let mut out: Vec<QualifiedName> = catalog
        .tables()
        .filter(|t| t.columns.iter().any(|c| c.ty.name == type_name.name))
        .map(|t| t.name.clone())
        .collect();
    out.sort();
    out
}

/// Tables on the other side of a foreign key that involves `table.column`.
fn foreign_key_partners(catalog: &Catalog, table: &QualifiedName, column: &str) -> Vec<QualifiedName> {
    let Some(own) = catalog.table(table) else { return vec![] };
    let mut partners: Vec<QualifiedName> = own
        .constraints
        .iter()
        .filter_map(|c| match &c.kind {
            ConstraintKind::ForeignKey { columns, references, .. } if columns.iter().any(|c| c == column) => {
                Some(references.clone())
            }
            _ => None,
        })
        .collect();
    // Only a key column can be referenced; skip the scan of every table for the rest.
    let is_key = own.constraints.iter().any(|c| {
        matches!(&c.kind, ConstraintKind::PrimaryKey { columns, .. } | ConstraintKind::Unique { columns, .. }
            if columns.iter().any(|c| c == column))
    }) || catalog.indexes_on(table).any(|i| i.unique && i.columns.iter().flatten().any(|c| c == column));
    if is_key {
        for t in catalog.tables() {
            for c in &t.constraints {
                let ConstraintKind::ForeignKey { references, referenced_columns, .. } = &c.kind else { continue };
                if references == table && referenced_columns.iter().any(|c| c == column) {
                    partners.push(t.name.clone());
                }
            }
        }
    }
    partners.sort();
    partners.dedup();
    partners
}

/// The strongest lock among the effects on their first (main) relation.
pub fn strongest(effects: &[LockEffect]) -> Option<&LockEffect> {
    effects.iter().max_by_key(|e| e.mode)
}
