//! The schema as replayed up to a point: tables, columns, indexes and constraints, and which
//! migration created each. Rules ask it questions about the state *before* an op.
//!
//! It also keeps the one session setting that changes what a schema change costs: `TimeZone`,
//! which decides whether `timestamp` ↔ `timestamptz` rewrites the table.

use std::collections::BTreeSet;

use foldhash::HashMap;

use crate::ir::{
    ColumnDef, ConstraintDef, ConstraintKind, DataChangeKind, DefaultExpr, DroppedObject, Generated, OpKind,
    QualifiedName, SqlType, TransactionControl,
};

type Key = QualifiedName;

/// Where an object came from: a statement of a migration, or (None) the database as it was
/// before the first migration lockgate saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub migration: usize,
    pub statement: usize,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub ty: SqlType,
    pub not_null: bool,
    pub default: Option<DefaultExpr>,
    pub identity: bool,
    pub generated: Option<Generated>,
    /// The sequence a `serial` or identity column owns: dropping the column or its table
    /// drops it too, under its own ACCESS EXCLUSIVE lock.
    pub owned_sequence: Option<QualifiedName>,
}

#[derive(Debug, Clone)]
pub struct Constraint {
    pub name: String,
    pub kind: ConstraintKind,
    pub validated: bool,
    pub origin: Option<Origin>,
}

#[derive(Debug, Clone)]
pub struct Index {
    pub name: String,
    pub table: QualifiedName,
    pub columns: Vec<Option<String>>,
    /// Columns its expressions and predicate read, where known.
    pub reads: Vec<String>,
    pub unique: bool,
    pub partial: bool,
    /// False for an index a failed CREATE INDEX CONCURRENTLY left behind: it is not used.
    pub valid: bool,
    pub origin: Option<Origin>,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub name: QualifiedName,
    pub columns: Vec<Column>,
    pub constraints: Vec<Constraint>,
    pub origin: Option<Origin>,
    /// False when the table was first seen in an ALTER: its columns are not all known.
    pub complete: bool,
    pub partitioned: bool,
    /// A migration that added a column failing on any row: where that migration succeeds,
    /// the table was empty, so it is empty for the rest of it.
    pub proven_empty_in: Option<usize>,
    /// Rows may have been written since the replay created it: an INSERT, a COPY, code
    /// lockgate cannot see into. Until then a table the replay created is empty.
    pub maybe_filled: bool,
    /// A migration that deleted every row (DELETE without WHERE, TRUNCATE) and wrote none
    /// since: for the rest of it the table is empty.
    pub emptied_in: Option<usize>,
}

impl Table {
    /// A table that exists in the database (read live, not replayed): all its columns known,
    /// and rows it may hold.
    pub fn existing(name: QualifiedName, columns: Vec<Column>, constraints: Vec<Constraint>) -> Table {
        Table {
            name,
            columns,
            constraints,
            origin: None,
            complete: true,
            partitioned: false,
            proven_empty_in: None,
            maybe_filled: true,
            emptied_in: None,
        }
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Rows may have been written to it.
    fn filled(&mut self) {
        self.maybe_filled = true;
        self.emptied_in = None;
    }

    fn column_mut(&mut self, name: &str) -> Option<&mut Column> {
        self.columns.iter_mut().find(|c| c.name == name)
    }

    pub fn constraint(&self, name: &str) -> Option<&Constraint> {
        self.constraints.iter().find(|c| c.name == name)
    }

    /// A validated `CHECK (column IS NOT NULL)` proves the column has no NULLs.
    pub fn has_valid_not_null_check(&self, column: &str) -> bool {
        self.constraints.iter().any(|c| {
            c.validated && matches!(&c.kind, ConstraintKind::Check { not_null_column: Some(col) } if col == column)
        })
    }
}

#[derive(Debug, Default, Clone)]
pub struct Catalog {
    tables: HashMap<Key, Table>,
    indexes: HashMap<Key, Index>,
    /// The indexes of each table, so per-table questions do not scan every index.
    indexes_by_table: HashMap<Key, BTreeSet<Key>>,
    /// The server's own `TimeZone`, when read live; each migration's session starts with it.
    server_time_zone: Option<String>,
    /// `TimeZone` as the migration being replayed set it (`SET timezone = …`).
    session_time_zone: Option<String>,
    /// A `SET LOCAL timezone` of the open transaction: it wins until the transaction ends, and
    /// the session's setting is back then.
    local_time_zone: Option<String>,
}

impl Catalog {
    pub fn table(&self, name: &QualifiedName) -> Option<&Table> {
        self.tables.get(name)
    }

