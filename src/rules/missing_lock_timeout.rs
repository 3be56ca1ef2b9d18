//! A statement that blocks reads or writes while no lock_timeout is set.

use super::{lock_label, with_article, Category, OpContext, Rule, Severity, Violation};

pub const RULE: Rule = Rule::on_op(
    "missing-lock-timeout",
    Category::Timeouts,
    Severity::Warning,
    "a lock that blocks traffic is requested with no lock_timeout, so it can queue behind a long transaction",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let tx = ctx.transaction;
    if tx.lock_timeout_guards() || tx.unguarded_blocking_locks > 0 || !ctx.first_in_statement {
        return;
    }
    let Some(effect) = ctx
        .effects
        .iter()
        .filter(|e| (e.mode.blocks_writes()) && !ctx.is_new_table(&e.relation))
        .max_by_key(|e| e.mode)
    else {
        return;
    };
    let setting = if tx.in_transaction { "SET LOCAL lock_timeout = '4s'" } else { "SET lock_timeout = '4s'" };
    out.push(ctx.violation(
        format!(
            "this statement waits for {} lock on `{}` with no lock_timeout: if any transaction is using the table, it queues behind it, and every later query on `{}` queues behind this statement ({}) until it gets the lock",
            with_article(effect.mode), effect.relation, effect.relation, effect.mode.blocks()
        ),
        format!(
            "{} and retry the migration when it times out; if the runner's session already sets one, declare it in lockgate.toml (`[runner] lock_timeout = \"4s\"`)",
            ctx.run_first(setting)
        ),
    ).with_lock(Some(lock_label(effect))));
}
