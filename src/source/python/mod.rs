//! A static reader of Python migration files: tree-sitter syntax, plus the small value model
//! the Django and Alembic front ends need (literals, dotted names, calls with arguments).
//! Nothing is imported or executed; anything dynamic becomes `Value::Dynamic` with its span.

use std::cell::RefCell;

use foldhash::{HashMap, HashMapExt};

use tree_sitter::Parser;

use crate::ir::Span;

pub mod classes;
mod reader;
mod syntax;

pub use classes::{Constructor, ProjectClass, ProjectPython, Resolved};
use syntax::Tree;
pub use syntax::{Field, Node};

/// A Python expression reduced to what a migration needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    None,
    List(Vec<Expr>),
    Tuple(Vec<Expr>),
    /// A set literal, or a `set(…)`/`frozenset(…)` call of a literal collection: what
    /// `makemigrations` writes for `unique_together` and `index_together`.
    Set(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
    Call(Call),
    /// A name or dotted attribute that is not a known constant: `models.CASCADE`, `settings.AUTH_USER_MODEL`.
    Name(String),
    /// Something computed at run time (an f-string, a comprehension, an operator); the text says what.
    Dynamic(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The dotted callee: `migrations.AddField`, `models.CharField`, `op.add_column`.
    pub func: String,
    pub args: Vec<Expr>,
    pub kwargs: Vec<(String, Expr)>,
    /// `*args` or `**kwargs` were passed: arguments may be missing from `args`/`kwargs`.
    pub splat: bool,
    /// For a method called on the result of another call (`sa.update(t).where(…)`, or
    /// `conn.execute(…)` after `conn = op.get_bind()`), that call; `func` then reads
    /// `sa.update().where`.
    pub receiver: Option<Box<Expr>>,
}

impl Call {
    /// The callee's last dotted part: `migrations.AddField` → `AddField`.
    pub fn name(&self) -> &str {
        self.func.rsplit('.').next().unwrap_or(&self.func)
    }

    pub fn kwarg(&self, name: &str) -> Option<&Expr> {
        self.kwargs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// A keyword argument, or the positional argument at `position`.
    pub fn arg(&self, name: &str, position: usize) -> Option<&Expr> {
        self.kwarg(name).or_else(|| self.args.get(position))
    }

    /// The call a method was called on, when it was one.
    pub fn receiver_call(&self) -> Option<&Call> {
        self.receiver.as_deref().and_then(Expr::as_call)
    }
}

impl Expr {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match &self.value {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_call(&self) -> Option<&Call> {
        match &self.value {
            Value::Call(call) => Some(call),
            _ => None,
        }
    }

    /// Elements of a list, tuple or set. Every collection the front ends read goes through this,
    /// so a migration may write any of the three where Python accepts any iterable.
    pub fn items(&self) -> Option<&[Expr]> {
        match &self.value {
            Value::List(items) | Value::Tuple(items) | Value::Set(items) => Some(items),
            _ => None,
        }
    }

    pub fn is_none(&self) -> bool {
        self.value == Value::None
    }
}

/// A module's constants, carried from one parse of a file to the next.
pub struct Constants(HashMap<String, Expr>);

/// A top-level statement, as an outline parse chooses what to read (imports, bare strings and
/// decorated definitions are never read).
#[derive(Clone, Copy)]
pub enum TopLevel<'t> {
    /// `def name(…)` or `async def name(…)`.
    Def(&'t str),
    /// Any other statement: an assignment, a class, an `if` block, …
    Other,
}

/// A parsed Python file.
pub struct Module<'a> {
    pub text: &'a str,
    tree: Tree,
    syntax_error: Option<SyntaxError>,
    /// Simple module-level constants: `NAME = <literal>`, filled in file order.
    constants: RefCell<HashMap<String, Expr>>,
    /// Names a front end bound while walking a function body (`conn = op.get_bind()`); they
    /// shadow the module constants.
    locals: RefCell<HashMap<String, Expr>>,
}

/// Where the file does not parse as Python 3: the first syntax error.
#[derive(Clone)]
pub struct SyntaxError {
    pub span: Span,
    pub message: String,
}

impl<'a> Module<'a> {
    pub fn parse(text: &'a str) -> Option<Module<'a>> {
        Module::read(text, None, may_hold_python2_statements(text))
    }

    /// Parses only what a migration reader needs: module-level statements other than imports
    /// and function definitions, plus the functions named in `keep` (`upgrade`). Skipping the
    /// rest (data-migration helpers, `downgrade`) saves a large share of the parse. A file whose
    /// outline does not parse cleanly is parsed whole, so syntax errors point at the right place.
    pub fn parse_outline(text: &'a str, keep: &[&str]) -> Option<Module<'a>> {
        Module::parse_outline_in(text, &Layout::of(text), &|statement| match statement {
            TopLevel::Def(name) => keep.contains(&name),
            TopLevel::Other => true,
        })
    }

    /// Like [`Module::parse_outline`], for a file whose layout is known already (a reader that
    /// parses one file twice scans it once); `keep` says which top-level statements are parsed.
    pub fn parse_outline_in(text: &'a str, layout: &Layout, keep: &dyn Fn(TopLevel) -> bool) -> Option<Module<'a>> {
        Module::read(text, outline_ranges(text, layout, keep), layout.python2)
    }

    /// The fast reader when it knows all of the file, else tree-sitter. A file that could hold
    /// a Python 2 statement goes to tree-sitter, whose grammar knows them, for the diagnostic.
    fn read(text: &'a str, ranges: Option<Vec<std::ops::Range<usize>>>, python2: bool) -> Option<Module<'a>> {
        let whole = 0..text.len();
        let fast = || reader::read(text, ranges.as_deref().unwrap_or(std::slice::from_ref(&whole)));
        if let Some(tree) = (!python2).then(fast).flatten() {
            return Some(Module::new(text, tree, None));
        }
        if let Some(ranges) = &ranges {
            let tree = tree_sitter_parse(text, ranges)?;
            if !tree.root_node().has_error() {
                return Some(Module::new(text, syntax::from_tree_sitter(&tree), None));
            }
        }
        let tree = tree_sitter_parse(text, &[])?;
        let error = syntax_error(&tree, python2);
        Some(Module::new(text, syntax::from_tree_sitter(&tree), error))
    }

    fn new(text: &'a str, tree: Tree, syntax_error: Option<SyntaxError>) -> Module<'a> {
        let module = Module {
            text,
            tree,
            syntax_error,
            constants: RefCell::new(HashMap::new()),
            locals: RefCell::new(HashMap::new()),
        };
        module.read_constants();
        module
    }

    pub fn root(&self) -> Node<'_> {
        self.tree.root()
    }

    /// The first syntax error, if any (Python 2 `print x`, a stray bracket, …).
    pub fn syntax_error(&self) -> Option<SyntaxError> {
        self.syntax_error.clone()
    }

    pub fn text_of(&self, node: Node) -> &'a str {
        &self.text[node.byte_range()]
    }

    fn read_constants(&self) {
        for statement in children(self.root()) {
            let Some(assignment) = expression_assignment(statement) else { continue };
            let (Some(left), Some(right)) = (field(assignment, Field::Left), field(assignment, Field::Right)) else {
                continue;
            };
            if kind(left) == "identifier" {
                let value = self.eval(right);
                if !matches!(value.value, Value::Dynamic(_)) {
                    self.constants.borrow_mut().insert(self.text_of(left).to_string(), value);
                }
            }
        }
    }

    /// The value of the last module-level `name = …` (or `name: T = …`), even when it is computed.
    pub fn module_assignment(&self, name: &str) -> Option<Expr> {
        children(self.root())
            .filter_map(expression_assignment)
            .filter(|a| field(*a, Field::Left).is_some_and(|l| self.text_of(l) == name))
            .filter_map(|a| field(a, Field::Right))
            .last()
            .map(|right| self.eval(right))
    }

    /// Binds a local name for the evaluations that follow.
    pub fn bind(&self, name: &str, value: Expr) {
        self.locals.borrow_mut().insert(name.to_string(), value);
    }

    /// Replaces the local names (entering or leaving a function body); returns the old ones.
    pub fn swap_locals(&self, locals: HashMap<String, Expr>) -> HashMap<String, Expr> {
        self.locals.replace(locals)
    }

    /// A module-level constant (`NAME = <literal>`), as read when the file was parsed.
    pub fn constant(&self, name: &str) -> Option<Expr> {
        self.constants.borrow().get(name).cloned()
    }

    /// The module-level constants, for a later parse of the same text that reads only its
    /// functions ([`Module::adopt_constants`]).
    pub fn into_constants(self) -> Constants {
        Constants(self.constants.into_inner())
    }

    /// Takes on the constants an earlier parse of the same text read at module level.
    pub fn adopt_constants(&self, constants: Constants) {
        let mut own = self.constants.borrow_mut();
        // A parse of the functions alone finds no constants of its own: take the map whole.
        if own.is_empty() {
            *own = constants.0;
        } else {
            own.extend(constants.0);
        }
    }

    /// What a bare name stands for: a local, else a module constant.
    fn bound(&self, name: &str) -> Option<Expr> {
        let local = self.locals.borrow().get(name).cloned();
        local.or_else(|| self.constants.borrow().get(name).cloned())
    }

    /// The context managers of a `with` statement, each with its `as` name.
    pub fn with_items(&self, with_statement: Node) -> Vec<(Expr, Option<String>)> {
        let clauses = children(with_statement).filter(|n| kind(*n) == "with_clause");
        clauses
            .flat_map(children)
            .filter(|item| kind(*item) == "with_item")
            .filter_map(|item| field(item, Field::Value))
            .map(|value| {
                if kind(value) != "as_pattern" {
                    return (self.eval(value), None);
                }
                let mut parts = children(value);
                let manager = parts.next().map(|m| self.eval(m));
                let alias = parts.next().map(|a| self.text_of(a).to_string());
                (manager.unwrap_or(Expr { value: Value::Dynamic("with".into()), span: span(value) }), alias)
            })
            .collect()
    }

    /// `def <name>(…)` directly in `block` (a function body or the module).
    pub fn function_in<'t>(&self, block: Node<'t>, name: &str) -> Option<Node<'t>> {
        children(block).find(|statement| {
            kind(*statement) == "function_definition"
                && field(*statement, Field::Name).is_some_and(|n| self.text_of(n) == name)
        })
    }

    /// `class <name>(…)` at module level.
    pub fn class(&self, name: &str) -> Option<Node<'_>> {
        children(self.root()).find_map(|statement| {
            let class = if kind(statement) == "decorated_definition" {
                field(statement, Field::Definition)?
            } else {
                statement
            };
            (kind(class) == "class_definition" && field(class, Field::Name).is_some_and(|n| self.text_of(n) == name))
                .then_some(class)
        })
    }

    /// `def <name>(…)` at module level.
    pub fn function(&self, name: &str) -> Option<Node<'_>> {
        self.function_in(self.root(), name)
    }

    /// `name = <value>` assignments directly in a class or function body.
    pub fn assignments<'t>(&'t self, body_owner: Node<'t>) -> Vec<(&'a str, Node<'t>)> {
        let Some(body) = field(body_owner, Field::Body) else { return vec![] };
        children(body)
            .filter_map(expression_assignment)
            .filter_map(|a| {
                let left = field(a, Field::Left)?;
                let right = field(a, Field::Right)?;
                (kind(left) == "identifier").then(|| (self.text_of(left), right))
            })
            .collect()
    }

    /// Evaluates an expression node statically.
    pub fn eval(&self, node: Node) -> Expr {
        let value = match kind(node) {
            "string" => self.string(node),
            "concatenated_string" => {
                let parts: Vec<Expr> = children(node).map(|n| self.eval(n)).collect();
                concat(parts.iter().map(|p| p.as_str()).collect())
            }
            "integer" => parse_int(self.text_of(node)).map_or_else(|| Value::Dynamic("integer".into()), Value::Int),
            "float" => self.text_of(node).replace('_', "").parse().map_or(Value::Dynamic("float".into()), Value::Float),
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            "none" => Value::None,
            "list" => Value::List(self.elements(node)),
            "tuple" => Value::Tuple(self.elements(node)),
            "set" => Value::Set(self.elements(node)),
            "parenthesized_expression" => match children(node).next() {
                Some(inner) => return self.eval_at(inner, node),
                None => Value::Tuple(vec![]),
            },
            "dictionary" => Value::Dict(
                children(node)
                    .filter(|n| kind(*n) == "pair")
                    .filter_map(|pair| {
                        Some((self.eval(field(pair, Field::Key)?), self.eval(field(pair, Field::Value)?)))
                    })
                    .collect(),
            ),
            "call" => self.call(node),
            "identifier" => match self.bound(self.text_of(node)) {
                Some(bound) => bound.value,
                None => Value::Name(self.text_of(node).to_string()),
            },
            "attribute" => match dotted(self, node) {
                Some(name) => Value::Name(name),
                None => Value::Dynamic("attribute of an expression".into()),
            },
            "binary_operator" => self.binary(node),
            // `~Q(…)`: Django's negated condition, kept as a call of the operator.
            "unary_operator" if self.text_of(node).starts_with('~') => {
                match field(node, Field::Argument).map(|a| self.eval(a)) {
                    Some(operand @ Expr { value: Value::Call(_), .. }) => {
                        Value::Call(operator_call("~", vec![operand]))
                    }
                    _ => Value::Dynamic("expression".into()),
                }
            }
            "unary_operator" if self.text_of(node).starts_with('-') => {
                match field(node, Field::Argument).map(|a| self.eval(a).value) {
                    Some(Value::Int(i)) => Value::Int(-i),
                    Some(Value::Float(f)) => Value::Float(-f),
                    _ => Value::Dynamic("expression".into()),
                }
            }
            other => Value::Dynamic(other.replace('_', " ")),
        };
        Expr { value, span: span(node) }
    }

    fn eval_at(&self, inner: Node, outer: Node) -> Expr {
        Expr { value: self.eval(inner).value, span: span(outer) }
    }

    fn elements(&self, node: Node) -> Vec<Expr> {
        children(node).map(|n| self.eval(n)).collect()
    }

    fn string(&self, node: Node) -> Value {
        let (mut raw, mut format) = (false, false);
        let mut out = String::new();
        for part in children(node) {
            match kind(part) {
                "string_start" => {
                    for letter in self.text_of(part).bytes().take_while(u8::is_ascii_alphabetic) {
                        raw |= letter.eq_ignore_ascii_case(&b'r');
                        format |= letter.eq_ignore_ascii_case(&b'f');
                    }
                }
                "interpolation" if format => return Value::Dynamic("f-string".into()),
                "string_content" if raw => out.push_str(self.text_of(part)),
                "string_content" | "escape_sequence" => unescape_into(self.text_of(part), &mut out),
                _ => {}
            }
        }
        Value::Str(out)
    }

    fn call(&self, node: Node) -> Value {
        let Some(function) = field(node, Field::Function) else { return Value::Dynamic("call".into()) };
        let Some((func, receiver)) = self.callee(function) else {
            return Value::Dynamic("call of an expression".into());
        };
        let mut call = Call { func, args: vec![], kwargs: vec![], splat: false, receiver };
        let arguments = field(node, Field::Arguments);
        for argument in arguments.into_iter().flat_map(children) {
            match kind(argument) {
                "keyword_argument" => {
                    let (Some(name), Some(value)) = (field(argument, Field::Name), field(argument, Field::Value))
                    else {
                        continue;
                    };
                    call.kwargs.push((self.text_of(name).to_string(), self.eval(value)));
                }
                "list_splat" | "dictionary_splat" => call.splat = true,
                "comment" => {}
                _ => call.args.push(self.eval(argument)),
            }
        }
        set_of(call)
    }

    /// The dotted name of what is called, and the call it is a method of, if any.
    fn callee(&self, function: Node) -> Option<(String, Option<Box<Expr>>)> {
        if kind(function) == "attribute" {
            let object = field(function, Field::Object)?;
            let attribute = self.text_of(field(function, Field::Attribute)?);
            let receiver = match kind(object) {
                "call" => Some(self.eval(object)),
                "identifier" => self.bound(self.text_of(object)).map(|e| Expr { span: span(object), ..e }),
                _ => None,
            };
            if let Some(receiver) = receiver {
                if let Value::Call(inner) = &receiver.value {
                    return Some((format!("{}().{attribute}", inner.func), Some(Box::new(receiver))));
                }
            }
            // A method of some other value (`", ".join(…)`, `rows[0].get(…)`): named by the method.
            if dotted(self, object).is_none() {
                return Some((format!("(…).{attribute}"), None));
            }
        }
        dotted(self, function).map(|name| (name, None))
    }

    fn binary(&self, node: Node) -> Value {
        let (Some(left), Some(right)) = (field(node, Field::Left), field(node, Field::Right)) else {
            return Value::Dynamic("expression".into());
        };
        let operator = field(node, Field::Operator).map(|o| self.text_of(o)).unwrap_or("");
        match (operator, self.eval(left).value, self.eval(right).value) {
            ("+", Value::Str(a), Value::Str(b)) => Value::Str(a + &b),
            ("+", Value::Int(a), Value::Int(b)) => Value::Int(a.saturating_add(b)),
            ("*", Value::Int(a), Value::Int(b)) => Value::Int(a.saturating_mul(b)),
            // `Q(…) & Q(…)`, `Q(…) | Q(…)`: combined conditions, kept as a call of the operator.
            (op @ ("&" | "|"), left @ Value::Call(_), right @ Value::Call(_)) => {
                let operands = vec![Expr { value: left, span: span(node) }, Expr { value: right, span: span(node) }];
                Value::Call(operator_call(op, operands))
            }
            _ => Value::Dynamic(format!("`{}` expression", operator)),
        }
    }
}

