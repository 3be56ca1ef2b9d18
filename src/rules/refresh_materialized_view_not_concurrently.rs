//! REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks readers of the view.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;

pub const RULE: Rule = Rule::on_op(
    "refresh-materialized-view-not-concurrently",
    Category::Locks,
    Severity::Warning,
    "REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks every read of the view while it recomputes",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::RefreshMaterializedView { view, concurrently: false } = &ctx.op.kind else { return };
    if ctx.is_new_table(view) {
        return;
    }
    out.push(ctx.violation(
        format!("refreshing `{view}` recomputes it under {}: every SELECT on the view waits for the whole query that defines it", ctx.mode_on(view)),
        format!(
            "`REFRESH MATERIALIZED VIEW CONCURRENTLY {view};` (needs a unique index on the view; takes {}, so reads continue)",
            ctx.lock_of(&OpKind::RefreshMaterializedView { view: view.clone(), concurrently: true })
        ),
    ));
}
