//! What a `RunPython` does, read from its function's body in the migration's own file.
//!
//! A data migration is a hazard (rows locked and rewritten inside the migration), but many
//! RunPython functions change no rows at all: they rename through `schema_editor`, connect a
//! signal, or read. The body is scanned for the calls that write — ORM writes, `bulk_*`,
//! `execute` — following the file's own helper functions; a call lockgate cannot see into (an
//! imported helper, a `schema_editor` method that changes the schema) makes the code unreadable,
//! which is said as such rather than guessed either way.

use std::collections::BTreeSet;

use crate::source::python::{Expr, Prescan, Value};

/// What the code does, as far as its text shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// `RunPython.noop`: nothing runs.
    Noop,
    /// It writes rows (or may: a write call is in its body).
    Writes,
    /// Nothing in it writes rows or changes the schema.
    ChangesNoRows,
    /// It cannot be read through: why.
    Unreadable(String),
}

/// ORM and cursor methods that write rows.
const WRITE_METHODS: &[&str] = &[
    "save",
    "delete",
    "update",
    "create",
    "bulk_create",
    "bulk_update",
    "get_or_create",
    "update_or_create",
    "add",
    "remove",
    "set",
    "clear",
    "execute",
    "executemany",
    "callproc",
    "copy_from",
    "copy_expert",
    "loaddata",
];

/// Functions that write by name (`call_command("loaddata", …)`).
const WRITE_FUNCTIONS: &[&str] = &["call_command"];

/// Built-ins and keywords that look like calls and read nothing outside the function.
const HARMLESS: &[&str] = &[
    "print",
    "len",
    "range",
    "enumerate",
    "zip",
    "list",
    "dict",
    "set",
    "tuple",
    "str",
    "int",
    "float",
    "bool",
    "isinstance",
    "issubclass",
    "getattr",
    "setattr",
    "hasattr",
    "sorted",
    "min",
    "max",
    "sum",
    "any",
    "all",
    "map",
    "filter",
    "iter",
    "next",
    "repr",
    "format",
    "round",
    "abs",
    "super",
    "type",
    "reversed",
    "frozenset",
    "bytes",
    "divmod",
    "hash",
    "id",
    "vars",
    "callable",
    "if",
    "elif",
    "while",
    "for",
    "in",
    "not",
    "and",
    "or",
    "return",
    "yield",
    "assert",
    "with",
    "except",
    "lambda",
    "is",
    "del",
    "raise",
    "await",
    "else",
];

/// Modules whose functions read or compute only.
const HARMLESS_MODULES: &[&str] = &[
    "django",
    "models",
    "migrations",
    "datetime",
    "json",
    "uuid",
    "re",
    "logging",
    "timezone",
    "settings",
    "math",
    "decimal",
    "collections",
    "itertools",
    "functools",
    "os",
    "sys",
    "time",
    "random",
    "string",
    "hashlib",
    "base64",
    "operator",
    "copy",
    "typing",
    "warnings",
    "textwrap",
    "secrets",
    "Q",
    "F",
    "Value",
    "Func",
];

/// Classifies the `code` argument of a RunPython in `text`, the migration file.
pub fn classify(text: &str, code: &Expr) -> Code {
    match &code.value {
        Value::Name(name) if name.ends_with(".noop") || name == "noop" => Code::Noop,
        Value::Name(name) if !name.contains('.') => {
            let file = File { text, layout: Prescan::of(text), imported: imported_names(text) };
            file.function(name, &mut BTreeSet::new())
        }
        Value::Name(name) => Code::Unreadable(format!("runs `{name}`, which is not defined in this file")),
        _ => Code::Unreadable("runs code that is not a function of this file (a lambda or a computed value)".into()),
    }
}

/// The migration file, with its top-level statements and the names it imports.
struct File<'t> {
    text: &'t str,
    layout: Prescan,
    imported: BTreeSet<String>,
}

