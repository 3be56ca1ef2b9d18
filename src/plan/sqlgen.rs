//! SQL for the safe recipes: statements edited through PostgreSQL's own parse tree (add
//! CONCURRENTLY, add NOT VALID, split an ALTER TABLE into one statement per action) and the
//! few statements a recipe writes itself, with every identifier quoted.

use pg_query::protobuf::{self, AlterTableType, ConstrType};
use pg_query::{DeparseOptions, NodeEnum};

use crate::ir::quote_identifier as ident;
use crate::source::sql::pgparse;

/// The one statement in `sql`, parsed.
pub fn parse_one(sql: &str) -> Option<NodeEnum> {
    let mut statements = pgparse::parse(sql).ok()?.stmts.into_iter();
    let first = statements.next()?.stmt?.node?;
    statements.next().is_none().then_some(first)
}

pub fn deparse(node: &NodeEnum) -> Option<String> {
    node.deparse(DeparseOptions::default()).ok()
}

/// `CREATE INDEX …` → `CREATE INDEX CONCURRENTLY …`, everything else kept.
pub fn concurrently(node: &NodeEnum) -> Option<String> {
    let NodeEnum::IndexStmt(stmt) = node else { return None };
    let mut stmt = stmt.clone();
    stmt.concurrent = true;
    deparse(&NodeEnum::IndexStmt(stmt))
}

/// `DROP INDEX …` → `DROP INDEX CONCURRENTLY …` (one index at a time, no CASCADE).
pub fn drop_concurrently(node: &NodeEnum) -> Option<String> {
    let NodeEnum::DropStmt(stmt) = node else { return None };
    let cascade = stmt.behavior == protobuf::DropBehavior::DropCascade as i32;
    if stmt.objects.len() != 1 || cascade {
        return None;
    }
    let mut stmt = stmt.clone();
    stmt.concurrent = true;
    deparse(&NodeEnum::DropStmt(stmt))
}

/// An ALTER TABLE with several actions, as one ALTER TABLE per action (same order).
pub fn split_alter(node: &NodeEnum) -> Vec<NodeEnum> {
    let NodeEnum::AlterTableStmt(stmt) = node else { return vec![node.clone()] };
    if stmt.cmds.len() < 2 {
        return vec![node.clone()];
    }
    stmt.cmds
        .iter()
        .map(|cmd| {
            let mut one = stmt.clone();
            one.cmds = vec![cmd.clone()];
            NodeEnum::AlterTableStmt(one)
        })
        .collect()
}

/// The one action of a single-action ALTER TABLE.
fn single_cmd(node: &NodeEnum) -> Option<&protobuf::AlterTableCmd> {
    let NodeEnum::AlterTableStmt(stmt) = node else { return None };
    match stmt.cmds.as_slice() {
        [cmd] => match &cmd.node {
            Some(NodeEnum::AlterTableCmd(cmd)) => Some(cmd),
            _ => None,
        },
        _ => None,
    }
}

/// `ALTER TABLE t ADD CONSTRAINT …` → the same constraint, named `name`, `NOT VALID`.
pub fn add_constraint_not_valid(node: &NodeEnum, name: &str) -> Option<String> {
    edit_constraint(node, |constraint| {
        constraint.conname = name.to_string();
        constraint.skip_validation = true;
        constraint.initially_valid = false;
    })
}

/// `ALTER TABLE t ADD CONSTRAINT …` with the constraint named `name` (as written otherwise).
pub fn add_constraint_named(node: &NodeEnum, name: &str) -> Option<String> {
    edit_constraint(node, |constraint| constraint.conname = name.to_string())
}

/// What `ADD CONSTRAINT … UNIQUE|PRIMARY KEY (…)` asks of its index beyond the key columns,
/// written after them in `CREATE UNIQUE INDEX … (…)`: ` INCLUDE (…)`, ` NULLS NOT DISTINCT`.
pub fn unique_index_suffix(node: &NodeEnum) -> Option<String> {
    let constraint = added_constraint(node)?;
    let include: Vec<String> = constraint
        .including
        .iter()
        .filter_map(|n| match n.node.as_ref()? {
            NodeEnum::String(s) => Some(ident(&s.sval)),
            _ => None,
        })
        .collect();
    let mut suffix = String::new();
    if !include.is_empty() {
        suffix.push_str(&format!(" INCLUDE ({})", include.join(", ")));
    }
    if constraint.nulls_not_distinct {
        suffix.push_str(" NULLS NOT DISTINCT");
    }
    Some(suffix)
}

