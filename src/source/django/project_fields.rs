//! Field classes of the project's own code (`utilities.fields.ColorField`), read as the Django
//! field they subclass: `class ColorField(models.CharField)` whose `__init__` sets
//! `kwargs["max_length"] = 6` is a `CharField(max_length=6)` to the database. A class that
//! decides its column type in code (`db_type()`, `get_internal_type()`, …), subclasses
//! something outside Django, or whose `__init__` does more than adjust its keyword arguments,
//! is left as written: a custom field class, whose type only its code knows.

use std::path::Path;

use crate::source::python::classes::{names_a_class, rewrite, ModuleSummary};
use crate::source::python::{Call, Expr, ProjectPython, Resolved, Value};

use super::state::{DjangoSettings, KNOWN_CLASSES};

/// Methods whose override changes the column Django writes.
const TYPE_METHODS: &[&str] =
    &["db_type", "rel_db_type", "db_parameters", "get_internal_type", "db_type_suffix", "cast_db_type", "db_check"];

/// Rewrites the project field classes in `operations` (of the migration at `file`) to the
/// Django field each stands for. A class `[django] field_types` maps is left as written: the
/// user's word wins.
pub fn resolve(python: &ProjectPython, file: &Path, settings: &DjangoSettings, operations: &mut [Expr]) {
    // Django's own modules, as `makemigrations` writes them, hold no project class: the
    // operations (`migrations.AddField`), fields, indexes and constraints (`models.Index`).
    let known = |name: &str| {
        let last = name.rsplit('.').next().unwrap_or(name);
        ["migrations.", "models.", "django."].iter().any(|module| name.starts_with(module))
            || KNOWN_CLASSES.contains(&last)
            || settings.field_types.contains_key(last)
    };
    let mut module: Option<Option<std::sync::Arc<ModuleSummary>>> = None;
    for operation in operations {
        rewrite(operation, &mut |expr| {
            let Value::Call(call) = &expr.value else { return None };
            if !names_a_class(expr, &known) {
                return None;
            }
            let module = module.get_or_insert_with(|| python.migration(file)).as_ref()?;
            let field = django_field(python, module, call, expr.span)?;
            Some(Expr { value: Value::Call(field), span: expr.span })
        });
    }
}

/// The Django field call `call` stands for, when its class is the project's and that is known.
fn django_field(
    python: &ProjectPython,
    module: &std::sync::Arc<ModuleSummary>,
    call: &Call,
    at: crate::ir::Span,
) -> Option<Call> {
    let Resolved::Class(class) = python.resolve(module, &call.func) else { return None };
    let (line, external) = python.lineage(&class);
    if line.iter().any(|c| TYPE_METHODS.iter().any(|m| c.class.defines(m))) {
        return None;
    }
    // Every base outside the project is Django's own, and one is a field lockgate knows.
    if !external.iter().all(|path| path.starts_with("django.") || path == "object") {
        return None;
    }
    let base = external.iter().find(|path| {
        let last = path.rsplit('.').next().unwrap_or(path);
        KNOWN_CLASSES.contains(&last)
    })?;
    let mut passed = call.clone();
    for ancestor in &line {
        match &ancestor.class.constructor {
            None => {}
            Some(Ok(constructor)) => passed = constructor.apply(&passed, at),
            Some(Err(_)) => return None,
        }
    }
    passed.func = base.clone();
    Some(passed)
}
