//! REINDEX without CONCURRENTLY: blocks writes, and in practice reads.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;
use crate::postgres::Feature;

pub const RULE: Rule = Rule::on_op(
    "reindex-not-concurrently",
    Category::Locks,
    Severity::Error,
    "REINDEX without CONCURRENTLY blocks writes and every query that plans with the index",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::Reindex { target, index, system, concurrently: false } = &ctx.op.kind else { return };
    // Rebuilding the indexes of a table created in this migration (still empty) hurts no one.
    if !ctx.effects.is_empty() && ctx.effects.iter().all(|e| ctx.is_new_table(&e.relation)) {
        return;
    }
    let what = match target {
        Some(t) if *index => format!("index `{t}`"),
        Some(t) => format!("every index of `{t}`"),
        None if *system => "every index of the system catalogs".to_string(),
        None => "every index of the schema or database".to_string(),
    };
    let help = if *system {
        "PostgreSQL cannot reindex system catalogs concurrently (`REINDEX SYSTEM` rejects CONCURRENTLY): run it in a maintenance window, outside the migrations".to_string()
    } else if ctx.settings.pg_version.supports(Feature::ReindexConcurrently) {
        let concurrently = OpKind::Reindex { target: target.clone(), index: *index, system: false, concurrently: true };
        format!(
            "use `REINDEX … CONCURRENTLY` (PostgreSQL 12+) outside a transaction block: it takes {}, so reads and writes continue",
            ctx.lock_of(&concurrently)
        )
    } else {
        "PostgreSQL 11 has no REINDEX CONCURRENTLY: build a replacement with `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY` the old one and rename the new one into its place (or upgrade to 12+)".to_string()
    };
    out.push(ctx.violation(
        format!(
            "REINDEX of {what} takes SHARE on the table and ACCESS EXCLUSIVE on each index while it rebuilds it: writes block, and so does every query whose planning opens the index — in practice every read of the table"
        ),
        help,
    ));
}
