//! Slow or lock-taking work in a transaction that already holds ACCESS EXCLUSIVE on a table.

use super::{with_article, OpContext, Rule, Severity, Violation};
use crate::locks::LockMode;

pub const RULE: Rule = Rule::on_op(
    "statements-after-access-exclusive",
    Severity::Warning,
    "work that runs while an earlier statement of the same transaction still holds ACCESS EXCLUSIVE",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    if !ctx.first_in_statement || !ctx.transaction.in_transaction {
        return;
    }
    let Some(held) = ctx
        .transaction
        .held
        .iter()
        .filter(|h| h.mode == LockMode::AccessExclusive && !ctx.is_new_table(&h.relation))
        .min_by_key(|h| h.statement)
    else {
        return;
    };
    let slow = ctx.effects.iter().find(|e| e.work.scales_with_table() && !ctx.is_new_table(&e.relation));
    let other_lock = ctx.effects.iter().find(|e| e.relation != held.relation && !ctx.is_new_table(&e.relation));
    let (what, relation) = match (slow, other_lock) {
        (Some(e), _) => (format!("does {}", e.work.describe()), &e.relation),
        (None, Some(e)) => (format!("waits for {} lock", with_article(e.mode)), &e.relation),
        (None, None) => return,
    };
    let (line, _) = ctx.migration.source.line_col(held.span.start);
    out.push(ctx.violation(
        format!(
            "this statement {what} on `{relation}` while the transaction still holds the ACCESS EXCLUSIVE lock on `{}` taken on line {line}; that lock is held until COMMIT, so every read and write on `{}` waits for this statement too",
            held.relation, held.relation
        ),
        "put the ACCESS EXCLUSIVE change in its own transaction (its own migration, with runners that wrap each file), or move it after the slow statement",
    ));
}
