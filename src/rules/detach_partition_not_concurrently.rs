//! DETACH PARTITION without CONCURRENTLY locks the whole partitioned table.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;
use crate::postgres::Feature;

pub const RULE: Rule = Rule::on_op(
    "detach-partition-not-concurrently",
    Category::Locks,
    Severity::Warning,
    "DETACH PARTITION without CONCURRENTLY blocks every read and write on the partitioned table (PostgreSQL 14+)",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::DetachPartition { table, partition, concurrently: false } = &ctx.op.kind else { return };
    if !ctx.settings.pg_version.supports(Feature::DetachPartitionConcurrently) || ctx.is_new_table(table) {
        return;
    }
    out.push(ctx.violation(
        format!(
            "detaching `{partition}` takes {}: every query on the whole partitioned table waits, including while the DETACH queues for its lock",
            ctx.locks_on([table, partition])
        ),
        format!(
            "`ALTER TABLE {table} DETACH PARTITION {partition} CONCURRENTLY;` outside a transaction (PostgreSQL 14+, not with a DEFAULT partition); if it is interrupted, finish it with `… DETACH PARTITION {partition} FINALIZE`"
        ),
    ));
}
