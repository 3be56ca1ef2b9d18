//! ADD COLUMN … GENERATED ALWAYS AS (…) STORED: computed and written for every row.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;
use crate::locks::Work;
use crate::postgres::Feature;

pub const RULE: Rule = Rule::on_op(
    "add-column-generated-stored",
    Category::Locks,
    Severity::Error,
    "adding a stored generated column rewrites the table",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::AddColumn { table, column } = &ctx.op.kind else { return };
    if column.generated.is_none() || ctx.is_new_table(table) {
        return;
    }
    if ctx.work_on(table) != Some(Work::Rewrite) {
        return;
    }
    let virtual_hint = if ctx.settings.pg_version.supports(Feature::VirtualGeneratedColumns) {
        "; on PostgreSQL 18 a VIRTUAL generated column is catalog-only"
    } else {
        ""
    };
    out.push(ctx.violation(
        format!(
            "adding stored generated column `{}` computes and writes it for every row of `{table}`: a full rewrite that {}",
            column.name,
            ctx.takes_lock_on(table)
        ),
        format!("add a plain column, keep it current with a trigger, and backfill existing rows in batches{virtual_hint}"),
    ));
}
