//! What the server did while one statement ran, read from the server itself: the locks the
//! session holds (`pg_locks` for its own pid, inside the transaction), each relation's file
//! (`relfilenode`, which a rewrite replaces) and the transaction's own scan counters
//! (`pg_stat_xact_user_tables`, which count inside the open transaction).
//!
//! This is the judge of the lock model: the lock-model test and `lockgate trace` both read the
//! server through it, and both infer the work done from it with [`Observation::work_on`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_postgres::Row;

use crate::ir::QualifiedName;
use crate::locks::Work;
use crate::postgres::LockMode;

/// A session the observer can run SQL on: lockgate's own ([`crate::live::Session`]) or a test's.
pub trait Database {
    fn execute(&mut self, sql: &str) -> Result<(), tokio_postgres::Error>;
    fn query(&mut self, sql: &str) -> Result<Vec<Row>, tokio_postgres::Error>;
}

impl Database for crate::live::Session {
    fn execute(&mut self, sql: &str) -> Result<(), tokio_postgres::Error> {
        crate::live::Session::execute(self, sql)
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Row>, tokio_postgres::Error> {
        self.query_raw(sql)
    }
}

/// The work classes the server can be seen doing on a table, lightest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkClass {
    Catalog,
    Scan,
    ValidateForeignKey,
    IndexBuild,
    Rewrite,
}

impl WorkClass {
    /// The class of the model's work, where the server's counters can show it.
    pub fn of(work: Work) -> Option<WorkClass> {
        match work {
            Work::Catalog => Some(WorkClass::Catalog),
            Work::Scan => Some(WorkClass::Scan),
            Work::ValidateForeignKey => Some(WorkClass::ValidateForeignKey),
            Work::IndexBuild => Some(WorkClass::IndexBuild),
            Work::Rewrite => Some(WorkClass::Rewrite),
            // Row changes, file copies and concurrent forms leave no trace these counters tell
            // apart from the classes above.
            _ => None,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            WorkClass::Catalog => "catalog only",
            WorkClass::Scan => "a full scan",
            WorkClass::ValidateForeignKey => "a foreign-key validation",
            WorkClass::IndexBuild => "an index build",
            WorkClass::Rewrite => "a rewrite",
        }
    }
}

/// How the server names a relation of the model: as `regclass` prints it with `public` on the
/// search path.
pub fn relation_name(name: &QualifiedName) -> String {
    match name.schema.as_deref() {
        None | Some("public") => name.name.clone(),
        Some(schema) => format!("{schema}.{}", name.name),
    }
}

/// One relation of the database, as `pg_class` shows it.
#[derive(Debug, Clone)]
pub struct Relation {
    /// As `regclass` prints it: schema-qualified only when not on the `search_path`.
    pub name: String,
    /// `pg_class.relkind`.
    pub kind: String,
    /// For an index: its table.
    pub table: Option<String>,
    pub filenode: u32,
    /// Size of the main fork, for tables, materialized views and sequences.
    pub bytes: i64,
}

impl Relation {
    pub fn is_index(&self) -> bool {
        self.kind == "i" || self.kind == "I"
    }

    /// A composite type's row in `pg_class`: DROP or ALTER TYPE locks it, which blocks no query
    /// (a function returning the type, a table with a column of it, take no lock on it).
    pub fn is_composite_type(&self) -> bool {
        self.kind == "c"
    }
}

/// A table's counters in the current transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scans {
    pub seq_scan: i64,
    pub seq_tup_read: i64,
    pub idx_scan: i64,
}

impl Scans {
    fn since(self, before: Scans) -> Scans {
        Scans {
            seq_scan: self.seq_scan - before.seq_scan,
            seq_tup_read: self.seq_tup_read - before.seq_tup_read,
            idx_scan: self.idx_scan - before.idx_scan,
        }
    }
}

/// The user relations by oid.
pub type Relations = HashMap<u32, Relation>;

/// Every relation outside the system schemas.
pub fn relations(db: &mut impl Database) -> Result<Relations, tokio_postgres::Error> {
    let rows = db.query(
        "SELECT c.oid, c.oid::regclass::text, c.relkind::text, i.indrelid::regclass::text, c.relfilenode,
                CASE WHEN c.relkind IN ('r', 'm', 'S') THEN pg_relation_size(c.oid) ELSE 0 END
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_index i ON i.indexrelid = c.oid
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'",
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            let relation =
                Relation { name: r.get(1), kind: r.get(2), table: r.get(3), filenode: r.get(4), bytes: r.get(5) };
            (r.get(0), relation)
        })
        .collect())
}

/// Scans per table in the current transaction.
pub fn scans(db: &mut impl Database) -> Result<HashMap<u32, Scans>, tokio_postgres::Error> {
    let rows = db.query("SELECT relid, seq_scan, seq_tup_read, coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables")?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), Scans { seq_scan: r.get(1), seq_tup_read: r.get(2), idx_scan: r.get(3) }))
        .collect())
}