/// An operator applied to calls, as a call named by the operator (`&`, `|`, `~`).
fn operator_call(operator: &str, args: Vec<Expr>) -> Call {
    Call { func: operator.to_string(), args, kwargs: vec![], splat: false, receiver: None }
}

/// Parses `ranges` of `text` (all of it when empty) with this thread's tree-sitter parser
/// (creating a parser is not free; files are many).
fn tree_sitter_parse(text: &str, ranges: &[std::ops::Range<usize>]) -> Option<tree_sitter::Tree> {
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
fn syntax_error(tree: &tree_sitter::Tree, python2: bool) -> Option<SyntaxError> {
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

/// The byte ranges of the top-level statements worth parsing (see [`Module::parse_outline`]),
/// without their comment lines. `None` when all of the text is worth parsing anyway.
fn outline_ranges(text: &str, layout: &Layout, keep: &dyn Fn(TopLevel) -> bool) -> Option<Vec<std::ops::Range<usize>>> {
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::with_capacity(layout.starts.len());
    for (index, std::ops::Range { start, end }) in layout.statements(text).enumerate() {
        let line = &text[start..end];
        let read = match leading_word(line, b"@") {
            // A module docstring (or any bare string statement) means nothing to a reader.
            "" if line.starts_with(['"', '\'']) => false,
            "import" | "from" => false,
            word if word.starts_with('@') => false,
            "def" | "async" => layout.function_defined_by(text, index).is_some_and(|name| keep(TopLevel::Def(name))),
            _ => keep(TopLevel::Other),
        };
        if !read {
            continue;
        }
        // `name: Annotation = value`: the annotation means nothing to a reader and is often the
        // larger part of the statement (`Union[str, Sequence[str], None]`), so it is left out.
        let pieces = match annotation(line) {
            Some(gap) => [start..start + gap.start, start + gap.end..end],
            None => [start..end, end..end],
        };
        for piece in pieces.into_iter().filter(|p| !p.is_empty()) {
            match ranges.last_mut() {
                Some(last) if last.end == piece.start => last.end = piece.end,
                _ => ranges.push(piece),
            }
        }
    }
    // Comment lines mean nothing to a reader either (directives are read from the text), and
    // Alembic puts two in every function it generates.
    let ranges = without(ranges, &layout.comment_lines);
    if ranges.len() == 1 && ranges[0] == (0..text.len()) {
        return None;
    }
    Some(ranges)
}

/// Where, in a top-level `def name(` (or `async def name(`) statement, the name it defines is.
fn defined_function(statement: &str) -> Option<std::ops::Range<usize>> {
    fn after_keyword<'t>(keyword: &str, text: &'t str) -> Option<&'t str> {
        Some(text.strip_prefix(keyword)?.strip_prefix([' ', '\t'])?.trim_start())
    }
    let rest = match after_keyword("async", statement) {
        Some(rest) => after_keyword("def", rest)?,
        None => after_keyword("def", statement)?,
    };
    let name = leading_word(rest, b"");
    let start = statement.len() - rest.len();
    (!name.is_empty() && rest[name.len()..].trim_start().starts_with('(')).then_some(start..start + name.len())
}

