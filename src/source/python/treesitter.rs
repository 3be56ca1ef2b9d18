//! The tree-sitter glue: the grammar's parse, for the files the fast reader gives up on, and the
//! first syntax error it finds.

use std::cell::RefCell;

use tree_sitter::Parser;

use super::{syntax, SyntaxError};
use crate::ir::Span;

/// Parses `ranges` of `text` (all of it when empty) with this thread's tree-sitter parser
/// (creating a parser is not free; files are many).
pub(super) fn tree_sitter_parse(text: &str, ranges: &[std::ops::Range<usize>]) -> Option<tree_sitter::Tree> {
    thread_local! {
        static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
    }
    let points = line_points(text);
    let ranges: Vec<tree_sitter::Range> = ranges
        .iter()
        .map(|r| tree_sitter::Range {
            start_byte: r.start,
            end_byte: r.end,
            start_point: points(r.start),
            end_point: points(r.end),
        })
        .collect();
    PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let mut parser = Parser::new();
            parser.set_language(&tree_sitter_python::LANGUAGE.into()).ok()?;
            *slot = Some(parser);
        }
        let parser = slot.as_mut()?;
        parser.set_included_ranges(&ranges).ok()?;
        parser.parse(text, None)
    })
}

/// The first syntax error of a whole-file tree-sitter parse.
pub(super) fn syntax_error(tree: &tree_sitter::Tree, python2: bool) -> Option<SyntaxError> {
    let root = tree.root_node();
    let ts_span = |n: tree_sitter::Node| Span::new(n.start_byte(), n.end_byte());
    // Walking the whole tree is a large share of the cost of a file; only do it when a line
    // could be a Python 2 statement.
    let python2 = python2
        .then(|| ts_descendants(root))
        .into_iter()
        .flatten()
        .filter(|n| matches!(syntax::kind(*n), "print_statement" | "exec_statement"))
        .min_by_key(|n| n.start_byte());
    if let Some(statement) = python2 {
        let keyword = syntax::kind(statement).trim_end_matches("_statement");
        return Some(SyntaxError {
            span: ts_span(statement),
            message: format!("Python 2 `{keyword}` statement: this file is not valid Python 3"),
        });
    }
    if !root.has_error() {
        return None;
    }
    let node = ts_descendants(root).filter(|n| n.is_error() || n.is_missing()).min_by_key(|n| n.start_byte());
    let node = node.unwrap_or(root);
    let what =
        if node.is_missing() { format!("missing `{}`", syntax::kind(node)) } else { "invalid syntax".to_string() };
    Some(SyntaxError { span: ts_span(node), message: format!("not valid Python 3: {what}") })
}

fn ts_descendants(node: tree_sitter::Node) -> impl Iterator<Item = tree_sitter::Node> {
    let mut stack = vec![node];
    std::iter::from_fn(move || {
        let node = stack.pop()?;
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
        Some(node)
    })
}

/// Maps a byte offset to a tree-sitter point (row, byte column). Tree-sitter counts rows at
/// `\n` only, so these rows are not the lines findings name.
pub(super) fn line_points(text: &str) -> impl Fn(usize) -> tree_sitter::Point + '_ {
    let line_starts: Vec<usize> =
        std::iter::once(0).chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1)).collect();
    move |offset| {
        let row = line_starts.partition_point(|&s| s <= offset) - 1;
        tree_sitter::Point { row, column: offset - line_starts[row] }
    }
}
