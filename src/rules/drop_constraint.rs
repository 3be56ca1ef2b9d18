//! DROP CONSTRAINT: integrity is lost, and dropping a foreign key locks the referenced table.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::{ConstraintKind, OpKind};

pub const RULE: Rule = Rule::on_op(
    "drop-constraint",
    Category::Compatibility,
    Severity::Info,
    "dropping a constraint stops enforcing it; dropping a foreign key also locks the referenced table",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::DropConstraint { table, name, .. } = &ctx.op.kind else { return };
    if ctx.is_new_table(table) {
        return;
    }
    let t = ctx.catalog.table(table);
    let constraint = t.and_then(|t| t.constraint(name));
    let message = match constraint.map(|c| &c.kind) {
        // The last step of the SET NOT NULL recipe: the column's NOT NULL now says the same.
        Some(ConstraintKind::Check { not_null_column: Some(column) })
            if t.and_then(|t| t.column(column)).is_some_and(|c| c.not_null) =>
        {
            return;
        }
        Some(ConstraintKind::ForeignKey { references, .. }) => {
            let referenced = ctx
                .lock_on(references)
                .map(|effect| format!(", so the referenced table is locked too ({})", effect.mode.blocks()))
                .unwrap_or_default();
            format!(
                "dropping foreign key `{name}` stops checking `{table}` against `{references}`, and takes {}{referenced}",
                ctx.locks_on([table, references])
            )
        }
        Some(ConstraintKind::Unique { .. } | ConstraintKind::PrimaryKey { .. }) => format!(
            "dropping `{name}` drops its index as well: queries that used it for lookups fall back to scans, and duplicates become possible"
        ),
        _ => format!("dropping constraint `{name}` on `{table}` stops enforcing it for every writer, including code deployed before this migration"),
    };
    out.push(ctx.violation(
        message,
        "drop it with a short lock_timeout, in the contract phase after code no longer relies on it",
    ));
}
