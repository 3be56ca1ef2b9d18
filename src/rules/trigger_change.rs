//! Creating, dropping, enabling or disabling a trigger on a busy table.

use super::{takes_lock, Category, OpContext, Rule, Severity, Violation};
use crate::ir::{OpKind, TableAction};

pub const RULE: Rule = Rule::on_op(
    "trigger-change",
    Category::Locks,
    Severity::Warning,
    "trigger changes take SHARE ROW EXCLUSIVE (create, enable, disable) or ACCESS EXCLUSIVE (drop) on the table",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let (what, disables) = match &ctx.op.kind {
        OpKind::CreateTrigger { .. } => ("creating a trigger", false),
        OpKind::DropTrigger { .. } => ("dropping a trigger", false),
        OpKind::AlterTable { action: TableAction::EnableTrigger, .. } => ("enabling a trigger", false),
        OpKind::AlterTable { action: TableAction::DisableTrigger, .. } => ("disabling a trigger", true),
        _ => return,
    };
    let Some(effect) = ctx.effects.iter().find(|e| !ctx.is_new_table(&e.relation)) else { return };
    let lock = takes_lock(effect.mode, &effect.relation);
    if disables {
        // Whatever the lock, writes skip the trigger until it is enabled again.
        out.push(ctx.violation(
            format!(
                "disabling a trigger on `{}` {lock}; until it is enabled again, every write skips it — with DISABLE TRIGGER ALL that includes the triggers that enforce foreign keys",
                effect.relation
            ),
            "avoid disabling triggers in a migration; if a bulk load needs it, enable it again in the same transaction, and never disable the foreign-key (system) triggers of a live table",
        ));
    } else if !ctx.transaction.lock_timeout_guards() {
        out.push(ctx.violation(
            format!(
                "{what} {lock} with no lock_timeout: it is quick once granted, but it queues behind every open transaction on the table, and every later query that conflicts with it queues behind it"
            ),
            "set a short `lock_timeout` (`SET lock_timeout = '4s';`) before it and retry the migration on timeout",
        ));
    }
}