    pub fn index(&self, name: &QualifiedName) -> Option<&Index> {
        self.indexes.get(name)
    }

    /// The session's `TimeZone`, when known: the migration's own `SET`, else the server's.
    pub fn time_zone(&self) -> Option<&str> {
        self.local_time_zone.as_deref().or(self.session_time_zone.as_deref()).or(self.server_time_zone.as_deref())
    }

    /// The live server's `TimeZone` setting.
    pub fn set_server_time_zone(&mut self, zone: Option<String>) {
        self.server_time_zone = zone;
    }

    /// A new session (the next migration): the settings of the last one are gone.
    pub fn start_session(&mut self) {
        self.session_time_zone = None;
        self.local_time_zone = None;
    }

    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.tables.values()
    }

    pub fn indexes_on<'a>(&'a self, table: &'a QualifiedName) -> impl Iterator<Item = &'a Index> {
        self.indexes_by_table.get(table).into_iter().flatten().filter_map(|key| self.indexes.get(key))
    }

    fn insert_index(&mut self, key: Key, index: Index) {
        self.remove_index(&key);
        self.indexes_by_table.entry(index.table.clone()).or_default().insert(key.clone());
        self.indexes.insert(key, index);
    }

    /// Removes a table (or view) and its indexes.
    fn drop_relation(&mut self, table: &QualifiedName) {
        self.tables.remove(table);
        for key in self.index_keys_on(table) {
            self.remove_index(&key);
        }
    }

    fn remove_index(&mut self, key: &Key) -> Option<Index> {
        let index = self.indexes.remove(key)?;
        if let Some(keys) = self.indexes_by_table.get_mut(&index.table) {
            keys.remove(key);
        }
        Some(index)
    }

    fn index_keys_on(&self, table: &QualifiedName) -> Vec<Key> {
        self.indexes_by_table.get(table).map(|keys| keys.iter().cloned().collect()).unwrap_or_default()
    }

    /// Adds a table that exists in the database (read live, not replayed).
    pub fn insert_existing_table(&mut self, table: Table) {
        self.tables.insert(table.name.clone(), table);
    }

    /// Adds an index that exists in the database.
    pub fn insert_existing_index(&mut self, index: Index) {
        self.insert_index(index_key(&index.table, &index.name), index);
    }

    /// Was the table created by this migration (and so is still empty while it runs)?
    pub fn created_in(&self, table: &QualifiedName, migration: usize) -> bool {
        self.table(table).and_then(|t| t.origin).is_some_and(|o| o.migration == migration)
    }

    /// Did this migration add a column to the table that fails on any row? Where it succeeds,
    /// the table was empty. (Still, unlike a table it created, others may be using it.)
    pub fn proven_empty_in(&self, table: &QualifiedName, migration: usize) -> bool {
        self.table(table).is_some_and(|t| t.proven_empty_in == Some(migration))
    }

    /// Did this migration delete every row of the table, and write none since?
    pub fn emptied_in(&self, table: &QualifiedName, migration: usize) -> bool {
        self.table(table).is_some_and(|t| t.emptied_in == Some(migration))
    }

    /// Do some index's leading columns equal `columns` (in any order)?
    pub fn has_index_covering(&self, table: &QualifiedName, columns: &[String]) -> bool {
        self.indexes_on(table).any(|index| {
            index.valid
                && !index.partial
                && index.columns.len() >= columns.len()
                && index.columns[..columns.len()].iter().all(|c| c.as_ref().is_some_and(|c| columns.contains(c)))
        })
    }

