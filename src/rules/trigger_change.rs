//! Creating, dropping, enabling or disabling a trigger on a busy table.

use super::{takes_lock, OpContext, Rule, Severity, Violation};
use crate::ir::{OpKind, TableAction};

pub const RULE: Rule = Rule::on_op(
    "trigger-change",
    Severity::Warning,
    "trigger changes take SHARE ROW EXCLUSIVE (create, enable, disable) or ACCESS EXCLUSIVE (drop) on the table",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let what = match &ctx.op.kind {
        OpKind::CreateTrigger { .. } => "creating a trigger",
        OpKind::DropTrigger { .. } => "dropping a trigger",
        OpKind::AlterTable { action: TableAction::EnableTrigger, .. } => "enabling a trigger",
        OpKind::AlterTable { action: TableAction::DisableTrigger, .. } => "disabling a trigger",
        _ => return,
    };
    let Some(effect) = ctx.effects.iter().find(|e| !ctx.is_new_table(&e.relation)) else { return };
    out.push(ctx.violation(
        format!(
            "{what} {}; it is quick once granted, but it queues behind every open transaction on the table and everything queues behind it; a new trigger also changes what every later write does",
            takes_lock(effect.mode, &effect.relation)
        ),
        "run it with a short `lock_timeout` and retries, in a migration of its own",
    ));
}
