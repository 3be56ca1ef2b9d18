//! CREATE INDEX without CONCURRENTLY on an existing table blocks writes for the whole build.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::{Framework, OpKind};
use crate::locks::Work;

pub const RULE: Rule = Rule::on_op(
    "create-index-not-concurrently",
    Category::Locks,
    Severity::Error,
    "CREATE INDEX without CONCURRENTLY blocks writes to the table for the whole build",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::CreateIndex { table, concurrently: false, only: false, name, .. } = &ctx.op.kind else { return };
    // On a new table, or IF NOT EXISTS of an index that is there: nothing is built.
    if ctx.is_new_table(table) || ctx.work_on(table) == Some(Work::Catalog) {
        return;
    }
    let name = name.as_deref().unwrap_or("the index");
    let help = match ctx.framework() {
        Framework::Django => "use `AddIndexConcurrently` (django.contrib.postgres.operations) in a migration with `atomic = False`".to_string(),
        Framework::Alembic => "`op.create_index(..., postgresql_concurrently=True)` inside `with op.get_context().autocommit_block():`".to_string(),
        Framework::Sql => format!(
            "`CREATE INDEX CONCURRENTLY {name} ON {table} (...);` outside any transaction; if it fails it leaves an INVALID index: drop it and retry"
        ),
    };
    out.push(ctx.violation(format!("building {name} {} for the whole build", ctx.takes_lock_on(table)), help));
}