    /// Replays one op into the schema.
    pub fn apply(&mut self, op: &OpKind, origin: Origin) {
        use OpKind::*;
        match op {
            // IF NOT EXISTS of a table that is there does nothing.
            CreateTable { table, if_not_exists: true, .. } if self.tables.contains_key(table) => {}
            CreateTable { table, columns, constraints, partitioned, .. } => {
                self.create_table(table, columns, constraints, *partitioned, origin)
            }
            CreateTableAs { table, .. } => {
                // As for CREATE TABLE: a new relation has no indexes.
                self.drop_relation(table);
                let mut created = new_table(table, Some(origin), false);
                created.maybe_filled = true;
                self.tables.insert(table.clone(), created);
            }
            DataChange { kind, table, .. } if kind.may_add_rows() => match table {
                Some(table) => self.table_mut(table).filled(),
                None => self.tables.values_mut().for_each(Table::filled),
            },
            DataChange { kind: DataChangeKind::Delete, table: Some(table), has_where: false } => {
                self.table_mut(table).emptied_in = Some(origin.migration)
            }
            Truncate { tables, .. } => {
                tables.iter().for_each(|t| self.table_mut(t).emptied_in = Some(origin.migration))
            }
            // What a statement lockgate could not read does is unknown: it may write anywhere.
            Opaque { .. } | Unparsed { .. } => self.tables.values_mut().for_each(Table::filled),
            DropTable { tables, .. } => tables.iter().for_each(|table| self.drop_relation(table)),
            // A materialized view is kept as a table (it has rows and indexes); so is a view.
            Drop { object: DroppedObject::View | DroppedObject::MaterializedView, names } => {
                names.iter().for_each(|name| self.drop_relation(&QualifiedName::parse_dotted(name)))
            }
            RenameTable { table, new_name } => self.rename_table(table, new_name),
            RenameSequence { sequence, new_name } => {
                let renamed = QualifiedName::new(sequence.schema.clone(), new_name);
                for column in self.tables.values_mut().flat_map(|t| t.columns.iter_mut()) {
                    if column.owned_sequence.as_ref() == Some(sequence) {
                        column.owned_sequence = Some(renamed.clone());
                    }
                }
            }
            AddColumn { table, column } => {
                let t = self.table_mut(table);
                t.columns.retain(|c| c.name != column.name);
                t.columns.push(column_from(table, column));
                if column.fails_on_rows() {
                    t.proven_empty_in = Some(origin.migration);
                }
                for constraint in &column.constraints {
                    self.add_constraint(table, constraint, Some(origin));
                }
            }
            DropColumn { table, column, .. } => self.drop_column(table, column),
            RenameColumn { table, column, new_name, .. } => self.rename_column(table, column, new_name),
            AlterColumnType { table, column, new_type, .. } => {
                if let Some(c) = self.table_mut(table).column_mut(column) {
                    c.ty = new_type.clone();
                }
            }
            SetNotNull { table, column } => self.set_not_null(table, column, true),
            DropNotNull { table, column, .. } => self.set_not_null(table, column, false),
            Setting { name, value, local } if name.eq_ignore_ascii_case("timezone") => {
                if *local {
                    self.local_time_zone = value.clone();
                } else {
                    // A plain SET inside the transaction replaces a SET LOCAL made before it.
                    self.local_time_zone = None;
                    self.session_time_zone = value.clone();
                }
            }
            // SET LOCAL lasts until the end of its transaction.
            Transaction(TransactionControl::Commit | TransactionControl::Rollback) => self.local_time_zone = None,
            SetDefault { table, column, default, .. } => {
                if let Some(c) = self.table_mut(table).column_mut(column) {
                    c.default = default.clone();
                }
            }
            AddConstraint { table, constraint, .. } => self.add_constraint(table, constraint, Some(origin)),
            ValidateConstraint { table, name } => {
                let t = self.table_mut(table);
                let Some(c) = t.constraints.iter_mut().find(|c| &c.name == name) else { return };
                c.validated = true;
                // PostgreSQL 18: a validated NOT NULL constraint makes the column NOT NULL.
                if let ConstraintKind::NotNull { column } = c.kind.clone() {
                    if let Some(col) = t.column_mut(&column) {
                        col.not_null = true;
                    }
                }
            }
            DropConstraint { table, name, .. } => {
                self.table_mut(table).constraints.retain(|c| &c.name != name);
                self.remove_index(&index_key(table, name));
            }
            RenameConstraint { table, name, new_name } => {
                if let Some(c) = self.table_mut(table).constraints.iter_mut().find(|c| &c.name == name) {
                    c.name = new_name.clone();
                }
                if let Some(mut index) = self.remove_index(&index_key(table, name)) {
                    index.name = new_name.clone();
                    self.insert_index(index_key(table, new_name), index);
                }
            }
            CreateIndex { name, table, columns, unique, partial, reads, .. } => {
                self.table_mut(table);
                let name = name.clone().unwrap_or_else(|| default_index_name(table, columns));
                self.insert_index(
                    index_key(table, &name),
                    Index {
                        name,
                        table: table.clone(),
                        columns: columns.clone(),
                        reads: reads.clone(),
                        unique: *unique,
                        partial: *partial,
                        valid: true,
                        origin: Some(origin),
                    },
                );
            }
            DropIndex { indexes, .. } => {
                for index in indexes {
                    self.remove_index(index);
                }
            }
            RenameIndex { index, new_name, .. } => {
                if let Some(mut i) = self.remove_index(index) {
                    i.name = new_name.clone();
                    let key = index_key(&i.table, new_name);
                    self.insert_index(key, i);
                }
            }
            _ => {}
        }
    }

