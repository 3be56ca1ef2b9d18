//! Reads one Django migration file statically: the `Migration` class and its attributes.

use crate::ir::Span;
use crate::source::python::{self, Expr, Module, Value};

/// `(app_label, migration name)`; the name may be `__first__` or `__latest__`.
pub type Key = (String, String);

/// A dependency as written: a key, or a swappable model setting.
#[derive(Debug, Clone, PartialEq)]
pub enum Dependency {
    Migration(Key),
    /// `migrations.swappable_dependency(settings.AUTH_USER_MODEL)`: the app of that model.
    Swappable(String),
}

#[derive(Debug)]
pub struct ParsedMigration {
    pub dependencies: Vec<(Dependency, Span)>,
    pub replaces: Vec<Key>,
    pub run_before: Vec<Key>,
    pub atomic: bool,
    pub initial: bool,
    /// The `operations` list, one expression per operation.
    pub operations: Vec<Expr>,
    /// Where `operations` is, for an empty or dynamic list.
    pub operations_span: Span,
    /// `operations` could not be read as a list (built at run time).
    pub dynamic_operations: Option<String>,
}

/// Why a file could not be read as a migration.
pub struct ParseFailure {
    pub span: Span,
    pub message: String,
    /// The file parses but defines no `class Migration`: no Django migration at all.
    pub no_migration_class: bool,
}

pub fn parse(module: &Module, app: &str) -> Result<ParsedMigration, ParseFailure> {
    if let Some(error) = module.syntax_error() {
        return Err(ParseFailure { span: error.span, message: error.message, no_migration_class: false });
    }
    let Some(class) = module.class("Migration") else {
        return Err(ParseFailure {
            span: Span::default(),
            message: "no `class Migration` in this file: Django refuses to load it from an installed app's migrations package (if this folder is not an app's, exclude it in lockgate.toml)".into(),
            no_migration_class: true,
        });
    };
    let mut parsed = ParsedMigration {
        dependencies: vec![],
        replaces: vec![],
        run_before: vec![],
        atomic: true,
        initial: false,
        operations: vec![],
        operations_span: python::span(class),
        dynamic_operations: None,
    };
    for (name, node) in module.assignments(class) {
        let value = module.eval(node);
        match name {
            "dependencies" => parsed.dependencies = dependencies(&value, app),
            "replaces" => parsed.replaces = keys(&value, app),
            "run_before" => parsed.run_before = keys(&value, app),
            "atomic" => parsed.atomic = value.as_bool().unwrap_or(true),
            "initial" => parsed.initial = value.as_bool().unwrap_or(false),
            "operations" => {
                parsed.operations_span = value.span;
                match value.value {
                    Value::List(items) | Value::Tuple(items) | Value::Set(items) => parsed.operations = items,
                    Value::Dynamic(what) => parsed.dynamic_operations = Some(what),
                    other => parsed.dynamic_operations = Some(format!("{other:?}")),
                }
            }
            _ => {}
        }
    }
    Ok(parsed)
}

fn dependencies(value: &Expr, app: &str) -> Vec<(Dependency, Span)> {
    value
        .items()
        .unwrap_or_default()
        .iter()
        .filter_map(|item| {
            if let Some(call) = item.as_call() {
                if call.name() == "swappable_dependency" {
                    let setting = match call.args.first().map(|a| &a.value) {
                        Some(Value::Name(name)) => name.rsplit('.').next().unwrap_or(name).to_string(),
                        Some(Value::Str(model)) => model.clone(),
                        _ => "AUTH_USER_MODEL".to_string(),
                    };
                    return Some((Dependency::Swappable(setting), item.span));
                }
            }
            key(item, app).map(|k| (Dependency::Migration(k), item.span))
        })
        .collect()
}

fn keys(value: &Expr, app: &str) -> Vec<Key> {
    value.items().unwrap_or_default().iter().filter_map(|item| key(item, app)).collect()
}

fn key(item: &Expr, app: &str) -> Option<Key> {
    let parts = item.items()?;
    let label = parts.first()?.as_str()?;
    let name = parts.get(1)?.as_str()?;
    let label = if label.is_empty() { app } else { label };
    Some((label.to_string(), name.to_string()))
}