/// The identifier `text` starts with (with any of `also` counted as identifier bytes). Bytes
/// past ASCII count too: they only occur in identifiers that are no keyword.
fn leading_word<'t>(text: &'t str, also: &[u8]) -> &'t str {
    let is_word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_' || !b.is_ascii() || also.contains(b);
    let len = text.bytes().position(|b| !is_word(&b)).unwrap_or(text.len());
    &text[..len]
}

/// In `name: Annotation = value`, the range of `: Annotation ` (relative to the statement).
/// Only one-line annotations without strings are recognised; anything else is parsed whole.
fn annotation(statement: &str) -> Option<std::ops::Range<usize>> {
    let name = leading_word(statement, b"");
    let name_len = name.len();
    const KEYWORDS: &[&str] = &["else", "try", "finally", "except", "elif", "lambda", "match", "case", "with"];
    if name_len == 0 || name.starts_with(|c: char| c.is_ascii_digit()) || KEYWORDS.contains(&name) {
        return None;
    }
    let colon = name_len + statement[name_len..].find(|c: char| c != ' ' && c != '\t')?;
    if !statement[colon..].starts_with(':') {
        return None;
    }
    let mut depth = 0i32;
    for (offset, c) in statement[colon + 1..].char_indices() {
        let at = colon + 1 + offset;
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            '\'' | '"' | '#' | '\n' | '\\' => return None,
            '=' if depth == 0 && !statement[at + 1..].starts_with('=') => return Some(colon..at),
            _ => {}
        }
    }
    None
}