impl File<'_> {
    /// The top-level `def name(…)` statement, signature and body.
    fn function_text(&self, name: &str) -> Option<&str> {
        self.layout.function(self.text, name).map(|range| &self.text[range])
    }

    /// Classifies the top-level function `name`, following the file's helpers it calls.
    fn function(&self, name: &str, seen: &mut BTreeSet<String>) -> Code {
        if !seen.insert(name.to_string()) {
            return Code::ChangesNoRows;
        }
        let Some(body) = self.function_text(name) else {
            return Code::Unreadable(format!("runs `{name}`, which is not defined at the top of this file"));
        };
        let code = without_strings_and_comments(body);
        let mut result = Code::ChangesNoRows;
        for call in calls(&code) {
            let verdict = match call {
                Call::Method { receiver, method } => {
                    if receiver == "schema_editor" && method != "execute" {
                        Code::Unreadable(format!(
                            "calls `schema_editor.{method}`, a schema change lockgate does not model"
                        ))
                    } else if WRITE_METHODS.contains(&method.as_str()) {
                        Code::Writes
                    } else if self.imported.contains(&receiver) && !HARMLESS_MODULES.contains(&receiver.as_str()) {
                        Code::Unreadable(format!("calls `{receiver}.{method}`, which lockgate cannot read"))
                    } else {
                        Code::ChangesNoRows
                    }
                }
                Call::Function(callee) => {
                    if WRITE_FUNCTIONS.contains(&callee.as_str()) {
                        Code::Writes
                    } else if HARMLESS.contains(&callee.as_str())
                        || callee.starts_with(|c: char| c.is_ascii_uppercase())
                    {
                        Code::ChangesNoRows
                    } else if self.function_text(&callee).is_some() {
                        self.function(&callee, seen)
                    } else {
                        Code::Unreadable(format!("calls `{callee}`, which lockgate cannot read"))
                    }
                }
            };
            match verdict {
                // A write anywhere decides it.
                Code::Writes => return Code::Writes,
                Code::Unreadable(_) if result == Code::ChangesNoRows => result = verdict,
                _ => {}
            }
        }
        result
    }
}

/// The code with string literals and comments blanked out, so text inside them is not read as
/// calls.
fn without_strings_and_comments(code: &str) -> String {
    let bytes = code.as_bytes();
    let mut out = String::with_capacity(code.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'#' {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if b == b'"' || b == b'\'' {
            let triple = bytes[i..].starts_with(&[b, b, b]);
            let quote_len = if triple { 3 } else { 1 };
            i += quote_len;
            while i < bytes.len() {
                if bytes[i] == b'\\' {
                    i += 2;
                    continue;
                }
                if triple && bytes[i..].starts_with(&[b, b, b]) {
                    i += 3;
                    break;
                }
                if !triple && (bytes[i] == b || bytes[i] == b'\n') {
                    i += 1;
                    break;
                }
                i += 1;
            }
            out.push_str("''");
            continue;
        }
        let len = code[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&code[i..i + len]);
        i += len;
    }
    out
}

enum Call {
    /// `receiver.….method(`: the first name of the chain and the method called.
    Method { receiver: String, method: String },
    /// `name(`.
    Function(String),
}

/// Every call in `code`: an identifier followed by `(`, with the dotted chain before it.
fn calls(code: &str) -> Vec<Call> {
    let bytes = code.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut found = vec![];
    let mut i = 0;
    while i < bytes.len() {
        if !is_word(bytes[i]) || (i > 0 && is_word(bytes[i - 1])) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_word(bytes[i]) {
            i += 1;
        }
        let name = &code[start..i];
        let mut j = i;
        while j < bytes.len() && bytes[j] == b' ' {
            j += 1;
        }
        if j >= bytes.len() || bytes[j] != b'(' || name.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        // Walk back over `a.b().c.` to the first name of the chain.
        let before = code[..start].trim_end();
        if let Some(chain) = before.strip_suffix('.') {
            let root = chain
                .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '(' || c == ')'))
                .next()
                .unwrap_or_default();
            let receiver = root.split(['.', '(']).next().unwrap_or_default().to_string();
            found.push(Call::Method { receiver, method: name.to_string() });
        } else if !before.ends_with("def") && !before.ends_with("class") {
            found.push(Call::Function(name.to_string()));
        }
    }
    found
}

