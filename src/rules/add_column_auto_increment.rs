//! ADD COLUMN of a serial or identity column to an existing table: every row gets a value.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;

pub const RULE: Rule = Rule::on_op(
    "add-column-auto-increment",
    Category::Locks,
    Severity::Error,
    "adding a serial or identity column to an existing table rewrites it",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::AddColumn { table, column } = &ctx.op.kind else { return };
    if !column.identity || ctx.is_new_table(table) {
        return;
    }
    out.push(ctx.violation(
        format!(
            "adding auto-increment column `{}` to `{table}` fills a sequence value into every existing row: a full rewrite of the table and its indexes that {}",
            column.name,
            ctx.takes_lock_on(table)
        ),
        format!(
            "add `{}` as a plain nullable {} column, create the sequence and `SET DEFAULT nextval(...)` for new rows, backfill existing rows in batches, then add NOT NULL with the CHECK … NOT VALID recipe",
            column.name, column.ty
        ),
    ));
}