/// Where a file's top-level statements begin, which lines hold only a comment, and whether it
/// needs tree-sitter's grammar: found by one light scan that follows brackets, strings and
/// comments, and read by every outline parse of the file.
pub struct Layout {
    /// Offsets where top-level statements begin: a line that starts at column 0 outside any
    /// bracket, string or comment.
    starts: Vec<usize>,
    /// Lines that hold only a comment (outside strings), newline included.
    comment_lines: Vec<std::ops::Range<usize>>,
    /// Whether a line could be a Python 2 statement (see [`may_hold_python2_statements`]).
    python2: bool,
    /// The top-level `def`s: the index of the statement in `starts`, and the name defined.
    functions: Vec<(usize, std::ops::Range<usize>)>,
}

/// The bytes [`layout`] acts on outside strings.
const LAYOUT_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 10 {
        table[b"#'\"()[]{}\\"[i] as usize] = true;
        i += 1;
    }
    table[b'\n' as usize] = true;
    table
};

impl Layout {
    pub fn of(text: &str) -> Layout {
        let bytes = text.as_bytes();
        // Sized for a generated migration (a dozen statements, a few comment lines).
        let mut starts = Vec::with_capacity(32);
        let mut comment_lines = Vec::with_capacity(16);
        let mut depth = 0i32;
        let mut quote: Option<&[u8]> = None;
        let mut i = 0;
        // Where the current line begins, while it has held only blanks.
        let mut blank_line: Option<usize> = Some(0);
        while i < bytes.len() {
            let b = bytes[i];
            if let Some(q) = quote {
                if b != b'\\' && b != b'\n' && b != q[0] {
                    // Docstrings are long: jump to the next byte that can escape or end the string.
                    i += memchr::memchr3(b'\\', b'\n', q[0], &bytes[i..]).unwrap_or(bytes.len() - i);
                    continue;
                }
                if b == b'\\' {
                    i += 2;
                    continue;
                }
                if bytes[i..].starts_with(q) {
                    i += q.len();
                    quote = None;
                    continue;
                }
                // A one-line string ends at the line's end even when unterminated (a syntax error).
                if b == b'\n' && q.len() == 1 {
                    quote = None;
                }
                i += 1;
                continue;
            }
            if blank_line.is_some() && (b == b' ' || b == b'\t') {
                // A line's indentation: skip it whole.
                i += bytes[i..].iter().position(|&c| c != b' ' && c != b'\t').unwrap_or(bytes.len() - i);
                continue;
            }
            if blank_line.is_none() && !LAYOUT_BYTES[usize::from(b)] {
                // Mid-line, only the bytes below change the state: jump to the next one.
                i += bytes[i..].iter().position(|&c| LAYOUT_BYTES[usize::from(c)]).unwrap_or(bytes.len() - i);
                continue;
            }
            if !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'#') {
                if blank_line == Some(i) && depth <= 0 {
                    starts.push(i);
                }
                blank_line = None;
            }
            match b {
                b'#' => {
                    let end = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |p| i + p + 1);
                    if let Some(line) = blank_line {
                        comment_lines.push(line..end);
                    }
                    (i, blank_line) = (end, Some(end));
                    continue;
                }
                b'\'' | b'"' => {
                    let triple = bytes[i..].starts_with(if b == b'"' { b"\"\"\"" } else { b"\'\'\'" });
                    let len = if triple { 3 } else { 1 };
                    quote = Some(&bytes[i..i + len]);
                    i += len;
                    continue;
                }
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                b'\\' if bytes.get(i + 1) == Some(&b'\n') => i += 1,
                b'\n' => blank_line = Some(i + 1),
                _ => {}
            }
            i += 1;
        }
        if starts.first() != Some(&0) {
            starts.insert(0, 0);
        }
        let mut layout =
            Layout { starts, comment_lines, python2: may_hold_python2_statements(text), functions: vec![] };
        let functions = layout
            .statements(text)
            .enumerate()
            .filter_map(|(index, statement)| {
                let name = defined_function(&text[statement.clone()])?;
                Some((index, statement.start + name.start..statement.start + name.end))
            })
            .collect();
        layout.functions = functions;
        layout
    }

    /// The name of the function the top-level statement `index` defines, if it is a `def`.
    fn function_defined_by<'t>(&self, text: &'t str, index: usize) -> Option<&'t str> {
        let at = self.functions.binary_search_by_key(&index, |(i, _)| *i).ok()?;
        Some(&text[self.functions[at].1.clone()])
    }

    /// The byte range of each top-level statement of `text` (the text this layout is of), up
    /// to where the next one begins: comment lines and blank lines after it included.
    fn statements<'s>(&'s self, text: &'s str) -> impl Iterator<Item = std::ops::Range<usize>> + 's {
        let ends = self.starts.iter().skip(1).copied().chain(std::iter::once(text.len()));
        self.starts.iter().copied().zip(ends).map(|(start, end)| start..end)
    }

    /// Where the top-level `def name(…)` is in `text`: from its line to the next top-level
    /// statement.
    pub fn function(&self, text: &str, name: &str) -> Option<std::ops::Range<usize>> {
        let (index, _) = self.functions.iter().find(|(_, defined)| &text[defined.clone()] == name)?;
        self.statements(text).nth(*index)
    }
}

