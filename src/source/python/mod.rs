//! A static reader of Python migration files: tree-sitter syntax, plus the small value model
//! the Django and Alembic front ends need (literals, dotted names, calls with arguments).
//! Nothing is imported or executed; anything dynamic becomes `Value::Dynamic` with its span.

//!
//! A file is pre-scanned by lines (`outline.rs`), read into a syntax tree (`syntax.rs`) by the
//! fast reader (`reader.rs`) or tree-sitter (`treesitter.rs`), and its expressions are
//! evaluated (`eval.rs`) into the value model (`value.rs`).

use std::cell::RefCell;

use foldhash::{HashMap, HashMapExt};

use crate::ir::Span;

pub mod classes;
mod eval;
mod outline;
mod reader;
mod syntax;
mod treesitter;
mod value;

pub use classes::{Constructor, ProjectClass, ProjectPython, Resolved};
use outline::{may_hold_python2_statements, outline_ranges};
pub use outline::{Prescan, TopLevel};
use syntax::SyntaxTree;
pub use syntax::{Field, Node};
use treesitter::{syntax_error, tree_sitter_parse};
pub use value::{Call, Expr, Value};

/// A module's constants, carried from one parse of a file to the next.
pub struct Constants(HashMap<String, Expr>);

/// A parsed Python file.
pub struct Module<'a> {
    pub text: &'a str,
    tree: SyntaxTree,
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
        Module::parse_outline_in(text, &Prescan::of(text), &|statement| match statement {
            TopLevel::Def(name) => keep.contains(&name),
            TopLevel::Class(_) | TopLevel::Other => true,
            TopLevel::Import => false,
        })
    }

    /// Like [`Module::parse_outline`], for a file whose layout is known already (a reader that
    /// parses one file twice scans it once); `keep` says which top-level statements are parsed.
    pub fn parse_outline_in(text: &'a str, layout: &Prescan, keep: &dyn Fn(TopLevel) -> bool) -> Option<Module<'a>> {
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

    fn new(text: &'a str, tree: SyntaxTree, syntax_error: Option<SyntaxError>) -> Module<'a> {
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

#[cfg(test)]
mod tests {
    use super::outline::annotation;
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
            Prescan::of(text).starts.iter().map(|&s| text[s..].lines().next().unwrap_or("")).collect();
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
        let lines: Vec<&str> = Prescan::of(text).comment_lines.into_iter().map(|r| &text[r]).collect();
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
