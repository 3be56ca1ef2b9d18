//! One row in each table the migrations create, so that scans and rewrites of it are
//! observable: an empty table's rewrite leaves an empty file, which looks like a TRUNCATE.
//!
//! The values come from the column types as the server reports them (`pg_attribute`), not from
//! the migrations: defaults, identities and generated columns are left to the server; a
//! single-column foreign key takes a value of the referenced table (seeded before it).

use std::fmt::Write as _;

use crate::ir::{quote_resolved, QualifiedName};
use crate::live::{describe, Session};

use super::observe::Database;

/// Why a table could not be seeded, or its row not removed again; trace notes it and goes on.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The server refused a statement of the seed: its message.
    #[error("{0}")]
    Server(String),
    #[error("the table is gone")]
    TableGone,
    #[error("the insert returned no row")]
    NoRowReturned,
    /// A NOT NULL column without a default, of a type no literal is known for.
    #[error("no value for column {column} of type {ty}")]
    NoValue { column: String, ty: String },
}

impl From<tokio_postgres::Error> for SeedError {
    fn from(error: tokio_postgres::Error) -> SeedError {
        SeedError::Server(describe(&error))
    }
}

/// A row trace inserted, and how to find it again.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// The table's name when the row went in.
    pub table: QualifiedName,
    /// The table itself, which later migrations may rename.
    oid: u32,
    /// A condition true of that row only: its primary key, or its `ctid` in a table without one.
    row: String,
}

impl Seeded {
    /// Deletes the row again, from the table under its name of now.
    pub fn remove(&self, db: &mut Session) -> Result<(), SeedError> {
        let name = db.query(&format!("SELECT {}::regclass::text", self.oid))?;
        let name: String = name.first().map(|r| r.get(0)).ok_or(SeedError::TableGone)?;
        Ok(db.execute(&format!("DELETE FROM {name} WHERE {}", self.row))?)
    }
}

/// Inserts one row into `table`; inside a transaction, under a savepoint, so that a row the
/// table's constraints refuse leaves the migration's transaction usable.
pub fn one_row(db: &mut Session, table: &QualifiedName, major: u32, in_transaction: bool) -> Result<Seeded, SeedError> {
    let insert = format!("{} RETURNING {}, tableoid::oid", insert_for(db, table, major)?, row_condition(db, table)?);
    let run = |db: &mut Session| -> Result<Seeded, SeedError> {
        let rows = db.query(&insert)?;
        let inserted = rows.first().ok_or(SeedError::NoRowReturned)?;
        Ok(Seeded { table: table.clone(), row: inserted.get(0), oid: inserted.get(1) })
    };
    if !in_transaction {
        return run(db);
    }
    db.execute("SAVEPOINT lockgate_seed")?;
    match run(db) {
        Ok(seeded) => {
            db.execute("RELEASE SAVEPOINT lockgate_seed")?;
            Ok(seeded)
        }
        Err(error) => {
            let _ = db.execute("ROLLBACK TO SAVEPOINT lockgate_seed; RELEASE SAVEPOINT lockgate_seed");
            Err(error)
        }
    }
}

/// The SQL expression that, returned by the insert, spells a condition true of the new row only.
fn row_condition(db: &mut Session, table: &QualifiedName) -> Result<String, SeedError> {
    let literal_name = format!("'{}'", quote_resolved(table).replace('\'', "''"));
    let query = format!(
        "SELECT quote_ident(a.attname) FROM pg_index i \
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
         WHERE i.indrelid = {literal_name}::regclass AND i.indisprimary ORDER BY a.attnum"
    );
    let key: Vec<String> = db.query(&query)?.iter().map(|r| r.get(0)).collect();
    if key.is_empty() {
        return Ok("format('ctid = %L', ctid)".into());
    }
    let parts: Vec<String> =
        key.iter().map(|column| format!("format('%s = %L', '{}', {column})", column.replace('\'', "''"))).collect();
    Ok(format!("concat_ws(' AND ', {})", parts.join(", ")))
}

