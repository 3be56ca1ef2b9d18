//! ADD COLUMN with a default PostgreSQL must compute per row: a full table rewrite.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;
use crate::locks::Work;

pub const RULE: Rule = Rule::on_op(
    "add-column-volatile-default",
    Category::Locks,
    Severity::Error,
    "adding a column with a volatile default rewrites the table",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::AddColumn { table, column } = &ctx.op.kind else { return };
    let Some(default) = &column.default else { return };
    if column.identity || column.generated.is_some() || ctx.is_new_table(table) {
        return;
    }
    if ctx.work_on(table) != Some(Work::Rewrite) {
        return;
    }
    if !default.is_volatile(ctx.settings.pg_version) {
        return;
    }
    let why = format!("the default `{}` is volatile (computed per row)", default.text());
    out.push(ctx.violation(
        format!(
            "adding column `{}` to `{table}` rewrites the whole table and every index because {why}; it {} for the whole rewrite",
            column.name,
            ctx.takes_lock_on(table)
        ),
        format!(
            "add the column without the default, then `ALTER TABLE {table} ALTER COLUMN {} SET DEFAULT {}` for new rows (catalog-only), and backfill existing rows in batches",
            column.name,
            default.text()
        ),
    ));
}
