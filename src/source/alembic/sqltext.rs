//! SQL written inside Python: server defaults, CHECK conditions and `op.execute` text. Each
//! is judged by the SQL front end (PostgreSQL's parser and lockgate's lowering), so an
//! Alembic default is classified exactly like the same default in a `.sql` file.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::ir::{quote_identifier, ConstraintKind, DefaultExpr, Op, OpKind};
use crate::source::python::{Expr, Value};
use crate::source::sql;

/// `O'Brien` → `'O''Brien'`, the literal SQLAlchemy renders for a string `server_default`.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// What Python's `json.dumps` returns for a literal value, with its default separators and
/// `ensure_ascii`; `None` for what is not a literal JSON can hold.
pub fn json_dumps(value: &Expr) -> Option<String> {
    Some(match &value.value {
        Value::None => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Str(text) => json_string(text),
        Value::List(items) | Value::Tuple(items) => {
            format!("[{}]", items.iter().map(json_dumps).collect::<Option<Vec<_>>>()?.join(", "))
        }
        Value::Dict(entries) => {
            let entries = entries
                .iter()
                .map(|(key, value)| {
                    let key = match &key.value {
                        Value::Str(text) => text.clone(),
                        Value::Int(i) => i.to_string(),
                        _ => return None,
                    };
                    Some(format!("{}: {}", json_string(&key), json_dumps(value)?))
                })
                .collect::<Option<Vec<_>>>()?;
            format!("{{{}}}", entries.join(", "))
        }
        _ => return None,
    })
}

/// A JSON string as Python writes it: `"`, `\\` and control characters escaped, and every
/// character outside ASCII as `\uXXXX` (UTF-16 units).
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// Classifies a default expression by parsing it as the DEFAULT of an added column: `None` for a
/// NULL constant, which PostgreSQL stores as no default. The same few defaults (`now()`,
/// `'{}'::jsonb`) recur in every revision, so results are remembered.
pub fn classify_default(expression: &str) -> Option<DefaultExpr> {
    thread_local! {
        static SEEN: RefCell<HashMap<String, Option<DefaultExpr>>> = RefCell::new(HashMap::new());
    }
    if let Some(known) = SEEN.with(|seen| seen.borrow().get(expression).cloned()) {
        return known;
    }
    let classified = parse_default(expression);
    SEEN.with(|seen| seen.borrow_mut().insert(expression.to_string(), classified.clone()));
    classified
}

fn parse_default(expression: &str) -> Option<DefaultExpr> {
    let statement = format!("ALTER TABLE t ADD COLUMN c integer DEFAULT {expression}");
    let loaded = sql::load(&statement, 0..statement.len(), &[], 0);
    if let [Op { kind: OpKind::AddColumn { column, .. }, .. }] = loaded.ops.as_slice() {
        return column.default.clone();
    }
    // What does not parse is unknown: the conservative reading is a per-row default.
    Some(DefaultExpr::Volatile(expression.trim().to_string()))
}

/// Whether `postgresql_using` recomputes the column's values, judged by the SQL front end as
/// the statement Alembic renders: the column itself or its cast to the new type does not.
pub fn using_recomputes(column: &str, new_type: &str, using: &str) -> bool {
    let statement = format!("ALTER TABLE t ALTER COLUMN {} TYPE {new_type} USING {using}", quote_identifier(column));
    let loaded = sql::load(&statement, 0..statement.len(), &[], 0);
    match loaded.ops.as_slice() {
        [op] => !matches!(op.kind, OpKind::AlterColumnType { using: false, .. }),
        // What does not parse is unknown: the conservative reading is a rewrite.
        _ => true,
    }
}