/// The names the file imports (`import a.b as c` → `c`, `import a.b` → `a`, `from x import y` → `y`),
/// comments left out and a parenthesised list followed over its lines.
fn imported_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut lines = text.lines().map(|line| line.split('#').next().unwrap_or_default().trim());
    while let Some(line) = lines.next() {
        let list = if let Some(rest) = line.strip_prefix("import ") {
            rest.to_string()
        } else if let Some((_, rest)) = line.strip_prefix("from ").and_then(|rest| rest.split_once(" import ")) {
            let mut list = rest.to_string();
            if list.starts_with('(') {
                while !list.contains(')') {
                    let Some(next) = lines.next() else { break };
                    list.push(' ');
                    list.push_str(next);
                }
            }
            list
        } else {
            continue;
        };
        for item in list.trim_matches(['(', ')', ' ']).split(',') {
            let item = item.trim().trim_end_matches(')').trim();
            let name = match item.split_once(" as ") {
                Some((_, alias)) => alias.trim(),
                None => item.split('.').next().unwrap_or_default(),
            };
            if !name.is_empty() {
                names.insert(name.to_string());
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_read_over_lines_and_past_comments() {
        let names =
            imported_names("from x import (\n    helpers,\n    other as o,\n)\nimport tools  # note\nimport a.b\n");
        assert_eq!(names.into_iter().collect::<Vec<_>>(), ["a", "helpers", "o", "tools"]);
    }
    use crate::ir::Span;

    fn named(name: &str) -> Expr {
        Expr { value: Value::Name(name.into()), span: Span::default() }
    }

    const FILE: &str = r#"
from django.db import migrations
from myapp.backfills import fill_slugs
import helpers


def rename_table(apps, schema_editor):
    schema_editor.alter_db_table(None, "old", "new")


def connect_signal(apps, schema_editor):
    # post_migrate.connect(...) reads the app registry; "save()" in a comment means nothing
    Item = apps.get_model("shop", "Item")
    print("ready", len(list(Item.objects.filter(active=True))))


def forwards(
    apps, schema_editor
):
    Item = apps.get_model("shop", "Item")
    for item in Item.objects.all():
        item.slug = item.name.lower()
        item.save(update_fields=["slug"])


def through_helper(apps, schema_editor):
    _touch(apps)


def _touch(apps):
    apps.get_model("shop", "Item").objects.update(seen=True)


def imported(apps, schema_editor):
    fill_slugs(apps)


def module_helper(apps, schema_editor):
    helpers.backfill(apps)


def raw_sql(apps, schema_editor):
    schema_editor.execute("UPDATE shop_item SET seen = true")


class Migration(migrations.Migration):
    operations = []
"#;

    #[test]
    fn a_body_is_judged_by_the_calls_it_makes() {
        assert_eq!(classify(FILE, &named("forwards")), Code::Writes);
        assert_eq!(classify(FILE, &named("through_helper")), Code::Writes, "the file's own helpers are followed");
        assert_eq!(classify(FILE, &named("raw_sql")), Code::Writes);
        assert_eq!(classify(FILE, &named("connect_signal")), Code::ChangesNoRows);
        assert_eq!(classify(FILE, &named("migrations.RunPython.noop")), Code::Noop);
        for (name, says) in [
            ("rename_table", "schema_editor.alter_db_table"),
            ("imported", "`fill_slugs`"),
            ("module_helper", "`helpers.backfill`"),
            ("missing", "not defined"),
            ("other_module.forwards", "not defined in this file"),
        ] {
            match classify(FILE, &named(name)) {
                Code::Unreadable(why) => assert!(why.contains(says), "{name}: {why}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}
