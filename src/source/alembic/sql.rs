//! The SQL Alembic (SQLAlchemy's PostgreSQL DDL compiler) sends, where it writes differently
//! from Django (see [`crate::source::editor_sql`] for the rest). Its CREATE TABLE is written
//! on one line (SQLAlchemy puts each element on a line of its own).

use std::sync::{Arc, LazyLock};

use crate::ir::{quote_identifier as ident, quote_relation as relation, ColumnDef, ConstraintDef, QualifiedName};
use crate::ir::{Sender, SentStatement};
use crate::source::editor_sql::{self, checked_column, constraint_sql, table_columns, ColumnDdl, Ddl, TableDdl};

/// Alembic's operations, compiled by SQLAlchemy.
#[derive(Debug)]
pub struct Alembic;

/// What writes the SQL Alembic sends for an operation, from how it writes the operation.
pub fn sender(ddl: Ddl) -> Arc<dyn Sender> {
    static PLAIN: LazyLock<Arc<dyn Sender>> = LazyLock::new(|| editor_sql::written(Ddl::Plain, &Alembic));
    editor_sql::sender(ddl, &Alembic, &PLAIN)
}

impl editor_sql::Dialect for Alembic {
    fn foreign_key(&self) -> &'static str {
        "FOREIGN KEY"
    }

    /// `visit_column_name`: `ALTER TABLE t RENAME c TO d`.
    fn rename_column(&self) -> &'static str {
        "RENAME"
    }

    /// `CREATE TABLE t (id SERIAL NOT NULL, …, PRIMARY KEY (id), FOREIGN KEY(a) REFERENCES r (id))`
    /// (`PGDDLCompiler.get_column_specification`, `visit_create_table`).
    fn create_table(
        &self,
        table: &QualifiedName,
        columns: &[ColumnDef],
        constraints: &[ConstraintDef],
        ddl: &TableDdl,
        if_not_exists: bool,
    ) -> Result<Vec<String>, String> {
        if constraints.len() != ddl.constraints.len() {
            return Err("the table's constraints were lowered inconsistently".into());
        }
        let mut elements = vec![];
        for (column, column_ddl) in table_columns(columns, ddl)? {
            let column_ddl = checked_column(column, column_ddl)?;
            no_inline_constraints(column)?;
            elements.push(format!("{} {}", ident(&column.name), column_sql(column, column_ddl)));
        }
        for (constraint, constraint_ddl) in constraints.iter().zip(&ddl.constraints) {
            elements.push(constraint_sql(constraint, constraint_ddl, self)?);
        }
        let exists = if if_not_exists { "IF NOT EXISTS " } else { "" };
        Ok(vec![format!("CREATE TABLE {exists}{} ({})", relation(table), elements.join(", "))])
    }

    fn add_column(&self, table: &QualifiedName, column: &ColumnDef, ddl: &ColumnDdl) -> Result<Vec<String>, String> {
        no_inline_constraints(column)?;
        let head = format!("ALTER TABLE {} ADD COLUMN {}", relation(table), ident(&column.name));
        Ok(vec![format!("{head} {}", column_sql(column, ddl))])
    }

    fn drop_column(&self, _table: &QualifiedName, _column: &str, drop: String) -> Vec<SentStatement> {
        vec![SentStatement::Sql(drop)]
    }

    fn drop_constraint(&self, _table: &QualifiedName, _name: &str, drop: String) -> Vec<SentStatement> {
        vec![SentStatement::Sql(drop)]
    }
}

/// SQLAlchemy writes a column's constraints as table-level ones; the front end moves them there.
fn no_inline_constraints(column: &ColumnDef) -> Result<(), String> {
    match column.constraints.is_empty() {
        true => Ok(()),
        false => Err(format!("column `{}` has inline constraints lockgate does not write", column.name)),
    }
}

/// `<TYPE> [DEFAULT …] [GENERATED … AS IDENTITY] [NOT NULL]`: SQLAlchemy leaves NOT NULL off
/// identity columns and never writes NULL for the others.
fn column_sql(column: &ColumnDef, ddl: &ColumnDdl) -> String {
    let mut parts = vec![ddl.ty.clone()];
    if let Some(default) = &ddl.default {
        parts.push(format!("DEFAULT {default}"));
    }
    if let Some(identity) = &ddl.identity {
        parts.push(identity.clone());
    } else if column.not_null {
        parts.push("NOT NULL".into());
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::OpKind;

    /// Alembic drops exactly what the operation names, with no lookup in the database.
    #[test]
    fn drops_are_sent_as_named() {
        let table = QualifiedName::unqualified("users");
        let drop_column = OpKind::DropColumn { table: table.clone(), column: "phone".into() };
        let drop_constraint = OpKind::DropConstraint { table, name: "uq_users_email".into() };
        assert_eq!(
            sender(Ddl::Plain).sent(&drop_column),
            Ok(vec![SentStatement::Sql("ALTER TABLE \"users\" DROP COLUMN \"phone\"".into())])
        );
        assert_eq!(
            sender(Ddl::Plain).sent(&drop_constraint),
            Ok(vec![SentStatement::Sql("ALTER TABLE \"users\" DROP CONSTRAINT \"uq_users_email\"".into())])
        );
    }
}