/// The column a CHECK condition is exactly `col IS NOT NULL` for.
pub fn not_null_column(condition: &str) -> Option<String> {
    // Only a condition that mentions NULL can be one; the parser decides which.
    if !condition.to_ascii_lowercase().contains("null") {
        return None;
    }
    let statement = format!("ALTER TABLE t ADD CHECK ({condition})");
    let loaded = sql::load(&statement, 0..statement.len(), &[], 0);
    match loaded.ops.as_slice() {
        [op] => match &op.kind {
            OpKind::AddConstraint { constraint, .. } => match &constraint.kind {
                ConstraintKind::Check { not_null_column } => not_null_column.clone(),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// The bind parameters of a `sa.text()` string (`:name`), each mapped to `NULL` so that
/// PostgreSQL's parser accepts the statement. SQLAlchemy's own rule: a colon not preceded by
/// a colon, a word character or a backslash, followed by a word, not followed by a colon.
pub fn bind_parameters(text: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut names: Vec<(String, String)> = vec![];
    for (i, &c) in chars.iter().enumerate() {
        if c != ':' || i.checked_sub(1).is_some_and(|p| chars[p] == ':' || chars[p] == '\\' || is_word(chars[p])) {
            continue;
        }
        let word: String = chars[i + 1..].iter().take_while(|c| is_word(**c)).collect();
        let after = chars.get(i + 1 + word.chars().count());
        if word.is_empty() || after == Some(&':') {
            continue;
        }
        let placeholder = format!(":{word}");
        if !names.iter().any(|(p, _)| *p == placeholder) {
            names.push((placeholder, "NULL".into()));
        }
    }
    // Longest first, so `:id` does not eat the start of `:id_list`.
    names.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    names
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_judged_by_the_sql_front_end() {
        assert!(matches!(classify_default("now()"), Some(DefaultExpr::Stable(_))));
        assert!(matches!(classify_default("'active'"), Some(DefaultExpr::Stable(_))));
        assert!(matches!(classify_default("gen_random_uuid()"), Some(DefaultExpr::Volatile(_))));
        assert!(matches!(classify_default("this is not sql ("), Some(DefaultExpr::Volatile(_))));
        assert_eq!(classify_default("NULL"), None);
        assert_eq!(classify_default("NULL::integer"), None);
    }

    #[test]
    fn json_dumps_writes_what_python_writes() {
        let dumps = |python: &str| {
            let text = format!("x = {python}\n");
            let module = crate::source::python::Module::parse(&text).expect("parses");
            json_dumps(&module.module_assignment("x").expect("assigned"))
        };
        // Each expected text is Python's own `json.dumps` of the same literal.
        assert_eq!(dumps("{}").as_deref(), Some("{}"));
        assert_eq!(dumps("[]").as_deref(), Some("[]"));
        assert_eq!(dumps("{'a': [1, True, None], 2: 'x'}").as_deref(), Some(r#"{"a": [1, true, null], "2": "x"}"#));
        assert_eq!(dumps("('q\"', 'é\\n')").as_deref(), Some(r#"["q\"", "\u00e9\n"]"#));
        assert_eq!(dumps("'😀'").as_deref(), Some(r#""\ud83d\ude00""#));
        assert_eq!(dumps("{(1, 2): 3}"), None);
        assert_eq!(dumps("some_name"), None);
    }

    #[test]
    fn a_using_of_the_column_or_its_cast_keeps_the_values() {
        assert!(!using_recomputes("kind", "text", "kind::text"));
        assert!(!using_recomputes("kind", "varchar(1000)", "kind"));
        assert!(using_recomputes("kind", "text", "upper(kind)"));
        assert!(using_recomputes("kind", "text", "other::text"));
        assert!(using_recomputes("kind", "text", "kind::varchar"));
        assert!(using_recomputes("kind", "text", "not sql ("));
    }

    #[test]
    fn not_null_checks_are_recognised() {
        assert_eq!(not_null_column("email IS NOT NULL"), Some("email".into()));
        assert_eq!(not_null_column("price > 0"), None);
    }

    #[test]
    fn bind_parameters_follow_sqlalchemy() {
        let binds = bind_parameters("UPDATE t SET a = :value, b = x::text WHERE id = :id AND c = '\\:lit'");
        let names: Vec<&str> = binds.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(names, vec![":value", ":id"]);
    }
}