    fn table_mut(&mut self, name: &QualifiedName) -> &mut Table {
        self.tables.entry(name.clone()).or_insert_with(|| new_table(name, None, false))
    }

    fn create_table(
        &mut self,
        name: &QualifiedName,
        columns: &[ColumnDef],
        constraints: &[ConstraintDef],
        partitioned: bool,
        origin: Origin,
    ) {
        // A new relation has no indexes: any the schema still lists under its name belonged to
        // one dropped in a way the replay cannot follow (DROP … CASCADE through a view).
        self.drop_relation(name);
        let mut table = new_table(name, Some(origin), true);
        table.partitioned = partitioned;
        table.columns = columns.iter().map(|c| column_from(name, c)).collect();
        self.tables.insert(name.clone(), table);
        for constraint in columns.iter().flat_map(|c| &c.constraints).chain(constraints) {
            self.add_constraint(name, constraint, Some(origin));
        }
    }

    fn add_constraint(&mut self, table: &QualifiedName, def: &ConstraintDef, origin: Option<Origin>) {
        let def = &self.with_index_columns(table, def);
        let name = def.name.clone().unwrap_or_else(|| default_constraint_name(table, def));
        let t = self.table_mut(table);
        match &def.kind {
            ConstraintKind::PrimaryKey { columns, .. } => {
                for column in columns {
                    if let Some(c) = t.column_mut(column) {
                        c.not_null = true;
                    }
                }
            }
            ConstraintKind::NotNull { column } if !def.not_valid => {
                if let Some(c) = t.column_mut(column) {
                    c.not_null = true;
                }
            }
            _ => {}
        }
        t.constraints.retain(|c| c.name != name);
        t.constraints.push(Constraint {
            name: name.clone(),
            kind: def.kind.clone(),
            validated: !def.not_valid,
            origin,
        });
        if let ConstraintKind::Unique { columns, using_index } | ConstraintKind::PrimaryKey { columns, using_index } =
            &def.kind
        {
            if let Some(index) = using_index {
                // The index is renamed to the constraint's name.
                self.remove_index(&index_key(table, index));
            }
            self.insert_index(
                index_key(table, &name),
                Index {
                    name,
                    table: table.clone(),
                    columns: columns.iter().cloned().map(Some).collect(),
                    reads: vec![],
                    unique: true,
                    partial: false,
                    valid: true,
                    origin,
                },
            );
        }
    }

    /// `UNIQUE/PRIMARY KEY USING INDEX i` names no columns: they are the index's.
    fn with_index_columns(&self, table: &QualifiedName, def: &ConstraintDef) -> ConstraintDef {
        let mut def = def.clone();
        if let ConstraintKind::Unique { columns, using_index: Some(index) }
        | ConstraintKind::PrimaryKey { columns, using_index: Some(index) } = &mut def.kind
        {
            if columns.is_empty() {
                if let Some(i) = self.indexes.get(&index_key(table, index)) {
                    *columns = i.columns.iter().flatten().cloned().collect();
                }
            }
        }
        def
    }