/// `ranges` (sorted, disjoint) less the `holes` (sorted, disjoint, none across a range's end).
fn without(ranges: Vec<std::ops::Range<usize>>, holes: &[std::ops::Range<usize>]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::with_capacity(ranges.len() + holes.len());
    let mut holes = holes.iter().peekable();
    for range in ranges {
        let mut start = range.start;
        while let Some(hole) = holes.next_if(|hole| hole.start < range.end) {
            if hole.start > start {
                out.push(start..hole.start);
            }
            start = start.max(hole.end);
        }
        if start < range.end {
            out.push(start..range.end);
        }
    }
    out
}

/// Maps a byte offset to a tree-sitter point (row, byte column). Tree-sitter counts rows at
/// `\n` only, so these rows are not the lines findings name.
fn line_points(text: &str) -> impl Fn(usize) -> tree_sitter::Point + '_ {
    let line_starts: Vec<usize> =
        std::iter::once(0).chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1)).collect();
    move |offset| {
        let row = line_starts.partition_point(|&s| s <= offset) - 1;
        tree_sitter::Point { row, column: offset - line_starts[row] }
    }
}

/// `print x` / `exec code` at the start of a line (`print(x)` is Python 3). Only the places
/// the keywords occur are looked at: `op.execute(…)` is in most Alembic files.
fn may_hold_python2_statements(text: &str) -> bool {
    static KEYWORDS: std::sync::LazyLock<[memchr::memmem::Finder; 2]> =
        std::sync::LazyLock::new(|| [memchr::memmem::Finder::new("print"), memchr::memmem::Finder::new("exec")]);
    KEYWORDS.iter().any(|keyword| {
        keyword.find_iter(text.as_bytes()).any(|at| {
            // Most occurrences follow a dot or a letter (`op.execute`): no line scan for those.
            if at > 0 && !matches!(text.as_bytes()[at - 1], b' ' | b'\t' | b'\n') {
                return false;
            }
            let line_start = memchr::memrchr(b'\n', &text.as_bytes()[..at]).map_or(0, |newline| newline + 1);
            let after = &text[at + keyword.needle().len()..];
            let rest = after.split('\n').next().unwrap_or_default();
            text[line_start..at].trim_start().is_empty()
                && rest.starts_with([' ', '\t'])
                && !rest.trim_start().starts_with(['(', '='])
        })
    })
}

