//! The catalog facts that show a step already ran, checked just before it would run.

use crate::live::history::Runner;
use crate::live::Session;
use crate::plan::Fact;

use super::ExecError;

pub fn holds(session: &Session, fact: &Fact) -> Result<bool, ExecError> {
    let failed = |source| ExecError::Fact { fact: describe(fact), source };
    let (sql, params): (&str, Vec<&str>) = match fact {
        Fact::TableExists { schema, table } => (TABLE, vec![schema, table]),
        Fact::TableAbsent { schema, table } => {
            return holds(session, &Fact::TableExists { schema: schema.clone(), table: table.clone() }).map(|b| !b)
        }
        Fact::ColumnExists { schema, table, column } => (COLUMN, vec![schema, table, column]),
        Fact::ColumnAbsent { schema, table, column } => {
            let exists = Fact::ColumnExists { schema: schema.clone(), table: table.clone(), column: column.clone() };
            return holds(session, &exists).map(|b| !b);
        }
        Fact::ColumnNotNull { schema, table, column } => (NOT_NULL, vec![schema, table, column]),
        Fact::IndexValid { schema, index } => (INDEX_VALID, vec![schema, index]),
        Fact::IndexAbsent { schema, index } => (INDEX_ABSENT, vec![schema, index]),
        Fact::ConstraintExists { schema, table, constraint } => (CONSTRAINT, vec![schema, table, constraint]),
        Fact::ConstraintValidated { schema, table, constraint } => (VALIDATED, vec![schema, table, constraint]),
        Fact::Recorded { runner, key } => {
            let history = crate::live::history::History::read(session).map_err(failed)?;
            return Ok(history.records(*runner, key));
        }
        Fact::ConstraintAbsent { schema, table, constraint } => {
            let exists =
                Fact::ConstraintExists { schema: schema.clone(), table: table.clone(), constraint: constraint.clone() };
            return holds(session, &exists).map(|b| !b);
        }
    };
    let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
        params.iter().map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync)).collect();
    let rows = session.query("step precondition", sql, &params).map_err(failed)?;
    Ok(rows.first().is_some_and(|r| r.get::<_, bool>(0)))
}

pub fn describe(fact: &Fact) -> String {
    match fact {
        Fact::TableExists { schema, table } => format!("table {schema}.{table} exists"),
        Fact::TableAbsent { schema, table } => format!("table {schema}.{table} is gone"),
        Fact::ColumnExists { schema, table, column } => format!("column {schema}.{table}.{column} exists"),
        Fact::ColumnAbsent { schema, table, column } => format!("column {schema}.{table}.{column} is gone"),
        Fact::ColumnNotNull { schema, table, column } => format!("{schema}.{table}.{column} is NOT NULL"),
        Fact::IndexValid { schema, index } => format!("index {schema}.{index} exists and is valid"),
        Fact::IndexAbsent { schema, index } => format!("index {schema}.{index} is gone"),
        Fact::ConstraintExists { table, constraint, .. } => format!("constraint {constraint} on {table} exists"),
        Fact::ConstraintValidated { table, constraint, .. } => {
            format!("constraint {constraint} on {table} is validated")
        }
        Fact::ConstraintAbsent { table, constraint, .. } => format!("constraint {constraint} on {table} is gone"),
        Fact::Recorded { runner: Runner::Django, key } => format!("django_migrations records {key}"),
        Fact::Recorded { runner: Runner::Alembic, key } => format!("alembic_version holds {key}"),
        Fact::Recorded { runner, key } => format!("the {runner:?} history table records {key}"),
    }
}

const TABLE: &str = "SELECT EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p'))";

const COLUMN: &str = "SELECT EXISTS (SELECT FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $1 AND c.relname = $2 AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped)";

const NOT_NULL: &str = "SELECT EXISTS (SELECT FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $1 AND c.relname = $2 AND a.attname = $3 AND a.attnotnull)";

const INDEX_VALID: &str = "SELECT EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND i.indisvalid)";

const INDEX_ABSENT: &str = "SELECT NOT EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('i', 'I'))";

const CONSTRAINT: &str = "SELECT EXISTS (SELECT FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid \
     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND con.conname = $3)";

const VALIDATED: &str = "SELECT EXISTS (SELECT FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $1 AND c.relname = $2 AND con.conname = $3 AND con.convalidated)";
