//! ATTACH PARTITION scans the partition unless a validated CHECK already proves the bound.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::{ConstraintKind, OpKind};
use crate::postgres::Feature;

pub const RULE: Rule = Rule::on_op(
    "attach-partition-scan",
    Category::Locks,
    Severity::Warning,
    "ATTACH PARTITION scans the new partition under ACCESS EXCLUSIVE unless a CHECK constraint matches its bound",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::AttachPartition { table, partition } = &ctx.op.kind else { return };
    if ctx.is_new_table(partition) {
        return;
    }
    let has_check = ctx.catalog.table(partition).is_some_and(|t| {
        t.constraints.iter().any(|c| c.validated && matches!(c.kind, ConstraintKind::Check { not_null_column: None }))
    });
    if has_check {
        return;
    }
    let parent = if ctx.settings.pg_version.supports(Feature::AttachPartitionShareUpdateExclusive) {
        format!("the parent `{table}` gets {}", ctx.mode_on(table))
    } else {
        format!("before PostgreSQL 12 the parent `{table}` is locked {} too", ctx.mode_on(table))
    };
    out.push(ctx.violation(
        format!(
            "attaching `{partition}` scans all its rows to prove they fit the partition bound; it {} for the whole scan, and {parent}",
            ctx.takes_lock_on(partition)
        ),
        format!(
            "before attaching, add a CHECK constraint on `{partition}` that matches the bound (`ADD CONSTRAINT … CHECK (…) NOT VALID`, then `VALIDATE CONSTRAINT`): ATTACH then skips the scan; drop the CHECK afterwards"
        ),
    ));
}
