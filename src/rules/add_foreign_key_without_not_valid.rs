//! A foreign key added to an existing table without NOT VALID: validated under a write lock on
//! both tables.

use super::{with_article, Category, OpContext, Rule, Severity, Violation};
use crate::ir::{ConstraintDef, ConstraintKind, OpKind, QualifiedName};
use crate::postgres::LockMode;

pub const RULE: Rule = Rule::on_op(
    "add-foreign-key-without-not-valid",
    Category::Locks,
    Severity::Error,
    "adding a foreign key without NOT VALID blocks writes on both tables while every row is checked",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    match &ctx.op.kind {
        OpKind::AddConstraint { table, constraint, .. } if !constraint.not_valid => {
            if let Some(references) = references(constraint) {
                if !ctx.is_new_table(table) {
                    out.push(violation(ctx, table, references, constraint, true));
                }
            }
        }
        OpKind::AddColumn { table, column } if !ctx.is_new_table(table) => {
            for constraint in &column.constraints {
                if let Some(references) = references(constraint) {
                    out.push(violation(ctx, table, references, constraint, false));
                }
            }
        }
        _ => {}
    }
}

fn references(constraint: &ConstraintDef) -> Option<&QualifiedName> {
    match &constraint.kind {
        ConstraintKind::ForeignKey { references, .. } => Some(references),
        _ => None,
    }
}

fn violation(
    ctx: &OpContext,
    table: &QualifiedName,
    references: &QualifiedName,
    constraint: &ConstraintDef,
    scans: bool,
) -> Violation {
    let name = constraint.name.as_deref().unwrap_or("<name>");
    let work = if scans {
        "checks every existing row against the referenced table"
    } else {
        "waits for both tables' locks (the new column is empty, so validation is quick)"
    };
    // ADD CONSTRAINT takes SHARE ROW EXCLUSIVE on both tables; ADD COLUMN … REFERENCES takes
    // ACCESS EXCLUSIVE on its own table for the column.
    let mode_on = |relation| ctx.lock_on(relation).map_or(LockMode::ShareRowExclusive, |e| e.mode);
    let (own, other) = (mode_on(table), mode_on(references));
    let locks = if own == other {
        format!("{own} locks on `{table}` and `{references}` ({})", own.blocks())
    } else {
        format!(
            "{} lock on `{table}` ({}) and {} lock on `{references}` ({})",
            with_article(own),
            own.blocks(),
            with_article(other),
            other.blocks()
        )
    };
    let first = if scans { "" } else { "add the column without REFERENCES, then " };
    ctx.violation(
        format!("this foreign key {work}; it takes {locks} until the transaction ends"),
        format!(
            "{first}add the constraint with NOT VALID: `ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY (...) REFERENCES {references} (...) NOT VALID;`, then in a separate transaction `ALTER TABLE {table} VALIDATE CONSTRAINT {name};` (SHARE UPDATE EXCLUSIVE on {table}, ROW SHARE on {references}: writes continue)"
        ),
    )
}