    fn rename_table(&mut self, table: &QualifiedName, new_name: &str) {
        let Some(mut t) = self.tables.remove(table) else { return };
        let renamed = QualifiedName::new(table.schema.clone(), new_name);
        t.name = renamed.clone();
        self.tables.insert(renamed.clone(), t);
        for key in self.index_keys_on(table) {
            if let Some(mut index) = self.remove_index(&key) {
                index.table = renamed.clone();
                self.insert_index(key, index);
            }
        }
        let key = table;
        for t in self.tables.values_mut() {
            for c in &mut t.constraints {
                if let ConstraintKind::ForeignKey { references, .. } = &mut c.kind {
                    if references == key {
                        *references = renamed.clone();
                    }
                }
            }
        }
    }

    fn drop_column(&mut self, table: &QualifiedName, column: &str) {
        let t = self.table_mut(table);
        t.columns.retain(|c| c.name != column);
        let uses = |def_columns: Vec<String>| def_columns.iter().any(|c| c == column);
        t.constraints.retain(|c| {
            let def = ConstraintDef { name: None, kind: c.kind.clone(), not_valid: false };
            !uses(def.columns())
        });
        for key in self.index_keys_on(table) {
            if self.indexes.get(&key).is_some_and(|i| i.columns.iter().any(|c| c.as_deref() == Some(column))) {
                self.remove_index(&key);
            }
        }
    }

    fn rename_column(&mut self, table: &QualifiedName, column: &str, new_name: &str) {
        let t = self.table_mut(table);
        if let Some(c) = t.column_mut(column) {
            c.name = new_name.to_string();
        }
        let rename = |c: &mut String| {
            if c == column {
                *c = new_name.to_string();
            }
        };
        for constraint in &mut t.constraints {
            match &mut constraint.kind {
                ConstraintKind::ForeignKey { columns, .. }
                | ConstraintKind::Unique { columns, .. }
                | ConstraintKind::PrimaryKey { columns, .. } => columns.iter_mut().for_each(rename),
                ConstraintKind::Check { not_null_column: Some(c) } | ConstraintKind::NotNull { column: c } => rename(c),
                _ => {}
            }
        }
        for key in self.index_keys_on(table) {
            if let Some(index) = self.indexes.get_mut(&key) {
                index.columns.iter_mut().flatten().for_each(rename);
            }
        }
    }

    fn set_not_null(&mut self, table: &QualifiedName, column: &str, not_null: bool) {
        if let Some(c) = self.table_mut(table).column_mut(column) {
            c.not_null = not_null;
        }
    }
}

fn new_table(name: &QualifiedName, origin: Option<Origin>, complete: bool) -> Table {
    Table {
        name: name.clone(),
        columns: vec![],
        constraints: vec![],
        origin,
        complete,
        partitioned: false,
        proven_empty_in: None,
        maybe_filled: false,
        emptied_in: None,
    }
}

fn column_from(table: &QualifiedName, def: &ColumnDef) -> Column {
    let inline_not_null = def.constraints.iter().any(|c| matches!(c.kind, ConstraintKind::PrimaryKey { .. }));
    Column {
        name: def.name.clone(),
        ty: def.ty.clone(),
        not_null: def.not_null || inline_not_null,
        default: def.default.clone(),
        identity: def.identity,
        generated: def.generated,
        owned_sequence: (def.identity || def.serial)
            .then(|| QualifiedName::new(table.schema.clone(), object_name(&table.name, Some(&def.name), "seq"))),
    }
}