fn insert_for(db: &mut Session, table: &QualifiedName, major: u32) -> Result<String, SeedError> {
    let name = quote_resolved(table);
    // attgenerated exists from PostgreSQL 12.
    let generated = if major >= 12 { "a.attgenerated <> ''" } else { "false" };
    let literal_name = format!("'{}'", name.replace('\'', "''"));
    let query = format!(
        "SELECT quote_ident(a.attname), format_type(a.atttypid, a.atttypmod), \
                coalesce(b.typcategory, t.typcategory)::text, coalesce(b.typname, t.typname)::text, \
                a.attnotnull, a.atthasdef OR a.attidentity <> '' OR {generated}, \
                (SELECT quote_literal(e.enumlabel) FROM pg_enum e \
                  WHERE e.enumtypid = coalesce(b.oid, t.oid) ORDER BY e.enumsortorder LIMIT 1), \
                (SELECT format('(SELECT %I FROM %s LIMIT 1)', r.attname, c.confrelid::regclass) \
                   FROM pg_constraint c JOIN pg_attribute r ON r.attrelid = c.confrelid AND r.attnum = c.confkey[1] \
                  WHERE c.conrelid = a.attrelid AND c.contype = 'f' AND c.conkey = ARRAY[a.attnum] LIMIT 1), \
                a.attidentity::text, coalesce(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%', false) \
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
         LEFT JOIN pg_type b ON t.typtype = 'd' AND b.oid = t.typbasetype \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE a.attrelid = {literal_name}::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
    );
    let rows = db.query(&query)?;
    let mut columns = vec![];
    let mut values = vec![];
    let mut overriding = false;
    for row in &rows {
        let (column, ty, category, base): (String, String, String, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        let (not_null, has_default): (bool, bool) = (row.get(4), row.get(5));
        let (enum_label, referenced): (Option<String>, Option<String>) = (row.get(6), row.get(7));
        let (identity, from_sequence): (String, bool) = (row.get(8), row.get(9));
        // A serial or identity column takes the seed's integer, not the sequence's next value:
        // the ids the migrations' own inserts get stay what they would be on a real database
        // (a later `WHERE role_id = 4` means the fourth role they inserted).
        if (!identity.is_empty() || from_sequence) && SEED_INTEGER_TYPES.contains(&base.as_str()) {
            overriding |= identity == "a";
            columns.push(column);
            values.push(SEED_INTEGER.to_string());
            continue;
        }
        if has_default {
            continue;
        }
        let value = match (referenced, enum_label) {
            (Some(referenced), _) => Some(referenced),
            (None, Some(label)) => Some(format!("{label}::{ty}")),
            (None, None) => literal(&category, &base).map(|l| format!("'{l}'::{ty}")),
        };
        match value {
            Some(value) => {
                columns.push(column);
                values.push(value);
            }
            None if not_null => return Err(SeedError::NoValue { column, ty }),
            None => {}
        }
    }
    let mut insert = format!("INSERT INTO {name} ");
    if columns.is_empty() {
        insert.push_str("DEFAULT VALUES");
    } else {
        let overriding = if overriding { "OVERRIDING SYSTEM VALUE " } else { "" };
        let _ = write!(insert, "({}) {overriding}VALUES ({})", columns.join(", "), values.join(", "));
    }
    Ok(insert)
}

/// The integer every seeded integer column holds: far from the ids a sequence hands out to the
/// migrations' own rows, within every integer type, and the same in each table, so that a
/// foreign key added later finds its seeded parent row.
const SEED_INTEGER: &str = "32767";
const SEED_INTEGER_TYPES: [&str; 3] = ["int2", "int4", "int8"];

/// A literal of the type, by its category (`pg_type.typcategory`) and base type name.
fn literal(category: &str, base: &str) -> Option<&'static str> {
    Some(match (category, base) {
        ("N", "int2" | "int4" | "int8") => SEED_INTEGER,
        ("N", _) => "1",
        ("S", _) => "x",
        ("B", _) => "true",
        ("D", "time" | "timetz") => "00:00",
        ("D", _) => "2000-01-01",
        ("T", _) => "1 day",
        ("I", _) => "127.0.0.1",
        ("A", _) => "{}",
        ("V", _) => "1",
        ("U", "uuid") => "00000000-0000-0000-0000-000000000001",
        ("U", "json" | "jsonb") => "{}",
        ("U", "bytea") => "",
        _ => return None,
    })
}
