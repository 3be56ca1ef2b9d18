//! The code tokens of a migration file, without comments and layout: two versions of a file
//! with the same tokens run the same statements. Each language is split by its own lexer
//! (PostgreSQL's scanner, tree-sitter's Python grammar), so `--` inside a string stays code.

use std::ops::Range;

use tree_sitter::{Node, Parser};

use crate::ir::Framework;

/// Byte ranges of the code tokens of `text`, in order.
pub fn code_tokens(framework: Framework, text: &str) -> Vec<Range<usize>> {
    let tokens = match framework {
        Framework::Sql => sql_tokens(text),
        Framework::Django | Framework::Alembic => python_tokens(text),
    };
    // A file the lexer cannot read (a NUL byte, an unterminated quote) still compares, by words.
    tokens.unwrap_or_else(|| words(text))
}

fn sql_tokens(text: &str) -> Option<Vec<Range<usize>>> {
    use pg_query::protobuf::Token;
    let comments = [Token::SqlComment as i32, Token::CComment as i32];
    let tokens = pg_query::scan_tokens(text).ok()?;
    let ranges = tokens
        .iter()
        .filter(|t| !comments.contains(&t.token))
        .filter_map(|t| Some(usize::try_from(t.start).ok()?..usize::try_from(t.end).ok()?))
        .collect();
    Some(ranges)
}

fn python_tokens(text: &str) -> Option<Vec<Range<usize>>> {
    let mut parser = Parser::new();
    parser.set_language(&tree_sitter_python::LANGUAGE.into()).ok()?;
    let tree = parser.parse(text, None)?;
    let mut ranges = vec![];
    collect_leaves(tree.root_node(), &mut ranges);
    Some(ranges)
}

/// Leaves in order, skipping comments. A string literal counts as one token: its parts
/// (escapes, interpolations) are all code.
fn collect_leaves(node: Node, out: &mut Vec<Range<usize>>) {
    if node.kind() == "comment" {
        return;
    }
    if node.child_count() == 0 || node.kind() == "string" {
        if !node.byte_range().is_empty() {
            out.push(node.byte_range());
        }
        return;
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        collect_leaves(child, out);
    }
}

fn words(text: &str) -> Vec<Range<usize>> {
    let mut ranges = vec![];
    let mut start = None;
    for (i, ch) in text.char_indices() {
        match (ch.is_whitespace(), start) {
            (true, Some(s)) => {
                ranges.push(s..i);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        ranges.push(s..text.len());
    }
    ranges
}

/// Where `after` first departs from `before`, token by token (a range in `after`); `None`
/// when they have the same code. A deletion at the end points at the last token of `after`.
pub fn first_difference(framework: Framework, before: &str, after: &str) -> Option<Range<usize>> {
    let old = code_tokens(framework, before);
    let new = code_tokens(framework, after);
    let differs = old.iter().zip(&new).position(|(o, n)| before[o.clone()] != after[n.clone()]);
    match differs {
        Some(i) => Some(new[i].clone()),
        None if old.len() == new.len() => None,
        None if new.len() > old.len() => Some(new[old.len()].clone()),
        None => Some(new.last().cloned().unwrap_or(0..0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_comments_and_layout_do_not_count() {
        let before = "CREATE TABLE t (id int);\n";
        let after = "-- lockgate: ignore prefer-bigint -- tiny table\nCREATE TABLE t (\n  id int\n);\n";
        assert_eq!(first_difference(Framework::Sql, before, after), None);
    }

    #[test]
    fn sql_change_is_located() {
        let before = "CREATE TABLE t (id int);\n";
        let after = "CREATE TABLE t (id bigint);\n";
        let at = first_difference(Framework::Sql, before, after).expect("a difference");
        assert_eq!(&after[at], "bigint");
    }

    #[test]
    fn comment_markers_inside_strings_are_code() {
        let before = "SELECT '-- a';\n";
        let after = "SELECT '-- b';\n";
        assert!(first_difference(Framework::Sql, before, after).is_some());
    }

    #[test]
    fn python_comments_do_not_count_but_strings_do() {
        let before = "ops = [migrations.RunSQL(\"SELECT 1\")]\n";
        let commented = "# lockgate: ignore data-change-in-migration\nops = [migrations.RunSQL(\"SELECT 1\")]  # ok\n";
        assert_eq!(first_difference(Framework::Django, before, commented), None);
        let changed = "ops = [migrations.RunSQL(\"SELECT 2\")]\n";
        let at = first_difference(Framework::Django, before, changed).expect("a difference");
        assert_eq!(&changed[at], "\"SELECT 2\"");
    }

    #[test]
    fn appended_and_removed_code_is_located() {
        let before = "SELECT 1;\n";
        let after = "SELECT 1;\nSELECT 2;\n";
        assert_eq!(&after[first_difference(Framework::Sql, before, after).expect("appended")], "SELECT");
        let at = first_difference(Framework::Sql, after, before).expect("removed");
        assert_eq!(&before[at], ";");
    }
}
