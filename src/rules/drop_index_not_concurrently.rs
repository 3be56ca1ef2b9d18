//! DROP INDEX without CONCURRENTLY takes ACCESS EXCLUSIVE on the table.

use super::{takes_lock, Category, OpContext, Rule, Severity, Violation};
use crate::ir::{Framework, OpKind};

pub const RULE: Rule = Rule::on_op(
    "drop-index-not-concurrently",
    Category::Locks,
    Severity::Warning,
    "DROP INDEX without CONCURRENTLY blocks reads and writes while it waits for and holds its lock",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::DropIndex { indexes, concurrently: false, .. } = &ctx.op.kind else { return };
    let Some(effect) = ctx.effects.iter().find(|e| !ctx.is_new_table(&e.relation)) else { return };
    let names: Vec<String> = indexes.iter().map(ToString::to_string).collect();
    let help = match ctx.framework() {
        Framework::Django => "use `RemoveIndexConcurrently` in a migration with `atomic = False`".to_string(),
        Framework::Alembic => {
            "`op.drop_index(..., postgresql_concurrently=True)` inside `autocommit_block()`".to_string()
        }
        Framework::Sql => {
            format!("`DROP INDEX CONCURRENTLY {};` outside any transaction (one index per statement)", names.join(", "))
        }
    };
    out.push(ctx.violation(
        format!(
            "dropping index {} {}; it is quick once granted, but while it waits behind any open transaction every query on the table queues behind it",
            names.join(", "),
            takes_lock(effect.mode, &effect.relation)
        ),
        help,
    ));
}