/// `ALTER TABLE t ADD CONSTRAINT name UNIQUE|PRIMARY KEY USING INDEX name`, keeping what the
/// constraint itself says (DEFERRABLE, INITIALLY DEFERRED); its index carries the rest.
pub fn attach_using_index(node: &NodeEnum, name: &str) -> Option<String> {
    edit_constraint(node, |constraint| {
        constraint.conname = name.to_string();
        constraint.indexname = name.to_string();
        constraint.keys.clear();
        constraint.including.clear();
        constraint.nulls_not_distinct = false;
    })
}

fn added_constraint(node: &NodeEnum) -> Option<&protobuf::Constraint> {
    let NodeEnum::AlterTableStmt(stmt) = node else { return None };
    let cmd = match stmt.cmds.first()?.node.as_ref()? {
        NodeEnum::AlterTableCmd(cmd) if cmd.subtype == AlterTableType::AtAddConstraint as i32 => cmd,
        _ => return None,
    };
    match cmd.def.as_deref().and_then(|d| d.node.as_ref()) {
        Some(NodeEnum::Constraint(constraint)) => Some(constraint),
        _ => None,
    }
}

fn edit_constraint(node: &NodeEnum, edit: impl FnOnce(&mut protobuf::Constraint)) -> Option<String> {
    let NodeEnum::AlterTableStmt(stmt) = node else { return None };
    let mut stmt = stmt.clone();
    let cmd = match stmt.cmds.first_mut()?.node.as_mut()? {
        NodeEnum::AlterTableCmd(cmd) if cmd.subtype == AlterTableType::AtAddConstraint as i32 => cmd,
        _ => return None,
    };
    let Some(NodeEnum::Constraint(constraint)) = cmd.def.as_deref_mut().and_then(|d| d.node.as_mut()) else {
        return None;
    };
    edit(constraint);
    deparse(&NodeEnum::AlterTableStmt(stmt))
}

/// What an `ADD COLUMN` becomes when its NOT NULL and per-row default are taken out: the
/// plain column definition, and the default's expression.
pub struct SplitColumn {
    /// `ALTER TABLE t ADD COLUMN c type` (nullable, no default).
    pub add: String,
    pub default: Option<String>,
}

pub fn add_column_without_default(node: &NodeEnum) -> Option<SplitColumn> {
    let NodeEnum::AlterTableStmt(stmt) = node else { return None };
    let mut stmt = stmt.clone();
    let cmd = match stmt.cmds.first_mut()?.node.as_mut()? {
        NodeEnum::AlterTableCmd(cmd) if cmd.subtype == AlterTableType::AtAddColumn as i32 => cmd,
        _ => return None,
    };
    let Some(NodeEnum::ColumnDef(column)) = cmd.def.as_deref_mut().and_then(|d| d.node.as_mut()) else {
        return None;
    };
    let mut default = column.raw_default.take().and_then(|expr| expression(&expr));
    column.is_not_null = false;
    column.constraints.retain(|c| match &c.node {
        Some(NodeEnum::Constraint(c)) if c.contype == ConstrType::ConstrDefault as i32 => {
            default = c.raw_expr.as_deref().and_then(expression);
            false
        }
        Some(NodeEnum::Constraint(c)) => c.contype != ConstrType::ConstrNotnull as i32,
        _ => true,
    });
    Some(SplitColumn { add: deparse(&NodeEnum::AlterTableStmt(stmt))?, default })
}

/// An expression's SQL text, through a `SELECT <expr>` round trip (a parsed `SELECT 1` gives
/// a statement whose every field is valid for the deparser).
fn expression(expr: &protobuf::Node) -> Option<String> {
    let Some(NodeEnum::SelectStmt(mut select)) = parse_one("SELECT 1") else { return None };
    let Some(NodeEnum::ResTarget(target)) = select.target_list.first_mut().and_then(|t| t.node.as_mut()) else {
        return None;
    };
    target.val = Some(Box::new(expr.clone()));
    let text = deparse(&NodeEnum::SelectStmt(select))?;
    text.strip_prefix("SELECT ").map(str::to_string)
}

