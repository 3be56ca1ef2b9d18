//! RENAME TO: every running version of the application still uses the old table name.

use super::{OpContext, Rule, Severity, Violation};
use crate::ir::{Framework, OpKind};

pub const RULE: Rule = Rule::on_op(
    "rename-table",
    Severity::Warning,
    "renaming a table breaks every running application version that still uses the old name",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::RenameTable { table, new_name } = &ctx.op.kind else { return };
    if ctx.is_new_table(table) {
        return;
    }
    let help = match ctx.framework() {
        Framework::Django => format!("keep the table name: rename the model and set `db_table = '{}'` in its Meta", table.name),
        _ => format!("rename, then in the same transaction `CREATE VIEW {table} AS SELECT * FROM {new_name};` so old code keeps working (a simple view is updatable); drop the view once every deployment uses `{new_name}`"),
    };
    out.push(ctx.violation(
        format!("renaming `{table}` to `{new_name}` is instant, but application code deployed before this migration still queries `{table}` and fails until it is replaced"),
        help,
    ));
}
