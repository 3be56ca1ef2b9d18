//! What an environment's `env.py` sets on the connection before Alembic runs the revisions:
//! `connection.execute(text("SET lock_timeout = '4s'"))` and the like, read statically.

use std::path::Path;

use crate::ir::{OpKind, SourceFile};
use crate::source::python::{children, kind, Module, Value};
use crate::source::sql;

/// The `lock_timeout` and `statement_timeout` that `env.py` in `environment` SETs, as
/// `(name, value)` in the order written. Any string literal holding such a `SET` counts: the
/// call it is passed to (`connection.execute`, `context.execute`, an event listener) runs it on
/// the connection the revisions use.
pub fn session_settings(environment: &Path) -> Vec<(String, String)> {
    let path = environment.join("env.py");
    let Ok(text) = std::fs::read_to_string(&path) else { return vec![] };
    if !text.contains("_timeout") {
        return vec![];
    }
    let source = SourceFile::new(path, text);
    let Some(module) = Module::parse(source.text_lf()) else { return vec![] };
    let mut settings = vec![];
    let mut stack = vec![module.root()];
    while let Some(node) = stack.pop() {
        if kind(node) == "string" {
            if let Value::Str(statement) = module.eval(node).value {
                settings.extend(timeouts_set_by(&statement));
            }
        } else {
            let mut inner: Vec<_> = children(node).collect();
            inner.reverse();
            stack.extend(inner);
        }
    }
    settings
}

fn timeouts_set_by(statement: &str) -> Vec<(String, String)> {
    if !statement.contains("_timeout") {
        return vec![];
    }
    let loaded = sql::load(statement, 0..statement.len(), &[], 0);
    loaded
        .ops
        .into_iter()
        .filter_map(|op| match op.kind {
            OpKind::Setting { name, value: Some(value), .. }
                if name == "lock_timeout" || name == "statement_timeout" =>
            {
                Some((name, value))
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_in_env_py_are_read_in_order_and_comments_are_not() {
        let dir = tempfile::tempdir().expect("temp dir");
        let env = "from alembic import context\nfrom sqlalchemy import text\n\n\
            def run_migrations_online():\n    with connectable.connect() as connection:\n        \
            # connection.execute(text(\"SET lock_timeout = '60s'\"))\n        \
            connection.execute(text(\"SET lock_timeout = '4s'\"))\n        \
            connection.execute(text(\"SET statement_timeout TO 30000\"))\n";
        std::fs::write(dir.path().join("env.py"), env).expect("write");
        let settings = session_settings(dir.path());
        let names: Vec<&str> = settings.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["lock_timeout", "statement_timeout"]);
        let ms: Vec<Option<u64>> = settings.iter().map(|(_, v)| crate::units::parse_duration_ms(v)).collect();
        assert_eq!(ms, [Some(4000), Some(30000)]);
    }
}
