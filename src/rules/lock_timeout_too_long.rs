//! A lock_timeout so long (or 0, disabled) that the lock queue can still stall traffic.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;
use crate::units::parse_duration_ms;

pub const RULE: Rule = Rule::on_op(
    "lock-timeout-too-long",
    Category::Timeouts,
    Severity::Warning,
    "a lock_timeout above the configured bound (default 10 s), or 0, lets a queued lock stall every query",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::Setting { name, value: Some(value), .. } = &ctx.op.kind else { return };
    if name != "lock_timeout" {
        return;
    }
    let Some(ms) = parse_duration_ms(value) else { return };
    let bound = ctx.settings.max_lock_timeout_ms;
    let message = if ms == 0 {
        "lock_timeout = 0 disables the timeout: a DDL statement can wait forever in the lock queue, and every query on the table waits behind it".to_string()
    } else if ms > bound {
        format!("lock_timeout = {value} lets a DDL statement wait up to {ms} ms in the lock queue, and every query on the table waits behind it all that time (the bound is {bound} ms)")
    } else {
        return;
    };
    out.push(ctx.violation(
        message,
        "keep lock_timeout short (1–5 s, e.g. `SET lock_timeout = '4s';`) and retry the migration, with backoff, when it fails with a lock timeout",
    ));
}
