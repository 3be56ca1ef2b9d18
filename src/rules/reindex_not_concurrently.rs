//! REINDEX without CONCURRENTLY: blocks writes, and in practice reads.

use super::{OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;
use crate::locks::PgVersion;

pub const RULE: Rule = Rule::on_op(
    "reindex-not-concurrently",
    Severity::Error,
    "REINDEX without CONCURRENTLY blocks writes and every query that plans with the index",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::Reindex { target, concurrently: false, .. } = &ctx.op.kind else { return };
    let what =
        target.as_ref().map_or_else(|| "every index of the schema or database".to_string(), |t| format!("`{t}`"));
    let help = if ctx.settings.pg_version >= PgVersion(12) {
        "use `REINDEX … CONCURRENTLY` (PostgreSQL 12+) outside a transaction; it takes only SHARE UPDATE EXCLUSIVE"
    } else {
        "before PostgreSQL 12 there is no REINDEX CONCURRENTLY: build a replacement with CREATE INDEX CONCURRENTLY, then drop the old index concurrently"
    };
    out.push(ctx.violation(
        format!(
            "REINDEX of {what} takes SHARE on the table and ACCESS EXCLUSIVE on each index it rebuilds: writes block, and so does every query whose planning opens the index — in practice every read"
        ),
        help,
    ));
}
