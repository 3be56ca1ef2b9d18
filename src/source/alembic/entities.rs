//! `alembic_utils` replaceable entities: `op.create_entity(PGTrigger(…))`,
//! `op.replace_entity(PGView(…))`, `op.drop_entity(PGFunction(…))`. The entity classes are
//! plain values; the operations say what they do to PostgreSQL.

use crate::ir::{DroppedObject, OpKind, QualifiedName};
use crate::source::python::{Call, Expr};

/// The entity classes, whose constructors only build values.
pub const CLASSES: &[&str] = &[
    "PGFunction",
    "PGProcedure",
    "PGAggregate",
    "PGTrigger",
    "PGView",
    "PGMaterializedView",
    "PGExtension",
    "PGPolicy",
    "PGGrantTable",
];

#[derive(Clone, Copy, PartialEq)]
pub enum Action {
    Create,
    Replace,
    Drop,
}

impl Action {
    pub fn of(operation: &str) -> Option<Action> {
        match operation {
            "create_entity" => Some(Action::Create),
            "replace_entity" => Some(Action::Replace),
            "drop_entity" => Some(Action::Drop),
            _ => None,
        }
    }
}

/// What an entity operation does, or why it cannot be told.
pub fn lower(action: Action, entity: Option<&Expr>) -> Result<OpKind, String> {
    let Some(entity) = entity.and_then(Expr::as_call) else {
        return Err("with an entity lockgate cannot read".into());
    };
    let name = || qualified(entity.arg("schema", 0), entity.arg("signature", 1));
    let tag = |what: &str| {
        let verb = match action {
            Action::Create => "CREATE",
            Action::Replace => "CREATE OR REPLACE",
            Action::Drop => "DROP",
        };
        Ok(OpKind::Other { tag: format!("{verb} {what}") })
    };
    match (entity.name(), action) {
        ("PGTrigger", Action::Drop) => Ok(OpKind::DropTrigger { table: trigger_table(entity)? }),
        ("PGTrigger", _) => Ok(OpKind::CreateTrigger { table: trigger_table(entity)? }),
        ("PGView", Action::Drop) => Ok(dropped(DroppedObject::View, name())),
        ("PGView", _) => Ok(OpKind::CreateOrReplaceView { view: name(), replace: action == Action::Replace }),
        ("PGMaterializedView", Action::Drop) => Ok(dropped(DroppedObject::MaterializedView, name())),
        ("PGMaterializedView", _) => Ok(OpKind::CreateTableAs { table: name(), materialized_view: true }),
        ("PGFunction" | "PGProcedure" | "PGAggregate", _) => tag("FUNCTION"),
        ("PGExtension", _) => tag("EXTENSION"),
        ("PGPolicy", _) => tag("POLICY"),
        ("PGGrantTable", _) => tag("GRANT"),
        (other, _) => Err(format!("with a `{other}` entity lockgate does not know")),
    }
}

fn dropped(object: DroppedObject, name: QualifiedName) -> OpKind {
    OpKind::Drop { object, names: vec![name.to_string()] }
}

/// `PGTrigger(…, on_entity="public.orders", …)`: the table the trigger is on.
fn trigger_table(entity: &Call) -> Result<QualifiedName, String> {
    let on = entity.arg("on_entity", 2).and_then(Expr::as_str).ok_or("on a table lockgate cannot read")?;
    Ok(match on.split_once('.') {
        Some((schema, table)) => QualifiedName::new(Some(schema.to_string()), table),
        None => QualifiedName::unqualified(on),
    })
}

fn qualified(schema: Option<&Expr>, signature: Option<&Expr>) -> QualifiedName {
    let schema = schema.and_then(Expr::as_str).map(str::to_string);
    let signature = signature.and_then(Expr::as_str).unwrap_or("(an entity)");
    QualifiedName::new(schema, signature)
}
