//! The live schema and its sizes, read from the system catalogs and statistics views (cheap
//! reads: no `count(*)`, nothing that scans a user table), into the same `Catalog` a replay
//! builds.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::{LiveError, Server, Session};
use crate::catalog::{Catalog, Column, Constraint, Index, Table};
use crate::ir::{ConstraintKind, DefaultExpr, Generated, QualifiedName, SqlType};
use crate::postgres::canonical_type_name;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LiveSchema {
    pub tables: Vec<LiveTable>,
    pub indexes: Vec<LiveIndex>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveTable {
    pub schema: String,
    pub name: String,
    pub partitioned: bool,
    pub columns: Vec<LiveColumn>,
    pub constraints: Vec<LiveConstraint>,
    pub stats: TableStats,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub modifiers: Vec<i64>,
    pub array: bool,
    pub not_null: bool,
    pub default: Option<String>,
    pub identity: bool,
    /// `s` stored, `v` virtual (PostgreSQL 18), empty when not generated.
    pub generated: String,
    /// Average stored width in bytes (`pg_stats.avg_width`), when analyzed.
    pub avg_width: Option<i32>,
    /// The sequence the column owns (a serial or identity column's), as schema and name.
    #[serde(default)]
    pub owned_sequence: Option<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveConstraint {
    pub name: String,
    /// `p`rimary key, `u`nique, `f`oreign key, `c`heck, e`x`clusion, `n`ot null.
    pub kind: String,
    pub columns: Vec<String>,
    pub validated: bool,
    /// Foreign keys: the referenced table and columns.
    pub references: Option<(String, String)>,
    pub referenced_columns: Vec<String>,
    /// `pg_get_constraintdef`.
    pub definition: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveIndex {
    pub schema: String,
    pub table: String,
    pub name: String,
    /// Key columns; `None` for an expression.
    pub columns: Vec<Option<String>>,
    pub unique: bool,
    pub partial: bool,
    pub valid: bool,
    pub method: String,
    pub bytes: u64,
}

/// Sizes of one table, from `pg_class` and the statistics views.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TableStats {
    /// `pg_class.reltuples`; -1 when never vacuumed or analyzed (PostgreSQL 14+).
    pub reltuples: f64,
    pub relpages: u64,
    /// `pg_stat_user_tables.n_live_tup`.
    pub live_rows: u64,
    /// Main fork bytes (`pg_relation_size`, or `relpages` × block size when the exact size
    /// could not be read without waiting for a lock).
    pub heap_bytes: u64,
    /// Heap, TOAST and maps (`pg_table_size`).
    pub table_bytes: u64,
    pub index_bytes: u64,
    /// Each analyzed column's average width in bytes (`pg_stats.avg_width`), by name: what an
    /// index on it sorts and writes per row. Derived from the columns (`LiveSchema::stats_by_table`),
    /// so a statistics file gives the same widths as the live database.
    #[serde(skip)]
    pub column_widths: BTreeMap<String, u64>,
}

impl TableStats {
    /// Best row estimate: the planner's, else the statistics collector's, else one guessed
    /// from the size at 100 bytes per row.
    pub fn rows(&self) -> u64 {
        if self.reltuples > 0.0 {
            self.reltuples.round() as u64
        } else if self.live_rows > 0 {
            self.live_rows
        } else {
            self.heap_bytes / 100
        }
    }
}

impl LiveSchema {
    pub fn read(session: &Session, server: &Server) -> Result<LiveSchema, LiveError> {
        let mut tables = read_tables(session, server)?;
        let by_oid: HashMap<u32, usize> = tables.iter().enumerate().map(|(i, (oid, _))| (*oid, i)).collect();
        let mut attnames: HashMap<(u32, i16), String> = HashMap::new();
        for row in session.query("columns", COLUMNS, &[])? {
            let oid: u32 = row.get(0);
            let Some(&t) = by_oid.get(&oid) else { continue };
            let column = column_from(&row);
            attnames.insert((oid, row.get(1)), column.name.clone());
            tables[t].1.columns.push(column);
        }
        let names: HashMap<u32, (String, String)> =
            tables.iter().map(|(oid, t)| (*oid, (t.schema.clone(), t.name.clone()))).collect();
        let name_of = |oid: u32, numbers: &[i16]| -> Vec<String> {
            numbers.iter().filter_map(|n| attnames.get(&(oid, *n)).cloned()).collect()
        };
        for row in session.query("constraints", CONSTRAINTS, &[])? {
            let oid: u32 = row.get(0);
            let Some(&t) = by_oid.get(&oid) else { continue };
            let referenced: Option<u32> = row.get(5);
            let referenced_numbers: Option<Vec<i16>> = row.get(6);
            let constraint = LiveConstraint {
                name: row.get(1),
                kind: row.get(2),
                validated: row.get(3),
                columns: name_of(oid, &row.get::<_, Option<Vec<i16>>>(4).unwrap_or_default()),
                references: referenced.filter(|r| *r != 0).and_then(|r| names.get(&r).cloned()),
                referenced_columns: referenced
                    .map(|r| name_of(r, &referenced_numbers.unwrap_or_default()))
                    .unwrap_or_default(),
                definition: row.get(7),
            };
            tables[t].1.constraints.push(constraint);
        }
        let mut indexes = vec![];
        for row in session.query("indexes", INDEXES, &[])? {
            let oid: u32 = row.get(0);
            let Some((schema, table)) = names.get(&oid).cloned() else { continue };
            let keys: Vec<i16> = row.get(2);
            let pages: i64 = row.get(7);
            indexes.push(LiveIndex {
                schema,
                table,
                name: row.get(1),
                columns: keys.iter().map(|n| attnames.get(&(oid, *n)).cloned()).collect(),
                unique: row.get(3),
                partial: row.get(4),
                valid: row.get(5),
                method: row.get(6),
                bytes: pages.max(0) as u64 * server.block_size,
            });
        }
        let tables = tables.into_iter().map(|(_, table)| table).collect();
        Ok(LiveSchema { tables, indexes })
    }

    /// The schema as a catalog: every object exists already (no origin), so lint rules and
    /// estimates treat it as data-bearing.
    pub fn catalog(&self) -> Catalog {
        let mut catalog = Catalog::default();
        for table in &self.tables {
            catalog.insert_existing_table(table.to_catalog());
        }
        for index in &self.indexes {
            catalog.insert_existing_index(Index {
                name: index.name.clone(),
                table: qualified(&index.schema, &index.table),
                columns: index.columns.clone(),
                // What a live index's expressions read is not read from the server (a gap).
                reads: vec![],
                unique: index.unique,
                partial: index.partial,
                valid: index.valid,
                origin: None,
            });
        }
        catalog
    }

    /// Each table's sizes, with the widths of its analyzed columns.
    pub fn stats_by_table(&self) -> HashMap<QualifiedName, TableStats> {
        self.tables
            .iter()
            .map(|t| {
                let mut stats = t.stats.clone();
                stats.column_widths =
                    t.columns.iter().filter_map(|c| Some((c.name.clone(), c.avg_width?.max(0) as u64))).collect();
                (qualified(&t.schema, &t.name), stats)
            })
            .collect()
    }
}

pub fn qualified(schema: &str, name: &str) -> QualifiedName {
    QualifiedName::new(Some(schema.to_string()), name)
}

impl LiveTable {
    fn to_catalog(&self) -> Table {
        let mut columns: Vec<Column> = self.columns.iter().map(LiveColumn::to_catalog).collect();
        let mut constraints = vec![];
        for constraint in &self.constraints {
            match constraint.to_catalog() {
                // Before PostgreSQL 18 NOT NULL is a column flag; from 18 every NOT NULL column
                // also has a constraint, which only matters while it is not validated.
                Some(c) if matches!(c.kind, ConstraintKind::NotNull { .. }) && c.validated => {}
                Some(c) => constraints.push(c),
                None => {}
            }
        }
        for column in &mut columns {
            let in_key = self.constraints.iter().any(|c| c.kind == "p" && c.columns.contains(&column.name));
            column.not_null |= in_key;
        }
        Table {
            partitioned: self.partitioned,
            ..Table::existing(qualified(&self.schema, &self.name), columns, constraints)
        }
    }
}

impl LiveColumn {
    fn to_catalog(&self) -> Column {
        let default = self.default.as_ref().map(|text| {
            // Sequences and per-row functions: `nextval(…)`, `gen_random_uuid()`.
            let volatile = ["nextval(", "random(", "uuid", "clock_timestamp("].iter().any(|f| text.contains(f));
            if volatile {
                DefaultExpr::Volatile(text.clone())
            } else {
                DefaultExpr::Stable(text.clone())
            }
        });
        Column {
            name: self.name.clone(),
            ty: SqlType { name: self.ty.clone(), modifiers: self.modifiers.clone(), array: self.array },
            not_null: self.not_null,
            default,
            identity: self.identity,
            generated: match self.generated.as_str() {
                "s" => Some(Generated::Stored),
                "v" => Some(Generated::Virtual),
                _ => None,
            },
            owned_sequence: self
                .owned_sequence
                .as_ref()
                .map(|(schema, name)| QualifiedName::new(Some(schema.clone()), name)),
        }
    }
}

impl LiveConstraint {
    fn to_catalog(&self) -> Option<Constraint> {
        let kind = match self.kind.as_str() {
            "p" => ConstraintKind::PrimaryKey { columns: self.columns.clone(), using_index: None },
            "u" => ConstraintKind::Unique { columns: self.columns.clone(), using_index: None },
            "f" => ConstraintKind::ForeignKey {
                columns: self.columns.clone(),
                references: self.references.as_ref().map(|(s, n)| qualified(s, n))?,
                referenced_columns: self.referenced_columns.clone(),
            },
            "c" => ConstraintKind::Check { not_null_column: not_null_check_column(&self.definition) },
            "x" => ConstraintKind::Exclusion,
            "n" => ConstraintKind::NotNull { column: self.columns.first()?.clone() },
            _ => return None,
        };
        Some(Constraint { name: self.name.clone(), kind, validated: self.validated, origin: None })
    }
}

/// `CHECK ((col IS NOT NULL))` (as `pg_get_constraintdef` prints it) → `col`.
fn not_null_check_column(definition: &str) -> Option<String> {
    let inner = definition.strip_prefix("CHECK ((")?;
    let inner = inner.split(" IS NOT NULL))").next().filter(|_| inner.contains(" IS NOT NULL))"))?;
    match inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(quoted) => Some(quoted.replace("\"\"", "\"")),
        None => (!inner.contains([' ', '(', ')'])).then(|| inner.to_string()),
    }
}

/// Schemas that belong to PostgreSQL, not to the application.
const USER_RELATIONS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' \
     AND c.relkind IN ('r', 'p') AND NOT c.relispartition";

fn read_tables(session: &Session, server: &Server) -> Result<Vec<(u32, LiveTable)>, LiveError> {
    let sql = format!(
        "SELECT c.oid, n.nspname::text, c.relname::text, c.relkind = 'p', c.reltuples::float8, c.relpages::int8, \
                COALESCE(s.n_live_tup, 0)::int8, \
                COALESCE((SELECT sum(ic.relpages) FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid \
                          WHERE i.indrelid = c.oid), 0)::int8 \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid \
         WHERE {USER_RELATIONS} ORDER BY n.nspname, c.relname"
    );
    let mut tables: Vec<(u32, LiveTable)> = session
        .query("tables", &sql, &[])?
        .into_iter()
        .map(|row| {
            let pages = row.get::<_, i64>(5).max(0) as u64;
            let index_pages = row.get::<_, i64>(7).max(0) as u64;
            let stats = TableStats {
                reltuples: row.get(4),
                relpages: pages,
                live_rows: row.get::<_, i64>(6).max(0) as u64,
                heap_bytes: pages * server.block_size,
                table_bytes: pages * server.block_size,
                index_bytes: index_pages * server.block_size,
                column_widths: BTreeMap::new(),
            };
            let table = LiveTable {
                schema: row.get(1),
                name: row.get(2),
                partitioned: row.get(3),
                columns: vec![],
                constraints: vec![],
                stats,
            };
            (row.get(0), table)
        })
        .collect();
    exact_sizes(session, &mut tables);
    Ok(tables)
}

/// `pg_relation_size` is exact where `relpages` is as old as the last VACUUM, but it takes
/// ACCESS SHARE on the table; with the session's short lock_timeout a table that a migration
/// holds keeps its `relpages` figure instead of making us wait.
fn exact_sizes(session: &Session, tables: &mut [(u32, LiveTable)]) {
    let sql = format!(
        "SELECT c.oid, pg_relation_size(c.oid), pg_table_size(c.oid), pg_indexes_size(c.oid) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER_RELATIONS}"
    );
    let Ok(rows) = session.query("table sizes", &sql, &[]) else { return };
    let sizes: HashMap<u32, (i64, i64, i64)> =
        rows.iter().map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3)))).collect();
    for (oid, table) in tables {
        if let Some(&(heap, total, indexes)) = sizes.get(oid) {
            table.stats.heap_bytes = heap.max(0) as u64;
            table.stats.table_bytes = total.max(0) as u64;
            table.stats.index_bytes = indexes.max(0) as u64;
        }
    }
}