/// The relation locks this session holds, granted, in this database: (oid, mode).
pub fn held_locks(db: &mut impl Database) -> Result<BTreeSet<(u32, LockMode)>, tokio_postgres::Error> {
    let rows = db.query(
        "SELECT relation, mode FROM pg_locks
         WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )?;
    Ok(rows.iter().filter_map(|r| Some((r.get::<_, u32>(0), LockMode::from_pg_locks_name(r.get(1))?))).collect())
}

/// The server's state before and after one statement ran, inside the same transaction.
#[derive(Debug, Clone)]
pub struct Observation {
    pub before: Relations,
    pub after: Relations,
    scans_before: HashMap<u32, Scans>,
    scans_after: HashMap<u32, Scans>,
    /// Locks held before the statement (after reading `before`, which takes ACCESS SHARE on
    /// every table it sizes); `None` when not read.
    pub held_before: Option<BTreeSet<(u32, LockMode)>>,
    /// Locks held at the end of the statement.
    pub held: BTreeSet<(u32, LockMode)>,
    pub duration: Duration,
}

/// What is read before the statement runs.
pub struct Before {
    relations: Relations,
    scans: HashMap<u32, Scans>,
    held: Option<BTreeSet<(u32, LockMode)>>,
}

impl Before {
    /// Relations and scan counters, as the lock-model test reads them.
    pub fn read(db: &mut impl Database) -> Result<Before, tokio_postgres::Error> {
        Ok(Before { relations: relations(db)?, scans: scans(db)?, held: None })
    }

    /// Also the locks already held, so that the statement's own can be told from those of the
    /// statements before it in the transaction.
    pub fn read_with_locks(db: &mut impl Database) -> Result<Before, tokio_postgres::Error> {
        let mut before = Before::read(db)?;
        before.held = Some(held_locks(db)?);
        Ok(before)
    }

    /// Runs the statements of `sql` and reads the server again, still inside the transaction.
    pub fn run(self, db: &mut impl Database, sql: &[impl AsRef<str>]) -> Result<Observation, tokio_postgres::Error> {
        let started = Instant::now();
        for statement in sql {
            db.execute(statement.as_ref())?;
        }
        let duration = started.elapsed();
        self.after(db, duration)
    }

    /// Reads the server after a statement that ran for `duration`.
    pub fn after(self, db: &mut impl Database, duration: Duration) -> Result<Observation, tokio_postgres::Error> {
        // Locks first: reading sizes takes ACCESS SHARE on every table.
        let held = held_locks(db)?;
        let after = relations(db)?;
        let scans_after = scans(db)?;
        Ok(Observation {
            before: self.relations,
            after,
            scans_before: self.scans,
            scans_after,
            held_before: self.held,
            held,
            duration,
        })
    }
}

/// The work the server did on one table, and the evidence for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkSeen {
    pub class: WorkClass,
    pub evidence: String,
    /// The table held no live row: its file was empty, or its new file is (a rewrite copies
    /// live rows only). A rewrite then looks like a TRUNCATE, and nothing tells them apart.
    pub no_live_rows: bool,
}

impl Observation {
    /// The relation by oid, as it was before the statement (a dropped or renamed relation keeps
    /// its old name), or as it is now for one the statement created.
    pub fn relation(&self, oid: u32) -> Option<&Relation> {
        self.before.get(&oid).or_else(|| self.after.get(&oid))
    }

    /// Is there a relation of this name before or after the statement?
    pub fn exists(&self, name: &str) -> bool {
        self.before.values().chain(self.after.values()).any(|r| r.name == name)
    }

    /// The strongest mode held at the end of the statement, per relation name; with
    /// `fold_indexes`, an index's locks also count as its table's.
    pub fn strongest_held(&self, fold_indexes: bool) -> BTreeMap<String, LockMode> {
        strongest(self.held.iter().copied(), |oid| self.names(oid, fold_indexes))
    }

    /// The strongest mode the statement itself took per relation: held at its end and not
    /// before it. Needs [`Before::read_with_locks`]; else every held lock counts.
    pub fn strongest_taken(&self, fold_indexes: bool) -> BTreeMap<String, LockMode> {
        let new = self.held.iter().copied().filter(|lock| self.held_before.as_ref().is_none_or(|b| !b.contains(lock)));
        strongest(new, |oid| self.names(oid, fold_indexes))
    }

    /// Every mode held on the relation named `name` at the end of the statement.
    pub fn modes_held_on(&self, name: &str) -> BTreeSet<LockMode> {
        self.held.iter().filter(|(oid, _)| self.relation(*oid).is_some_and(|r| r.name == name)).map(|l| l.1).collect()
    }

