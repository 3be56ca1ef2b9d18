//! ADD CONSTRAINT … UNIQUE (or an inline UNIQUE column) builds its index under ACCESS EXCLUSIVE.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::{ConstraintKind, OpKind};

pub const RULE: Rule = Rule::on_op(
    "add-unique-constraint-builds-index",
    Category::Locks,
    Severity::Error,
    "adding a UNIQUE constraint builds its index while blocking reads and writes",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let (table, columns) = match &ctx.op.kind {
        OpKind::AddConstraint { table, constraint, .. } => match &constraint.kind {
            ConstraintKind::Unique { columns, using_index: None } => (table, columns.clone()),
            _ => return,
        },
        OpKind::AddColumn { table, column } => {
            let unique = column.constraints.iter().any(|c| matches!(c.kind, ConstraintKind::Unique { .. }));
            if !unique {
                return;
            }
            (table, vec![column.name.clone()])
        }
        _ => return,
    };
    if ctx.is_new_table(table) {
        return;
    }
    let cols = columns.join(", ");
    out.push(ctx.violation(
        format!(
            "adding a UNIQUE constraint on `{table}` ({cols}) builds a unique index and {} for the whole build",
            ctx.takes_lock_on(table)
        ),
        format!(
            "build the index first without blocking: `CREATE UNIQUE INDEX CONCURRENTLY {}_{}_key ON {table} ({cols});` (outside a transaction), then `ALTER TABLE {table} ADD CONSTRAINT {}_{}_key UNIQUE USING INDEX {}_{}_key;` (catalog-only)",
            table.name, columns.join("_"), table.name, columns.join("_"), table.name, columns.join("_")
        ),
    ));
}