const COLUMNS: &str = "SELECT a.attrelid, a.attnum, a.attname::text, \
        CASE WHEN t.typcategory = 'A' THEN et.typname ELSE t.typname END::text, \
        t.typcategory = 'A', a.atttypmod, a.attnotnull, pg_get_expr(d.adbin, d.adrelid), \
        a.attidentity <> '', COALESCE(to_jsonb(a) ->> 'attgenerated', ''), st.avg_width, \
        (SELECT ARRAY[sn.nspname::text, s.relname::text] FROM pg_depend dep \
           JOIN pg_class s ON s.oid = dep.objid AND s.relkind = 'S' JOIN pg_namespace sn ON sn.oid = s.relnamespace \
          WHERE dep.classid = 'pg_class'::regclass AND dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum \
            AND dep.deptype IN ('a', 'i') LIMIT 1) \
     FROM pg_attribute a \
     JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type et ON et.oid = t.typelem \
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
     LEFT JOIN pg_stats st ON st.schemaname = n.nspname AND st.tablename = c.relname AND st.attname = a.attname \
        AND NOT st.inherited \
     WHERE a.attnum > 0 AND NOT a.attisdropped AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
       AND n.nspname NOT LIKE 'pg\\_toast%' AND c.relkind IN ('r', 'p') \
     ORDER BY a.attrelid, a.attnum";