fn concat(parts: Vec<Option<&str>>) -> Value {
    let mut out = String::new();
    for part in parts {
        match part {
            Some(text) => out.push_str(text),
            None => return Value::Dynamic("string built at run time".into()),
        }
    }
    Value::Str(out)
}

fn parse_int(text: &str) -> Option<i64> {
    let text = text.replace('_', "").to_ascii_lowercase();
    let text = text.trim_end_matches('l');
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    text.parse().ok()
}

/// Python escape sequences inside a non-raw string.
fn unescape_into(text: &str, out: &mut String) {
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some('\'') => out.push('\''),
            Some('"') => out.push('"'),
            Some('\n') => {}
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
}

/// `a.b.c` for identifiers and attribute chains; `None` for anything computed.
fn dotted(module: &Module, node: Node) -> Option<String> {
    let mut name = String::new();
    dotted_into(module, node, &mut name).then_some(name)
}

fn dotted_into(module: &Module, node: Node, name: &mut String) -> bool {
    match kind(node) {
        "identifier" => name.push_str(module.text_of(node)),
        "attribute" => {
            let (Some(object), Some(attribute)) = (field(node, Field::Object), field(node, Field::Attribute)) else {
                return false;
            };
            if !dotted_into(module, object, name) {
                return false;
            }
            name.push('.');
            name.push_str(module.text_of(attribute));
        }
        _ => return false,
    }
    true
}

/// The assignment inside an `expression_statement`, if it is one.
fn expression_assignment(statement: Node) -> Option<Node> {
    if kind(statement) != "expression_statement" {
        return None;
    }
    children(statement).find(|n| kind(*n) == "assignment")
}

/// Named children, comments excluded.
pub fn children<'t>(node: Node<'t>) -> impl Iterator<Item = Node<'t>> + 't {
    node.children()
}

/// The node's grammar kind.
pub fn kind(node: Node) -> &'static str {
    node.kind()
}

