//! SQLAlchemy type classes of the project's own code, read as the type they compile to on
//! PostgreSQL: a `TypeDecorator` renders its `impl` (`impl = Text` is `TEXT`, `impl =
//! postgresql.JSONB` is `JSONB`, `impl = sa.String(40)` is `VARCHAR(40)`). A class that picks
//! its type per dialect in code (`load_dialect_impl`), takes arguments of its own (`__init__`),
//! or is not a TypeDecorator stays a custom type, whose DDL only its code knows.

use std::path::Path;
use std::sync::Arc;

use crate::source::python::classes::{respan, rewrite, ModuleSummary};
use crate::source::python::{Call, Expr, ProjectPython, Resolved, Value};

use super::parse::UpgradeStep;
use super::types::column_type;

/// How many `impl`s that are themselves project TypeDecorators are followed.
const MAX_DEPTH: usize = 8;

/// Rewrites the project type classes in the column types of `steps` (of the revision at
/// `file`) to the types they render.
pub fn resolve(python: &ProjectPython, file: &Path, steps: &mut [UpgradeStep]) {
    let mut module: Option<Option<Arc<ModuleSummary>>> = None;
    let mut replace = |expr: &Expr| {
        let Value::Call(call) = &expr.value else { return None };
        let mut call = call.clone();
        let mut changed = false;
        for slot in type_slots(&mut call) {
            if !column_type(slot).custom {
                continue;
            }
            let Some(module) = module.get_or_insert_with(|| python.migration(file)).as_ref() else { continue };
            if let Some(rendered) = rendered_type(python, module, slot, 0) {
                *slot = respan(&rendered, slot.span);
                changed = true;
            }
        }
        changed.then_some(Expr { value: Value::Call(call), span: expr.span })
    };
    for_each_expr(steps, &mut |expr| rewrite(expr, &mut replace));
}

fn for_each_expr(steps: &mut [UpgradeStep], f: &mut dyn FnMut(&mut Expr)) {
    for step in steps {
        match step {
            UpgradeStep::Call(expr) => f(expr),
            UpgradeStep::With { managers, body, .. } => {
                managers.iter_mut().for_each(|(manager, _)| f(manager));
                for_each_expr(body, f);
            }
            UpgradeStep::Uncertain { body, .. } => for_each_expr(body, f),
            UpgradeStep::Opaque { .. } => {}
        }
    }
}

/// Where a call holds a column type: `sa.Column(name, TYPE, …)`, and the `type_=` and
/// `existing_type=` of `op.alter_column` and friends.
fn type_slots(call: &mut Call) -> Vec<&mut Expr> {
    let column = call.name() == "Column" && call.kwarg("type_").is_none();
    let mut slots: Vec<&mut Expr> = vec![];
    if column {
        let skip = usize::from(call.args.first().is_some_and(|a| matches!(a.value, Value::Str(_))));
        slots.extend(call.args.iter_mut().skip(skip).take(1));
    }
    slots.extend(call.kwargs.iter_mut().filter(|(k, _)| k == "type_" || k == "existing_type").map(|(_, v)| v));
    slots
}

/// The type a project TypeDecorator (named or instantiated by `expr` in `module`) renders.
fn rendered_type(python: &ProjectPython, module: &Arc<ModuleSummary>, expr: &Expr, depth: usize) -> Option<Expr> {
    let (name, call) = match &expr.value {
        Value::Name(name) => (name, None),
        Value::Call(call) if call.receiver.is_none() => (&call.func, Some(call)),
        _ => return None,
    };
    let Resolved::Class(class) = python.resolve(module, name) else { return None };
    let (line, external) = python.lineage(&class);
    let decorator = external.iter().any(|path| path.rsplit('.').next() == Some("TypeDecorator"));
    if !decorator || line.iter().any(|c| c.class.defines("load_dialect_impl") || c.class.defines("__init__")) {
        return None;
    }
    let (owner, implementation) =
        line.iter().find_map(|c| Some((c.module.clone(), c.class.attribute("impl")?.clone())))?;
    // `impl = Text` is instantiated with the decorator's own arguments; `impl = String(40)` is
    // used as it is.
    let rendered = match (implementation.value, call) {
        (Value::Name(impl_name), Some(call)) => {
            Expr { value: Value::Call(Call { func: impl_name, ..call.clone() }), span: expr.span }
        }
        (value @ (Value::Name(_) | Value::Call(_)), _) => Expr { value, span: expr.span },
        _ => return None,
    };
    // An `impl` that is itself a project TypeDecorator renders as that one does.
    let impl_name = match &rendered.value {
        Value::Name(name) => name,
        Value::Call(call) => &call.func,
        _ => return None,
    };
    match python.resolve(&owner, impl_name) {
        Resolved::Class(_) if depth < MAX_DEPTH => rendered_type(python, &owner, &rendered, depth + 1),
        Resolved::Class(_) => None,
        Resolved::External(_) => Some(rendered),
    }
}
