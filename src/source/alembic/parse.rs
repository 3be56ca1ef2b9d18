//! Reads one revision script statically: the module-level revision identifiers, and the
//! statements of `upgrade()` as a tree of steps with every expression already evaluated.
//!
//! Local names are followed in order (`conn = op.get_bind()`, `t = sa.table("t", …)`), loops
//! over literal lists are unrolled, helper functions defined in the file are inlined with their
//! arguments bound, and `if` conditions that are constant (or ask for the PostgreSQL dialect)
//! are decided. Everything else stays visible as an uncertain or opaque step.

use std::ops::Range;

use foldhash::{HashMap, HashMapExt};

use crate::ir::Span;
use crate::source::python::{self, children, field, kind, Expr, Field, Module, Node, SyntaxError, Value};

/// The revision identifiers a script declares at module level.
#[derive(Debug, Default)]
pub struct Header {
    /// The id and where it is declared (`None` when neither the variable nor the file name has it).
    pub revision: Option<(String, Span)>,
    /// `down_revision`: none for a base, several for a merge point.
    pub down_revisions: Vec<(String, Span)>,
    pub depends_on: Vec<(String, Span)>,
    pub branch_labels: Vec<String>,
    /// Identifiers that could not be read (computed at import time).
    pub problems: Vec<(Span, String)>,
}

/// One statement of `upgrade()`, evaluated.
#[derive(Debug, Clone)]
pub enum UpgradeStep {
    /// A call: an `op.*` operation, a method on a connection, a helper from elsewhere. Calls on
    /// the right of an assignment are steps too: they run.
    Call(Expr),
    /// A `with` block: `op.batch_alter_table(…)`, `autocommit_block()`, or something else.
    With { managers: Vec<(Expr, Option<String>)>, span: Span, body: Vec<UpgradeStep> },
    /// Control flow lockgate cannot decide (a loop over query results, a run-time `if`): the
    /// nested statements are all linted, and the construct itself is reported.
    Uncertain { what: String, span: Span, body: Vec<UpgradeStep> },
    /// A statement whose effect cannot be seen at all.
    Opaque { what: String, span: Span },
}

/// What `upgrade()` does, read once the revision's turn comes.
#[derive(Debug)]
pub struct Upgrade {
    /// The steps of `upgrade()`, or why it cannot be read.
    pub steps: Result<Vec<UpgradeStep>, (Span, String)>,
    /// Where `downgrade()` is: comments in it are not about the linted code.
    pub downgrade: Option<Range<usize>>,
}

/// Helpers are inlined at most this deep, so recursion in user code cannot hang the linter.
const MAX_INLINE_DEPTH: usize = 8;
/// Literal loops longer than this are not unrolled.
const MAX_UNROLL: usize = 256;

/// Reads `upgrade()`; `downgrade` is where `downgrade()` is in the text.
pub fn upgrade(module: &Module, downgrade: Option<Range<usize>>) -> Upgrade {
    if let Some(error) = module.syntax_error() {
        return Upgrade::unreadable(error, downgrade);
    }
    let steps = match module.function("upgrade") {
        None => Err((Span::default(), "no `upgrade()` function in this revision, so Alembic cannot run it".into())),
        Some(function) => {
            let mut walker = Walker { module, scopes: vec![module.root()], inlining: vec![] };
            Ok(walker.function_body(function))
        }
    };
    Upgrade { steps, downgrade }
}

/// The steps of `downgrade()`, when the revision defines one (read as `upgrade()` is).
pub fn downgrade(module: &Module) -> Option<Vec<UpgradeStep>> {
    let function = module.function("downgrade")?;
    let mut walker = Walker { module, scopes: vec![module.root()], inlining: vec![] };
    Some(walker.function_body(function))
}

impl Upgrade {
    /// A revision that is not valid Python: Alembic cannot import it.
    pub fn unreadable(error: SyntaxError, downgrade: Option<Range<usize>>) -> Upgrade {
        Upgrade { steps: Err((error.span, error.message)), downgrade }
    }
}

/// The module-level names a revision declares itself with.
const HEADER_NAMES: [&str; 4] = ["revision", "down_revision", "branch_labels", "depends_on"];

