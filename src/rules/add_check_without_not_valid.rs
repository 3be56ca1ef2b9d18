//! ADD CONSTRAINT … CHECK without NOT VALID: a full scan under ACCESS EXCLUSIVE.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::{ConstraintKind, OpKind};

pub const RULE: Rule = Rule::on_op(
    "add-check-without-not-valid",
    Category::Locks,
    Severity::Error,
    "adding a CHECK constraint without NOT VALID scans the table while blocking reads and writes",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let (table, constraint) = match &ctx.op.kind {
        OpKind::AddConstraint { table, constraint, .. } => (table, constraint),
        // A CHECK written on ADD COLUMN is validated against every row too.
        OpKind::AddColumn { table, column } => {
            match column.constraints.iter().find(|c| matches!(c.kind, ConstraintKind::Check { .. })) {
                Some(constraint) => (table, constraint),
                None => return,
            }
        }
        _ => return,
    };
    if !matches!(constraint.kind, ConstraintKind::Check { .. }) || constraint.not_valid || ctx.is_new_table(table) {
        return;
    }
    let name = constraint.name.as_deref().unwrap_or("<name>");
    let validate = ctx.lock_of(&OpKind::ValidateConstraint { table: table.clone(), name: name.to_string() });
    out.push(ctx.violation(
        format!(
            "adding CHECK constraint `{name}` validates every existing row of `{table}`, and {} for the whole scan",
            ctx.takes_lock_on(table)
        ),
        format!(
            "add it with NOT VALID (catalog-only; new rows are checked at once), then in a separate transaction `ALTER TABLE {table} VALIDATE CONSTRAINT {name};`, which takes only {}",
            validate
        ),
    ));
}