/// `node`'s child in `field`.
pub fn field<'t>(node: Node<'t>, field: Field) -> Option<Node<'t>> {
    node.field(field)
}

pub fn span(node: Node) -> Span {
    Span::new(node.start_byte(), node.end_byte())
}

/// `set()`, `set([…])`, `frozenset((…))`: the set of a literal collection; other calls stay calls.
fn set_of(call: Call) -> Value {
    let builtin = matches!(call.func.as_str(), "set" | "frozenset") && call.receiver.is_none();
    if !builtin || call.splat || !call.kwargs.is_empty() {
        return Value::Call(call);
    }
    match call.args.as_slice() {
        [] => Value::Set(vec![]),
        [collection] => match collection.items() {
            Some(items) => Value::Set(items.to_vec()),
            None => Value::Call(call),
        },
        _ => Value::Call(call),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(source: &str) -> Value {
        let text = format!("X = {source}\n");
        let module = Module::parse(&text).expect("parses");
        let constants = module.constants.borrow();
        constants.get("X").map(|e| e.value.clone()).unwrap_or(Value::Dynamic("not constant".into()))
    }

    #[test]
    fn outline_skips_imports_and_helpers_but_not_strings_at_column_zero() {
        let text = "import os\nfrom x import (\n    a,\n)\n\ndef helper(apps, schema_editor):\n    print('x')\n\nTABLE = 'items'\n\nclass Migration:\n    operations = [RunSQL(\"\"\"\nCREATE INDEX i ON items (a);\n\"\"\")]\n\ndef upgrade():\n    pass\n";
        let starts: Vec<&str> =
            Layout::of(text).starts.iter().map(|&s| text[s..].lines().next().unwrap_or("")).collect();
        assert_eq!(
            starts,
            [
                "import os",
                "from x import (",
                "def helper(apps, schema_editor):",
                "TABLE = 'items'",
                "class Migration:",
                "def upgrade():"
            ]
        );
        let module = Module::parse_outline(text, &["upgrade"]).expect("parses");
        assert!(module.class("Migration").is_some() && module.function("upgrade").is_some());
        assert!(module.function("helper").is_none(), "helper bodies are skipped");
        assert!(module.syntax_error().is_none());
    }

    #[test]
    fn outline_leaves_out_comment_lines_but_not_hashes_in_strings() {
        let text = "# header\ndef upgrade():\n    # ### commands auto generated ###\n    op.execute(\"\"\"\n# kept\nSELECT 1\"\"\")  # trailing\n    # ### end ###\n";
        let lines: Vec<&str> = Layout::of(text).comment_lines.into_iter().map(|r| &text[r]).collect();
        assert_eq!(lines, ["# header\n", "    # ### commands auto generated ###\n", "    # ### end ###\n"]);
        let module = Module::parse_outline(text, &["upgrade"]).expect("parses");
        assert!(module.syntax_error().is_none());
        let upgrade = module.function("upgrade").expect("upgrade");
        let body = field(upgrade, Field::Body).expect("body");
        let call = children(body).next().and_then(|statement| children(statement).next()).expect("a call");
        let argument = module.eval(call).as_call().and_then(|c| c.args.first().cloned()).expect("an argument");
        assert_eq!(argument.as_str(), Some("\n# kept\nSELECT 1"));
    }

    #[test]
    fn outline_leaves_out_module_level_annotations() {
        let text = "\"\"\"Docstring.\"\"\"\nrevision: str = \"abc\"\ndown_revision: Union[str, Sequence[str], None] = (\"a\", \"b\")\nflag: dict[str, int] = {\"x\": 1}\n\ndef upgrade() -> None:\n    pass\n";
        let module = Module::parse_outline(text, &["upgrade"]).expect("parses");
        assert!(module.syntax_error().is_none());
        assert_eq!(module.constant("revision").and_then(|e| e.as_str().map(str::to_string)), Some("abc".into()));
        assert_eq!(module.constant("down_revision").and_then(|e| e.items().map(<[Expr]>::len)), Some(2));
        assert!(module.function("upgrade").is_some());
        assert_eq!(annotation("x: int = 1"), Some(1..7));
        assert_eq!(annotation("x: Literal['a'] = 'a'"), None);
        assert_eq!(annotation("else: pass"), None);
        assert_eq!(annotation("x == 1"), None);
    }

    #[test]
    fn literals_and_strings() {
        assert_eq!(eval("'a' 'b'"), Value::Str("ab".into()));
        assert_eq!(eval("\"\"\"multi\nline\"\"\""), Value::Str("multi\nline".into()));
        assert_eq!(eval(r"'it\'s'"), Value::Str("it's".into()));
        assert_eq!(eval(r"r'\d+'"), Value::Str(r"\d+".into()));
        assert_eq!(eval("10_000"), Value::Int(10_000));
        assert_eq!(eval("-1"), Value::Int(-1));
        assert_eq!(eval("None"), Value::None);
        assert!(matches!(eval("f'{x}'"), Value::Dynamic(_)));
        assert!(matches!(eval("[x for x in y]"), Value::Dynamic(_)));
    }

    #[test]
    fn lists_long_and_short_keep_every_element_in_order_without_comments() {
        for count in [3, 16, 17, 40] {
            let items: Vec<String> = (0..count).map(|i| format!("{i},  # item {i}\n")).collect();
            let Value::List(elements) = eval(&format!("[\n{}]", items.concat())) else { panic!("a list") };
            let values: Vec<i64> = elements.iter().filter_map(Expr::as_int).collect();
            assert_eq!(values, (0..count).collect::<Vec<i64>>(), "{count} elements");
        }
    }

    #[test]
    fn sets_and_set_calls_are_collections_like_lists_and_tuples() {
        let ints = |source: &str| -> Option<Vec<i64>> {
            let Value::Set(items) = eval(source) else { return None };
            Some(items.iter().filter_map(Expr::as_int).collect())
        };
        assert_eq!(ints("{1, 2,  # two\n 3}"), Some(vec![1, 2, 3]));
        assert_eq!(ints("set()"), Some(vec![]));
        assert_eq!(ints("set([1, 2])"), Some(vec![1, 2]));
        assert_eq!(ints("frozenset((1,))"), Some(vec![1]));
        assert_eq!(ints("frozenset({1})"), Some(vec![1]));
        // A set of something lockgate cannot read stays a call; a dict is not a set.
        assert!(matches!(eval("set(rows)"), Value::Call(_)));
        assert!(matches!(eval("{1: 2}"), Value::Dict(_)));
        let pair = Expr { value: eval("{('a', 'b')}"), span: Span::default() };
        assert_eq!(pair.items().map(<[Expr]>::len), Some(1));
    }

    #[test]
    fn calls_keep_positional_and_keyword_arguments() {
        let Value::Call(call) = eval("models.CharField(max_length=20, null=True)") else { panic!("not a call") };
        assert_eq!(call.func, "models.CharField");
        assert_eq!(call.name(), "CharField");
        assert_eq!(call.kwarg("max_length").and_then(Expr::as_int), Some(20));
        assert_eq!(call.arg("null", 5).and_then(Expr::as_bool), Some(true));
    }

    #[test]
    fn module_constants_are_substituted() {
        let text = "TABLE = 'users'\nX = [TABLE, 'b']\n";
        let module = Module::parse(text).expect("parses");
        let constants = module.constants.borrow();
        let list = constants.get("X").expect("constant");
        assert_eq!(list.items().map(|i| i[0].as_str()), Some(Some("users")));
    }

    #[test]
    fn python2_is_a_syntax_error_with_a_hint() {
        let module = Module::parse("print 'hello'\nclass Migration:\n    pass\n").expect("parses");
        let error = module.syntax_error().expect("error");
        assert!(error.message.contains("Python 2"), "{}", error.message);
        let broken = Module::parse("class Migration(:\n").expect("parses");
        assert!(broken.syntax_error().is_some());
    }

    #[test]
    fn python2_statements_are_told_from_calls_and_names() {
        for python2 in ["print 'x'\n", "x = 1\n    print x\n", "def f():\n\texec code\n", "a\r\nprint\tb"] {
            assert!(may_hold_python2_statements(python2), "{python2:?}");
        }
        let python3 = [
            "print('x')\n",
            "op.execute('SELECT 1')\n",
            "print = 1\n",
            "x.print y\n",
            "printer x\n",
            "exec (code)\n",
            "print\n(1)\n",
        ];
        for python3 in python3 {
            assert!(!may_hold_python2_statements(python3), "{python3:?}");
        }
    }

    #[test]
    fn annotated_module_assignments_are_read() {
        let text = "revision: str = \"abc\"\ndown_revision: Union[str, Sequence[str], None] = (\"a\", \"b\")\n";
        let module = Module::parse(text).expect("parses");
        assert_eq!(
            module.module_assignment("revision").and_then(|e| e.as_str().map(str::to_string)),
            Some("abc".into())
        );
        let down = module.module_assignment("down_revision").expect("assigned");
        assert_eq!(down.items().map(<[Expr]>::len), Some(2));
    }

    #[test]
    fn methods_on_call_results_keep_their_receiver() {
        let Value::Call(call) = eval("sa.update(t).where(x).values(a=1)") else { panic!("not a call") };
        assert_eq!(call.func, "sa.update().where().values");
        assert_eq!(call.receiver_call().and_then(|r| r.receiver_call()).map(|c| c.func.as_str()), Some("sa.update"));
        let Value::Call(join) = eval("', '.join(names)") else { panic!("not a call") };
        assert_eq!(join.name(), "join");
    }

    #[test]
    fn bound_locals_shadow_constants_and_become_receivers() {
        let module = Module::parse("conn = None\nconn.execute('SELECT 1')\n").expect("parses");
        let call_node = module.root().descendants().filter(|n| kind(*n) == "call").max_by_key(|n| n.start_byte());
        let bind = Module::parse("op.get_bind()\n").expect("parses");
        let bind_call = bind.root().descendants().find(|n| kind(*n) == "call").map(|n| bind.eval(n)).expect("call");
        module.bind("conn", bind_call);
        let Value::Call(call) = module.eval(call_node.expect("call")).value else { panic!("not a call") };
        assert_eq!(call.func, "op.get_bind().execute");
    }

    #[test]
    fn with_items_name_their_managers_and_aliases() {
        let module =
            Module::parse("with op.batch_alter_table(\"t\") as batch_op, other():\n    pass\n").expect("parses");
        let with = children(module.root()).next().expect("statement");
        let items = module.with_items(with);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].0.as_call().map(|c| c.func.as_str()), Some("op.batch_alter_table"));
        assert_eq!(items[0].1.as_deref(), Some("batch_op"));
        assert_eq!(items[1].1, None);
    }
}