/// `ALTER TABLE t ALTER COLUMN c TYPE <type>`, without USING or with `USING c::<type>` → the
/// type as SQL (`bigint`, `numeric(12,2)`): a change that is a cast of the column.
pub fn new_type_of_cast(node: &NodeEnum) -> Option<String> {
    let cmd = single_cmd(node)?;
    if cmd.subtype != AlterTableType::AtAlterColumnType as i32 {
        return None;
    }
    let Some(NodeEnum::ColumnDef(column)) = cmd.def.as_deref().and_then(|d| d.node.as_ref()) else { return None };
    if column.coll_clause.is_some() {
        return None;
    }
    let text = deparse(node)?;
    let (_, ty) = text.rsplit_once(" TYPE ")?;
    match ty.split_once(" USING ") {
        None => Some(ty.to_string()),
        // `USING col::type` (Django writes it for every cast) converts as the recipe does.
        Some((ty, using)) => {
            let unquoted = |s: &str| s.replace('"', "");
            (unquoted(using) == format!("{}::{}", unquoted(&cmd.name), unquoted(ty))).then(|| ty.to_string())
        }
    }
}

/// A plain `UPDATE t SET … [WHERE …]`: no alias, FROM, RETURNING or WITH — one that can run
/// in batches with its SET list and WHERE condition as written.
pub struct SimpleUpdate {
    pub set: String,
    pub condition: Option<String>,
}

pub fn simple_update(node: &NodeEnum) -> Option<SimpleUpdate> {
    let NodeEnum::UpdateStmt(update) = node else { return None };
    let aliased = update.relation.as_ref().is_some_and(|r| r.alias.is_some());
    if aliased || !update.from_clause.is_empty() || update.returning_clause.is_some() || update.with_clause.is_some() {
        return None;
    }
    let assignments: Option<Vec<String>> = update
        .target_list
        .iter()
        .map(|target| match &target.node {
            Some(NodeEnum::ResTarget(target)) if target.indirection.is_empty() => {
                Some(format!("{} = {}", ident(&target.name), expression(target.val.as_deref()?)?))
            }
            _ => None,
        })
        .collect();
    let condition = match &update.where_clause {
        Some(condition) => Some(expression(condition)?),
        None => None,
    };
    Some(SimpleUpdate { set: assignments?.join(", "), condition })
}

/// Does this single-action ALTER TABLE add a constraint that names an index (`USING INDEX`)?
pub fn uses_index(node: &NodeEnum) -> bool {
    single_cmd(node)
        .and_then(|cmd| cmd.def.as_deref())
        .is_some_and(|d| matches!(&d.node, Some(NodeEnum::Constraint(c)) if !c.indexname.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_edited_through_the_parse_tree() {
        let index =
            parse_one("CREATE UNIQUE INDEX i ON s.t USING btree (lower(email)) WHERE deleted_at IS NULL").unwrap();
        assert_eq!(
            concurrently(&index).unwrap(),
            "CREATE UNIQUE INDEX CONCURRENTLY i ON s.t USING btree (lower(email)) WHERE deleted_at IS NULL"
        );
        let fk =
            parse_one("ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE").unwrap();
        assert_eq!(
            add_constraint_not_valid(&fk, "orders_user_id_fkey").unwrap(),
            "ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE NOT VALID"
        );
        let multi = parse_one("ALTER TABLE t ADD COLUMN a int, DROP COLUMN b").unwrap();
        let parts: Vec<String> = split_alter(&multi).iter().map(|n| deparse(n).unwrap()).collect();
        assert_eq!(parts, ["ALTER TABLE t ADD COLUMN a int", "ALTER TABLE t DROP b"]);
        let column = parse_one("ALTER TABLE t ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid()").unwrap();
        let split = add_column_without_default(&column).unwrap();
        assert_eq!(split.add, "ALTER TABLE t ADD COLUMN token uuid");
        assert_eq!(split.default.as_deref(), Some("gen_random_uuid()"));
    }
}
