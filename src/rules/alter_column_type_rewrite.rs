//! ALTER COLUMN … TYPE that rewrites the table, judged from the replayed old type.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::{Framework, OpKind};
use crate::locks::Work;

pub const RULE: Rule = Rule::on_op(
    "alter-column-type-rewrite",
    Category::Locks,
    Severity::Error,
    "changing a column's type rewrites the table unless the change is binary-compatible",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::AlterColumnType { table, column, new_type, using, .. } = &ctx.op.kind else { return };
    if ctx.is_new_table(table) || ctx.work_on(table) != Some(Work::Rewrite) {
        return;
    }
    let old = ctx.catalog.table(table).and_then(|t| t.column(column)).map(|c| c.ty.to_string());
    let from = match (&old, using) {
        (_, true) => "a USING expression recomputes every value".to_string(),
        (Some(old), false) => format!("`{old}` → `{new_type}` is not binary-compatible"),
        (None, false) => format!(
            "lockgate does not know the current type of `{column}` (it was created outside these migrations), so it assumes `{new_type}` needs a rewrite"
        ),
    };
    let help = match ctx.framework() {
        Framework::Django => "add a new field with the new type, keep both in sync (trigger or dual writes), backfill in batches, switch reads, then remove the old field".to_string(),
        Framework::Alembic => "add a new column with `op.add_column`, sync it with a trigger, backfill in batches, switch the application over, then `op.drop_column` the old one".to_string(),
        Framework::Sql => format!(
            "add a new column of type {new_type}, keep it in sync with a trigger, backfill in batches, then swap names in one short transaction and drop the old column"
        ),
    };
    out.push(ctx.violation(
        format!(
            "changing `{table}.{column}` to `{new_type}` rewrites the whole table and every index ({from}); it {} for the whole rewrite",
            ctx.takes_lock_on(table)
        ),
        help,
    ));
}