/// The revision identifiers; a module without them is named by its file (Alembic's legacy form).
pub fn header(module: &Module, file_name: &str) -> Header {
    let [revision, down_revision, branch_labels, depends_on] = header_values(module);
    let mut header = Header::default();
    header.revision = match revision {
        Some(Expr { value: Value::Str(id), span }) => Some((id, span)),
        Some(other) => {
            header.problems.push((other.span, "`revision` is not a string literal".into()));
            None
        }
        // Alembic's legacy form: the file name is the revision id.
        None => legacy_revision(file_name).map(|id| (id, Span::default())),
    };
    header.down_revisions = identifiers(down_revision, "down_revision", &mut header.problems);
    header.depends_on = identifiers(depends_on, "depends_on", &mut header.problems);
    header.branch_labels =
        identifiers(branch_labels, "branch_labels", &mut header.problems).into_iter().map(|(l, _)| l).collect();
    header
}

/// The value of each of [`HEADER_NAMES`]: the module constants already hold the literal ones;
/// only a name that is missing from them is looked for again, to report what it is.
fn header_values(module: &Module) -> [Option<Expr>; 4] {
    HEADER_NAMES.map(|name| module.constant(name).or_else(|| module.module_assignment(name)))
}

fn legacy_revision(file_name: &str) -> Option<String> {
    let stem = file_name.strip_suffix(".py")?;
    (!stem.is_empty() && stem.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())).then(|| stem.into())
}

/// A `None`, a string, or a tuple/list of strings.
fn identifiers(expr: Option<Expr>, name: &str, problems: &mut Vec<(Span, String)>) -> Vec<(String, Span)> {
    let Some(expr) = expr else { return vec![] };
    match &expr.value {
        Value::None => vec![],
        Value::Str(id) => vec![(id.clone(), expr.span)],
        Value::List(items) | Value::Tuple(items) | Value::Set(items) => items
            .iter()
            .filter_map(|item| match &item.value {
                Value::Str(id) => Some((id.clone(), item.span)),
                _ => {
                    problems.push((item.span, format!("an entry of `{name}` is not a string literal")));
                    None
                }
            })
            .collect(),
        _ => {
            problems.push((expr.span, format!("`{name}` is not a literal (None, a string or a tuple of strings)")));
            vec![]
        }
    }
}

struct Walker<'m, 'a> {
    module: &'m Module<'a>,
    /// Blocks whose `def`s a bare call may name, innermost last.
    scopes: Vec<Node<'m>>,
    /// Helpers being inlined, innermost last.
    inlining: Vec<String>,
}

