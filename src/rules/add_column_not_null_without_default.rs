//! ADD COLUMN … NOT NULL with no default on a table that already has rows.

use super::{with_article, Category, OpContext, Rule, Severity, Violation};
use crate::ir::{Framework, OpKind};

pub const RULE: Rule = Rule::on_op(
    "add-column-not-null-without-default",
    Category::Locks,
    Severity::Error,
    "adding a NOT NULL column without a default fails on any table that has rows",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::AddColumn { table, column } = &ctx.op.kind else { return };
    if !column.fails_on_rows() || ctx.is_new_table(table) {
        return;
    }
    let help = match ctx.framework() {
        Framework::Django => "give the field `db_default=` (Django 5+) so the database fills existing rows, or add it with `null=True`, backfill, then make it NOT NULL".to_string(),
        Framework::Alembic => "pass `server_default=` to `op.add_column` so the database fills existing rows, or add it `nullable=True`, backfill, then make it NOT NULL".to_string(),
        Framework::Sql => format!(
            "add it with a constant default, which is a catalog-only change since PostgreSQL 11: `ALTER TABLE {table} ADD COLUMN {} {} NOT NULL DEFAULT <value>;`, or add it nullable, backfill in batches, then set NOT NULL with `CHECK ({} IS NOT NULL) NOT VALID` + `VALIDATE`",
            column.name, column.ty, column.name
        ),
    };
    // The migration deleted every row first: the ADD COLUMN succeeds, and only the running
    // code that does not set the column is left to break.
    if ctx.catalog.emptied_in(table, ctx.migration_index) {
        let message = format!(
            "`{table}` was emptied earlier in this migration, so adding NOT NULL column `{}` without a default \
             succeeds; application code that does not yet set it breaks on its next INSERT",
            column.name
        );
        out.push(ctx.violation(message, help).at_any_size().with_severity(Severity::Warning));
        return;
    }
    // It fails, or breaks the application, on a table of any size: no live size makes it fine.
    let message = format!(
        "adding NOT NULL column `{}` to `{table}` without a default fails with \"column contains null values\" as soon as the table has a row, after scanning it under {} lock; application code that does not yet set `{}` breaks too",
        column.name,
        ctx.lock_on(table).map_or_else(|| "its".to_string(), |effect| with_article(effect.mode)),
        column.name
    );
    out.push(ctx.violation(message, help).at_any_size());
}