const CONSTRAINTS: &str = "SELECT con.conrelid, con.conname::text, con.contype::text, con.convalidated, \
        con.conkey, con.confrelid, con.confkey, pg_get_constraintdef(con.oid) \
     FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE con.conrelid <> 0 AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
     ORDER BY con.conrelid, con.conname";

const INDEXES: &str = "SELECT i.indrelid, ic.relname::text, \
        (i.indkey::int2[])[0:i.indnkeyatts - 1], i.indisunique, i.indpred IS NOT NULL, i.indisvalid, \
        am.amname::text, ic.relpages::int8 \
     FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam \
     JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' \
     ORDER BY i.indrelid, ic.relname";

fn column_from(row: &tokio_postgres::Row) -> LiveColumn {
    let raw: String = row.get(3);
    let ty = canonical_type_name(&raw);
    let typmod: i32 = row.get(5);
    LiveColumn {
        name: row.get(2),
        modifiers: modifiers(&ty, typmod),
        ty,
        array: row.get(4),
        not_null: row.get(6),
        default: row.get(7),
        identity: row.get(8),
        generated: row.get(9),
        avg_width: row.get(10),
        owned_sequence: row.get::<_, Option<Vec<String>>>(11).and_then(|names| match names.as_slice() {
            [schema, name] => Some((schema.clone(), name.clone())),
            _ => None,
        }),
    }
}

