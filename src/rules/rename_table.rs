//! RENAME TO: every running version of the application still uses the old table name.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::{Framework, OpKind, QualifiedName};

pub const RULE: Rule = Rule::on_op(
    "rename-table",
    Category::Compatibility,
    Severity::Warning,
    "renaming a table breaks every running application version that still uses the old name",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::RenameTable { table, new_name } = &ctx.op.kind else { return };
    if ctx.is_new_table(table) || old_name_kept_as_view(ctx, table) {
        return;
    }
    let help = match ctx.framework() {
        Framework::Django => {
            format!("keep the table's name: rename the model and set `db_table = \"{}\"` in its Meta, so no SQL runs", table.name)
        }
        _ => format!(
            "in the same transaction, follow the rename with `CREATE VIEW {table} AS SELECT * FROM {new_name};` so code that uses the old name keeps working (a simple view is updatable); drop the view once every deployment uses `{new_name}`"
        ),
    };
    out.push(ctx.violation(
        format!("renaming `{table}` to `{new_name}` is a quick catalog change under {}, but application code deployed before this migration still queries `{table}` and fails until it is replaced", ctx.mode_on(table)),
        help,
    ));
}

/// Does a later statement of this migration create a view under the old name?
fn old_name_kept_as_view(ctx: &OpContext, table: &QualifiedName) -> bool {
    ctx.migration
        .ops
        .iter()
        .filter(|op| op.statement > ctx.op.statement)
        .any(|op| matches!(&op.kind, OpKind::CreateOrReplaceView { view, .. } if view == table))
}