impl<'m> Walker<'m, '_> {
    fn function_body(&mut self, function: Node<'m>) -> Vec<UpgradeStep> {
        let Some(body) = field(function, Field::Body) else { return vec![] };
        self.scopes.push(body);
        let steps = self.block(body);
        self.scopes.pop();
        steps
    }

    fn block(&mut self, block: Node<'m>) -> Vec<UpgradeStep> {
        let mut steps = vec![];
        for statement in children(block) {
            if kind(statement) == "return_statement" {
                children(statement).for_each(|value| self.expression(value, &mut steps));
                break;
            }
            self.statement(statement, &mut steps);
        }
        steps
    }

    fn optional_block(&mut self, block: Option<Node<'m>>) -> Vec<UpgradeStep> {
        block.map(|b| self.block(b)).unwrap_or_default()
    }

    fn statement(&mut self, node: Node<'m>, out: &mut Vec<UpgradeStep>) {
        match kind(node) {
            "expression_statement" => children(node).for_each(|child| self.expression(child, out)),
            "with_statement" => self.with(node, out),
            "if_statement" => self.branch(node, out),
            "for_statement" => self.for_loop(node, out),
            "while_statement" => {
                let body = self.blocks_of(node);
                let what = "a `while` loop: how often its body runs is decided at run time".to_string();
                out.push(UpgradeStep::Uncertain { what, span: self.header_span(node), body });
            }
            "try_statement" => {
                let body = self.blocks_of(node);
                let what = "a `try` block: which of its branches run is decided at run time".to_string();
                out.push(UpgradeStep::Uncertain { what, span: self.header_span(node), body });
            }
            "match_statement" => {
                let body = self.blocks_of(node);
                out.push(UpgradeStep::Uncertain {
                    what: "a `match` statement".into(),
                    span: self.header_span(node),
                    body,
                });
            }
            // No database effect: definitions run only when called, the rest is bookkeeping.
            "function_definition"
            | "class_definition"
            | "decorated_definition"
            | "import_statement"
            | "import_from_statement"
            | "future_import_statement"
            | "pass_statement"
            | "global_statement"
            | "nonlocal_statement"
            | "assert_statement"
            | "delete_statement"
            | "raise_statement"
            | "break_statement"
            | "continue_statement"
            | "type_alias_statement" => {}
            other => out.push(UpgradeStep::Opaque {
                what: format!("a `{}` statement", other.replace('_', " ")),
                span: python::span(node),
            }),
        }
    }

    fn expression(&mut self, node: Node<'m>, out: &mut Vec<UpgradeStep>) {
        match kind(node) {
            "assignment" => self.assignment(node, out),
            "augmented_assignment" => {
                if let Some(right) = field(node, Field::Right) {
                    self.expression(right, out);
                }
            }
            "call" => self.call(node, out),
            // Docstrings, bare names, constants: evaluated for nothing.
            "string"
            | "concatenated_string"
            | "identifier"
            | "attribute"
            | "integer"
            | "float"
            | "true"
            | "false"
            | "none"
            | "ellipsis" => {}
            "await" => out.push(UpgradeStep::Opaque { what: "an `await`".into(), span: python::span(node) }),
            // A lambda's body runs only when it is called.
            "lambda" => {}
            // Comprehensions, conditional expressions, operators: the calls inside them run.
            _ => children(node).for_each(|child| self.expression(child, out)),
        }
    }

    fn assignment(&mut self, node: Node<'m>, out: &mut Vec<UpgradeStep>) {
        let Some(right) = field(node, Field::Right) else { return };
        let value = match kind(right) {
            "assignment" => {
                self.assignment(right, out);
                self.module.eval(final_value(right))
            }
            "call" => {
                // The call runs, and its result is what the name stands for afterwards.
                let value = self.module.eval(right);
                self.call_value(value.clone(), out);
                value
            }
            _ => {
                self.expression(right, out);
                self.module.eval(right)
            }
        };
        if let Some(left) = field(node, Field::Left) {
            self.bind_target(left, value);
        }
    }

    /// Binds `name = value` and `a, b = (x, y)`; anything else is forgotten (bound as dynamic).
    fn bind_target(&self, target: Node, value: Expr) {
        match kind(target) {
            "identifier" => self.module.bind(self.module.text_of(target), value),
            "pattern_list" | "tuple_pattern" | "list_pattern" => {
                let names: Vec<Node> = children(target).collect();
                let items = value.items().filter(|i| i.len() == names.len()).map(<[Expr]>::to_vec);
                for (i, name) in names.into_iter().enumerate() {
                    let item = items.as_ref().map(|items| items[i].clone()).unwrap_or_else(|| dynamic(&value));
                    self.bind_target(name, item);
                }
            }
            _ => {}
        }
    }

    /// Records a call as a step, or walks the helper it names.
    fn call(&mut self, node: Node<'m>, out: &mut Vec<UpgradeStep>) {
        let expr = self.module.eval(node);
        self.call_value(expr, out);
    }

    fn call_value(&mut self, expr: Expr, out: &mut Vec<UpgradeStep>) {
        if let Some(call) = expr.as_call() {
            let helper =
                (call.receiver.is_none() && !call.func.contains('.')).then(|| self.helper(&call.func)).flatten();
            if let Some(function) = helper {
                return self.inline(function, &expr, out);
            }
        }
        out.push(UpgradeStep::Call(expr));
    }

    /// A function defined in this file (or in an enclosing function) that a bare call names.
    fn helper(&self, name: &str) -> Option<Node<'m>> {
        if self.inlining.len() >= MAX_INLINE_DEPTH || self.inlining.iter().any(|n| n == name) {
            return None;
        }
        self.scopes.iter().rev().find_map(|scope| self.module.function_in(*scope, name))
    }

    /// Walks a helper's body with its parameters bound to the call's arguments.
    fn inline(&mut self, function: Node<'m>, expr: &Expr, out: &mut Vec<UpgradeStep>) {
        let Some(call) = expr.as_call() else { return };
        let locals = self.parameters(function, call.args.as_slice(), &call.kwargs);
        let saved = self.module.swap_locals(locals);
        self.inlining.push(call.func.clone());
        let steps = self.function_body(function);
        self.inlining.pop();
        self.module.swap_locals(saved);
        out.extend(steps);
    }

    fn parameters(&self, function: Node, args: &[Expr], kwargs: &[(String, Expr)]) -> HashMap<String, Expr> {
        let mut locals = HashMap::new();
        let Some(parameters) = field(function, Field::Parameters) else { return locals };
        let mut positional = args.iter();
        for parameter in children(parameters) {
            let (name_node, default) = match kind(parameter) {
                "identifier" => (Some(parameter), None),
                "typed_parameter" => (children(parameter).next(), None),
                "default_parameter" | "typed_default_parameter" => {
                    (field(parameter, Field::Name), field(parameter, Field::Value))
                }
                _ => continue,
            };
            let Some(name_node) = name_node.filter(|n| kind(*n) == "identifier") else { continue };
            let name = self.module.text_of(name_node);
            let given = kwargs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            let value = given
                .or_else(|| positional.next().cloned())
                .or_else(|| default.map(|d| self.module.eval(d)))
                .unwrap_or_else(|| Expr {
                    value: Value::Dynamic("a missing argument".into()),
                    span: python::span(name_node),
                });
            locals.insert(name.to_string(), value);
        }
        locals
    }

    fn with(&mut self, node: Node<'m>, out: &mut Vec<UpgradeStep>) {
        let managers = self.module.with_items(node);
        for (manager, alias) in &managers {
            if let Some(alias) = alias {
                self.module.bind(alias, manager.clone());
            }
        }
        let body = self.optional_block(field(node, Field::Body));
        out.push(UpgradeStep::With { managers, span: self.header_span(node), body });
    }

    fn branch(&mut self, node: Node<'m>, out: &mut Vec<UpgradeStep>) {
        let mut clauses: Vec<(Option<Node<'m>>, Option<Node<'m>>)> =
            vec![(field(node, Field::Condition), field(node, Field::Consequence))];
        for alternative in node.fields(Field::Alternative) {
            let condition = field(alternative, Field::Condition);
            let body = field(alternative, Field::Consequence).or_else(|| field(alternative, Field::Body));
            clauses.push((condition, body));
        }
        for (index, (condition, body)) in clauses.iter().enumerate() {
            match condition.map(|c| self.decide(c)) {
                // `else`, or a condition known to hold: only this branch runs.
                None | Some(Some(true)) => return out.extend(self.optional_block(*body)),
                Some(Some(false)) => continue,
                Some(None) => {
                    let body = clauses[index..].iter().flat_map(|(_, b)| self.optional_block(*b)).collect();
                    let condition = condition.map(|c| self.module.text_of(c)).unwrap_or_default();
                    let what =
                        format!("`if {}`: decided at run time, so lockgate linted every branch", shorten(condition));
                    return out.push(UpgradeStep::Uncertain { what, span: self.header_span(node), body });
                }
            }
        }
    }

    /// A condition known statically: a constant, or a test of the dialect's name (the
    /// migrations run on PostgreSQL).
    fn decide(&self, condition: Node) -> Option<bool> {
        match kind(condition) {
            "not_operator" => field(condition, Field::Argument).and_then(|a| self.decide(a)).map(|b| !b),
            "parenthesized_expression" => children(condition).next().and_then(|inner| self.decide(inner)),
            "comparison_operator" => self.dialect_test(condition),
            _ => self.module.eval(condition).as_bool(),
        }
    }

    /// `bind.dialect.name == "postgresql"`, `!=`, `in (…)`, `not in (…)`.
    fn dialect_test(&self, comparison: Node) -> Option<bool> {
        let operands: Vec<Node> = children(comparison).collect();
        let [left, right] = operands.as_slice() else { return None };
        let operator = self.module.text_of(comparison)
            [left.end_byte() - comparison.start_byte()..right.start_byte() - comparison.start_byte()]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let names = if self.module.text_of(*left).ends_with("dialect.name") {
            self.module.eval(*right)
        } else if self.module.text_of(*right).ends_with("dialect.name") && matches!(operator.as_str(), "==" | "!=") {
            self.module.eval(*left)
        } else {
            return None;
        };
        let is_postgres = |e: &Expr| e.as_str() == Some("postgresql");
        let matches = match &names.value {
            Value::Str(_) => is_postgres(&names),
            Value::List(items) | Value::Tuple(items) | Value::Set(items) => items.iter().any(is_postgres),
            _ => return None,
        };
        match operator.as_str() {
            "==" | "in" => Some(matches),
            "!=" | "not in" => Some(!matches),
            _ => None,
        }
    }

    fn for_loop(&mut self, node: Node<'m>, out: &mut Vec<UpgradeStep>) {
        let (Some(target), Some(iterable), Some(body)) =
            (field(node, Field::Left), field(node, Field::Right), field(node, Field::Body))
        else {
            return;
        };
        if let Some(items) = self.literal_items(iterable).filter(|i| i.len() <= MAX_UNROLL) {
            for item in items {
                self.bind_target(target, item);
                let steps = self.block(body);
                out.extend(steps);
            }
            return;
        }
        self.expression(iterable, out);
        self.bind_target(target, Expr { value: Value::Dynamic("a loop variable".into()), span: python::span(target) });
        let mut steps = self.block(body);
        steps.extend(self.optional_block(field(node, Field::Alternative).and_then(|a| field(a, Field::Body))));
        let what = format!(
            "a `for` loop over `{}`: its items are known only at run time",
            shorten(self.module.text_of(iterable))
        );
        out.push(UpgradeStep::Uncertain { what, span: self.header_span(node), body: steps });
    }

    /// The items a loop over a literal goes through: a list or tuple, a dict's keys, or a
    /// literal dict's `.keys()`, `.values()` or `.items()`.
    fn literal_items(&self, iterable: Node) -> Option<Vec<Expr>> {
        let (dict, method) = match kind(iterable) {
            "call" => {
                let function = field(iterable, Field::Function).filter(|f| kind(*f) == "attribute")?;
                let method = self.module.text_of(field(function, Field::Attribute)?);
                (self.module.eval(field(function, Field::Object)?), method)
            }
            _ => {
                let value = self.module.eval(iterable);
                if let Some(items) = value.items() {
                    return Some(items.to_vec());
                }
                (value, "keys")
            }
        };
        let Value::Dict(pairs) = dict.value else { return None };
        let pick = |(key, value): (Expr, Expr)| match method {
            "keys" => Some(key),
            "values" => Some(value),
            "items" => Some(Expr { span: key.span, value: Value::Tuple(vec![key, value]) }),
            _ => None,
        };
        pairs.into_iter().map(pick).collect()
    }

    /// A compound statement's first line (`for x in y:`): where findings about it point.
    fn header_span(&self, node: Node) -> Span {
        let body = field(node, Field::Body).or_else(|| field(node, Field::Consequence));
        let end = body.map_or(node.end_byte(), |b| b.start_byte()).max(node.start_byte());
        let header = self.module.text[node.start_byte()..end].trim_end();
        Span::new(node.start_byte(), node.start_byte() + header.len())
    }

    /// Every block nested directly in a compound statement (`try` and its handlers, a loop
    /// and its `else`), walked in order.
    fn blocks_of(&mut self, node: Node<'m>) -> Vec<UpgradeStep> {
        let mut steps = vec![];
        for child in children(node) {
            if kind(child) == "block" {
                steps.extend(self.block(child));
            } else if let Some(block) = children(child).find(|c| kind(*c) == "block") {
                steps.extend(self.block(block));
            }
        }
        steps
    }
}

/// The value a chained assignment (`a = b = x`) ends with.
fn final_value(mut right: Node) -> Node {
    while kind(right) == "assignment" {
        match field(right, Field::Right) {
            Some(next) => right = next,
            None => break,
        }
    }
    right
}

fn dynamic(value: &Expr) -> Expr {
    Expr { value: Value::Dynamic("an unpacked value".into()), span: value.span }
}

/// Python expressions in messages: on one line, and cut when long.
fn shorten(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let line = words.join(" ");
    if line.chars().count() > 60 {
        format!("{}…", line.chars().take(60).collect::<String>())
    } else {
        line
    }
}