/// The type modifiers as a migration writes them, from `atttypmod`.
fn modifiers(ty: &str, typmod: i32) -> Vec<i64> {
    if typmod < 0 {
        return vec![];
    }
    let typmod = i64::from(typmod);
    match ty {
        "varchar" | "char" => vec![typmod - 4],
        "numeric" => {
            let packed = typmod - 4;
            let scale = ((packed & 0x7ff) ^ 1024) - 1024;
            vec![(packed >> 16) & 0xffff, scale]
        }
        "timestamp" | "timestamptz" | "time" | "timetz" | "bit" | "varbit" => vec![typmod],
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typmods_decode_like_format_type() {
        assert_eq!(modifiers("varchar", 104), vec![100]);
        assert_eq!(modifiers("numeric", (12 << 16 | 2) + 4), vec![12, 2]);
        assert_eq!(modifiers("timestamptz", 3), vec![3]);
        assert_eq!(modifiers("text", -1), Vec::<i64>::new());
    }

    #[test]
    fn not_null_checks_are_recognised() {
        assert_eq!(not_null_check_column("CHECK ((full_name IS NOT NULL))"), Some("full_name".into()));
        assert_eq!(not_null_check_column("CHECK ((\"Full Name\" IS NOT NULL)) NOT VALID"), Some("Full Name".into()));
        assert_eq!(not_null_check_column("CHECK ((a > 0))"), None);
    }
}