/// The name PostgreSQL gives an object it names itself (`makeObjectName`): `a_b_label` (or
/// `a_label`), the longer of `a` and `b` cut, a byte at a time on character boundaries, until
/// the whole fits in the 63 bytes of a name — the label is always kept.
pub fn object_name(a: &str, b: Option<&str>, label: &str) -> String {
    const MAX: usize = 63;
    let b = b.unwrap_or_default();
    let (mut a_len, mut b_len) = (a.len(), b.len());
    let overhead = label.len() + 1 + usize::from(!b.is_empty());
    while a_len + b_len + overhead > MAX {
        if a_len > b_len {
            a_len -= 1;
        } else {
            b_len -= 1;
        }
    }
    let clip = |s: &str, mut len: usize| {
        while !s.is_char_boundary(len) {
            len -= 1;
        }
        s[..len].to_string()
    };
    match b.is_empty() {
        true => format!("{}_{label}", clip(a, a_len)),
        false => format!("{}_{}_{label}", clip(a, a_len), clip(b, b_len)),
    }
}

fn index_key(table: &QualifiedName, index: &str) -> Key {
    QualifiedName::new(table.schema.clone(), index)
}

/// PostgreSQL's own naming: `<table>_<columns>_<suffix>`, truncated like the server does.
fn pg_name(table: &QualifiedName, columns: &[String], suffix: &str) -> String {
    let columns = columns.join("_");
    object_name(&table.name, (!columns.is_empty()).then_some(columns.as_str()), suffix)
}

pub fn truncate_identifier(mut name: String) -> String {
    const MAX: usize = 63;
    if name.len() > MAX {
        let mut cut = MAX;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
    }
    name
}

pub fn default_constraint_name(table: &QualifiedName, def: &ConstraintDef) -> String {
    match &def.kind {
        ConstraintKind::PrimaryKey { .. } => object_name(&table.name, None, "pkey"),
        ConstraintKind::Unique { columns, .. } => pg_name(table, columns, "key"),
        ConstraintKind::ForeignKey { columns, .. } => pg_name(table, &columns[..1.min(columns.len())], "fkey"),
        ConstraintKind::Check { not_null_column: Some(column) } => {
            pg_name(table, std::slice::from_ref(column), "check")
        }
        ConstraintKind::NotNull { column } => pg_name(table, std::slice::from_ref(column), "not_null"),
        ConstraintKind::Check { .. } => pg_name(table, &[], "check"),
        ConstraintKind::Exclusion => pg_name(table, &[], "excl"),
    }
}

pub fn default_index_name(table: &QualifiedName, columns: &[Option<String>]) -> String {
    let names: Vec<String> = columns.iter().map(|c| c.clone().unwrap_or_else(|| "expr".into())).collect();
    pg_name(table, &names, "idx")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(catalog: &mut Catalog, zone: Option<&str>, local: bool) {
        let op = OpKind::Setting { name: "timezone".into(), value: zone.map(str::to_string), local };
        catalog.apply(&op, Origin { migration: 0, statement: 0 });
    }

    fn end_transaction(catalog: &mut Catalog) {
        catalog.apply(&OpKind::Transaction(TransactionControl::Commit), Origin { migration: 0, statement: 0 });
    }

    #[test]
    fn the_session_time_zone_lasts_as_long_as_postgresql_keeps_it() {
        let mut catalog = Catalog::default();
        catalog.set_server_time_zone(Some("Europe/Paris".into()));
        assert_eq!(catalog.time_zone(), Some("Europe/Paris"));
        set(&mut catalog, Some("UTC"), true);
        assert_eq!(catalog.time_zone(), Some("UTC"));
        end_transaction(&mut catalog);
        assert_eq!(catalog.time_zone(), Some("Europe/Paris"), "SET LOCAL ends with its transaction");
        set(&mut catalog, Some("UTC"), false);
        end_transaction(&mut catalog);
        assert_eq!(catalog.time_zone(), Some("UTC"), "SET lasts for the session");
        set(&mut catalog, Some("Asia/Tokyo"), true);
        assert_eq!(catalog.time_zone(), Some("Asia/Tokyo"));
        end_transaction(&mut catalog);
        assert_eq!(catalog.time_zone(), Some("UTC"), "after a SET LOCAL, the session's own setting is back");
        set(&mut catalog, None, false);
        assert_eq!(catalog.time_zone(), Some("Europe/Paris"), "RESET returns to the server's");
        set(&mut catalog, Some("UTC"), false);
        catalog.start_session();
        assert_eq!(catalog.time_zone(), Some("Europe/Paris"), "the next migration is a new session");
    }
}
