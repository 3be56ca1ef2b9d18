//! ADD PRIMARY KEY builds its index under ACCESS EXCLUSIVE; PRIMARY KEY USING INDEX on nullable
//! columns scans for NULLs under it.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::{ConstraintKind, OpKind, QualifiedName};
use crate::locks::{proven_not_null, Work};

pub const RULE: Rule = Rule::on_op(
    "add-primary-key-builds-index",
    Category::Locks,
    Severity::Error,
    "adding a primary key builds its index (or scans nullable columns) while blocking reads and writes",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let (table, columns, using_index) = match &ctx.op.kind {
        OpKind::AddConstraint { table, constraint, .. } => match &constraint.kind {
            ConstraintKind::PrimaryKey { columns, using_index } => (table, columns.clone(), using_index.clone()),
            _ => return,
        },
        OpKind::AddColumn { table, column }
            if column.constraints.iter().any(|c| matches!(c.kind, ConstraintKind::PrimaryKey { .. })) =>
        {
            (table, vec![column.name.clone()], None)
        }
        _ => return,
    };
    if ctx.is_new_table(table) {
        return;
    }
    let lock = ctx.takes_lock_on(table);
    if let Some(index_name) = using_index {
        // The parser gives no columns for USING INDEX: they are the index's, from the replayed
        // schema. For an index lockgate has not seen, the lock model's verdict stands.
        let columns = match ctx.catalog.index(&QualifiedName::new(table.schema.clone(), &index_name)) {
            Some(index) => {
                let (mut nullable, mut unknown) = (vec![], vec![]);
                for column in index.columns.iter().flatten().map(String::as_str) {
                    match nullability(ctx, table, column) {
                        Nullability::Nullable => nullable.push(column),
                        Nullability::Unknown => unknown.push(column),
                        Nullability::NotNull => {}
                    }
                }
                match (nullable.is_empty(), unknown.is_empty()) {
                    (true, true) => return,
                    (false, true) => format!("nullable column(s) {}", nullable.join(", ")),
                    (true, false) => format!(
                        "column(s) {} (whose nullability lockgate does not know: `{table}` was not created in the migrations it read)",
                        unknown.join(", ")
                    ),
                    (false, false) => format!(
                        "nullable column(s) {} and column(s) {} whose nullability lockgate does not know",
                        nullable.join(", "),
                        unknown.join(", ")
                    ),
                }
            }
            None if ctx.work_on(table) == Some(Work::Scan) => {
                format!("the columns of `{index_name}` (an index lockgate has not seen created)")
            }
            None => return,
        };
        out.push(ctx.violation(
            format!("PRIMARY KEY USING INDEX on {columns} of `{table}` first scans the table for NULLs (an implicit SET NOT NULL), and {lock} for the whole scan"),
            "make the columns NOT NULL first without a scan: `ADD CONSTRAINT … CHECK (col IS NOT NULL) NOT VALID`, `VALIDATE CONSTRAINT` in its own transaction (PostgreSQL 12+ then trusts it), then add the primary key USING INDEX",
        ));
    } else {
        let cols = columns.join(", ");
        out.push(ctx.violation(
            format!("adding a PRIMARY KEY on `{table}` ({cols}) builds its unique index and {lock} for the whole build"),
            format!(
                "`CREATE UNIQUE INDEX CONCURRENTLY {}_pkey ON {table} ({cols});` outside a transaction, make the columns NOT NULL with the CHECK … NOT VALID recipe, then `ALTER TABLE {table} ADD CONSTRAINT {}_pkey PRIMARY KEY USING INDEX {}_pkey;`",
                table.name, table.name, table.name
            ),
        ));
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Nullability {
    /// Known to hold no NULLs without a scan.
    NotNull,
    Nullable,
    /// A column of a table or index created outside the migrations lockgate read.
    Unknown,
}

/// Known to hold no NULLs without a scan: declared NOT NULL, a validated `CHECK (col IS NOT
/// NULL)` (trusted from PostgreSQL 12), or a validated PostgreSQL 18 NOT NULL constraint.
fn nullability(ctx: &OpContext, table: &QualifiedName, column: &str) -> Nullability {
    let Some(t) = ctx.catalog.table(table) else { return Nullability::Unknown };
    if t.column(column).is_none() {
        return Nullability::Unknown;
    }
    let proven = proven_not_null(ctx.catalog, table, column, ctx.settings.pg_version)
        || t.constraints
            .iter()
            .any(|c| c.validated && matches!(&c.kind, ConstraintKind::NotNull { column: col } if col == column));
    if proven {
        Nullability::NotNull
    } else {
        Nullability::Nullable
    }
}