    fn names(&self, oid: u32, fold_indexes: bool) -> Vec<String> {
        let Some(relation) = self.relation(oid) else { return vec![] };
        let mut names = vec![relation.name.clone()];
        if relation.is_index() && fold_indexes {
            names.extend(relation.table.clone());
        }
        names
    }

    /// Tables (and other relations but indexes and composite types) that existed before the
    /// statement.
    pub fn existing(&self) -> BTreeSet<String> {
        self.before.values().filter(|r| !r.is_index() && !r.is_composite_type()).map(|r| r.name.clone()).collect()
    }

    /// Indexes before or after the statement.
    pub fn indexes(&self) -> BTreeSet<String> {
        self.before.values().chain(self.after.values()).filter(|r| r.is_index()).map(|r| r.name.clone()).collect()
    }

    fn delta(&self, oid: u32) -> Scans {
        let before = self.scans_before.get(&oid).copied().unwrap_or_default();
        self.scans_after.get(&oid).copied().unwrap_or_default().since(before)
    }

    /// The scans of a table during the statement.
    pub fn scans_of(&self, name: &str) -> Scans {
        self.before.iter().find(|(_, r)| r.name == name).map(|(oid, _)| self.delta(*oid)).unwrap_or_default()
    }

    /// Tables (not indexes) that existed before the statement and that it scanned or gave a new
    /// file: the only ones whose work is more than catalog-only.
    pub fn touched(&self) -> BTreeSet<String> {
        self.before
            .iter()
            .filter(|(oid, r)| {
                let new_file = self.after.get(oid).is_some_and(|new| new.filenode != r.filenode);
                !r.is_index() && (new_file || self.delta(**oid) != Scans::default())
            })
            .map(|(_, r)| r.name.clone())
            .collect()
    }

    /// What the server did to `target`, a relation that existed before the statement:
    /// rewrite = a new `relfilenode` holding data (TRUNCATE's empty file is not a rewrite);
    /// index build = the heap was scanned and one of its indexes is new or has a new file;
    /// foreign-key validation = the heap was scanned and so was another table (the join);
    /// scan = the heap was scanned; catalog = none of these.
    pub fn work_on(&self, target: &str) -> Option<WorkSeen> {
        let (&oid, old) = self.before.iter().find(|(_, r)| r.name == target)?;
        let new = self.after.get(&oid);
        let new_file = new.is_some_and(|new| new.filenode != old.filenode);
        // TRUNCATE swaps in an empty file (and rebuilds the empty indexes): instant, not a rewrite.
        let truncated = new_file && new.is_some_and(|new| new.bytes == 0);
        let scanned = self.delta(oid).seq_scan > 0;
        // An index re-created on its old file (a type change that keeps the index) is not a build.
        let old_index_files: BTreeSet<u32> =
            self.before.values().filter(|r| r.table.as_deref() == Some(target)).map(|r| r.filenode).collect();
        let index_built =
            self.after.values().any(|r| r.table.as_deref() == Some(target) && !old_index_files.contains(&r.filenode));
        let others_scanned: Vec<&str> = self
            .before
            .iter()
            .filter(|(o, r)| **o != oid && !r.is_index() && self.delta(**o) != Scans::default())
            .map(|(_, r)| r.name.as_str())
            .collect();
        // A sequence's file is one page: a new one (ALTER SEQUENCE … AS bigint) is no work.
        let class = if truncated || old.kind == "S" {
            WorkClass::Catalog
        } else if new_file {
            WorkClass::Rewrite
        } else if scanned && index_built {
            WorkClass::IndexBuild
        } else if scanned && !others_scanned.is_empty() {
            WorkClass::ValidateForeignKey
        } else if scanned {
            WorkClass::Scan
        } else {
            WorkClass::Catalog
        };
        let evidence = format!(
            "relfilenode {} -> {}, {} bytes after; seq scans of {target}: {}; index built: {index_built}; \
             other tables scanned: {others_scanned:?}",
            old.filenode,
            new.map_or_else(|| "(gone)".to_string(), |n| n.filenode.to_string()),
            new.map_or(0, |n| n.bytes),
            self.delta(oid).seq_scan,
        );
        Some(WorkSeen { class, evidence, no_live_rows: old.bytes == 0 || truncated })
    }
}

fn strongest(
    locks: impl Iterator<Item = (u32, LockMode)>,
    names: impl Fn(u32) -> Vec<String>,
) -> BTreeMap<String, LockMode> {
    let mut out: BTreeMap<String, LockMode> = BTreeMap::new();
    for (oid, mode) in locks {
        for name in names(oid) {
            let strongest = out.entry(name).or_insert(mode);
            *strongest = (*strongest).max(mode);
        }
    }
    out
}
