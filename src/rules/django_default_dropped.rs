//! A column added with a default that the same migration drops again (Django's AddField with a
//! Python `default=`): old code that inserts without the column fails mid-deploy.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::{Framework, OpKind};

pub const RULE: Rule = Rule::on_op(
    "django-default-dropped",
    Category::Compatibility,
    Severity::Warning,
    "a NOT NULL column added with a default that is dropped right away: inserts from code deployed before it fail",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::SetDefault { table, column, default: None, .. } = &ctx.op.kind else { return };
    let Some(previous) = ctx.previous() else { return };
    let OpKind::AddColumn { table: added_to, column: added } = &previous.kind else { return };
    if added_to != table || &added.name != column || !added.not_null || added.default.is_none() {
        return;
    }
    if ctx.is_new_table(table) {
        return;
    }
    // A default set again before the migration ends is all that code deployed later sees.
    let later = ctx.later_ops();
    let last_default = later.iter().rev().find_map(|op| match &op.kind {
        OpKind::SetDefault { table: t, column: c, default, .. } if t == table && c == column => Some(default),
        _ => None,
    });
    if matches!(last_default, Some(Some(_))) {
        return;
    }
    // An operation lockgate could not read (a third-party one that restores the default, a
    // RunSQL built at run time) may set it again: the default is unknown, which that
    // operation's own `unanalyzable-operation` note already says.
    if later.iter().any(|op| matches!(op.kind, OpKind::Opaque { .. } | OpKind::Unparsed { .. })) {
        return;
    }
    let help = match ctx.framework() {
        Framework::Django => format!(
            "use `db_default=` (Django 5+) instead of `default=` so the database keeps the default, or add `{column}` with `null=True` first and make it NOT NULL once every running version sets it"
        ),
        Framework::Alembic => "pass `server_default=` and keep it until every running version writes the column".to_string(),
        Framework::Sql => format!("keep the default (`ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT …`) until every running version writes the column"),
    };
    out.push(ctx.violation(
        format!(
            "`{table}.{column}` is added NOT NULL with a default that is dropped again in the same migration: during a rolling deploy the old application version inserts rows without `{column}` and fails with a NOT NULL violation"
        ),
        help,
    ));
}
