//! The syntax tree the migration readers walk: tree-sitter-python's node kinds, fields and byte
//! ranges, stored flat. It is built by the fast reader (`reader.rs`) for the Python that
//! migrations are written in, or copied from a tree-sitter tree for anything else, so the
//! readers see one shape whichever parser read the file.

use tree_sitter::Language;

/// The fields of the Python grammar that the readers use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Alternative,
    Argument,
    Arguments,
    Attribute,
    Body,
    Condition,
    Consequence,
    Definition,
    Function,
    Key,
    Left,
    Name,
    Object,
    Operator,
    Parameters,
    Right,
    Value,
}

impl Field {
    pub(super) const ALL: [Field; 17] = [
        Field::Alternative,
        Field::Argument,
        Field::Arguments,
        Field::Attribute,
        Field::Body,
        Field::Condition,
        Field::Consequence,
        Field::Definition,
        Field::Function,
        Field::Key,
        Field::Left,
        Field::Name,
        Field::Object,
        Field::Operator,
        Field::Parameters,
        Field::Right,
        Field::Value,
    ];

    fn grammar_name(self) -> &'static str {
        match self {
            Field::Alternative => "alternative",
            Field::Argument => "argument",
            Field::Arguments => "arguments",
            Field::Attribute => "attribute",
            Field::Body => "body",
            Field::Condition => "condition",
            Field::Consequence => "consequence",
            Field::Definition => "definition",
            Field::Function => "function",
            Field::Key => "key",
            Field::Left => "left",
            Field::Name => "name",
            Field::Object => "object",
            Field::Operator => "operator",
            Field::Parameters => "parameters",
            Field::Right => "right",
            Field::Value => "value",
        }
    }
}

struct NodeData {
    kind: &'static str,
    start: u32,
    end: u32,
    /// Range in `SyntaxTree::children`.
    children: (u32, u32),
    /// Range in `SyntaxTree::fields`.
    fields: (u32, u32),
}

/// A parsed file. Only named nodes other than comments are children; a field may also point at
/// an anonymous token (a binary expression's operator). A string's content keeps its text but
/// not its escape sequences as nodes: readers unescape the text.
pub struct SyntaxTree {
    nodes: Vec<NodeData>,
    children: Vec<u32>,
    fields: Vec<(Field, u32)>,
}

#[derive(Clone, Copy)]
pub struct Node<'t> {
    tree: &'t SyntaxTree,
    id: u32,
}

impl std::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}..{}", self.kind(), self.start_byte(), self.end_byte())
    }
}

impl SyntaxTree {
    /// The module: the last node built.
    pub fn root(&self) -> Node<'_> {
        Node { tree: self, id: self.nodes.len().saturating_sub(1) as u32 }
    }
}

impl<'t> Node<'t> {
    fn data(self) -> &'t NodeData {
        &self.tree.nodes[self.id as usize]
    }

    pub fn kind(self) -> &'static str {
        self.data().kind
    }

    pub fn start_byte(self) -> usize {
        self.data().start as usize
    }

    pub fn end_byte(self) -> usize {
        self.data().end as usize
    }

    pub fn byte_range(self) -> std::ops::Range<usize> {
        self.start_byte()..self.end_byte()
    }

    /// Named children in order, comments excluded.
    pub fn children(self) -> impl Iterator<Item = Node<'t>> + 't {
        let (start, end) = self.data().children;
        let tree = self.tree;
        tree.children[start as usize..end as usize].iter().map(move |&id| Node { tree, id })
    }

    /// Every node in `field`, in order (an `if` has one `alternative` per `elif`/`else`).
    pub fn fields(self, field: Field) -> impl Iterator<Item = Node<'t>> + 't {
        let (start, end) = self.data().fields;
        let tree = self.tree;
        tree.fields[start as usize..end as usize]
            .iter()
            .filter(move |(f, _)| *f == field)
            .map(move |&(_, id)| Node { tree, id })
    }

    pub fn field(self, field: Field) -> Option<Node<'t>> {
        self.fields(field).next()
    }

    /// This node and all below it, parents before children.
    pub fn descendants(self) -> impl Iterator<Item = Node<'t>> + 't {
        let mut stack = vec![self];
        std::iter::from_fn(move || {
            let node = stack.pop()?;
            let mut below: Vec<Node<'t>> = node.children().collect();
            below.extend(node.fields_only());
            below.reverse();
            stack.extend(below);
            Some(node)
        })
    }

    /// Field targets that are not children (anonymous tokens).
    fn fields_only(self) -> impl Iterator<Item = Node<'t>> + 't {
        let (start, end) = self.data().fields;
        let tree = self.tree;
        let children = &tree.children[self.data().children.0 as usize..self.data().children.1 as usize];
        tree.fields[start as usize..end as usize]
            .iter()
            .filter(move |(_, id)| !children.contains(id))
            .map(move |&(_, id)| Node { tree, id })
    }
}

/// Builds a [`SyntaxTree`] bottom-up: a node's children and fields are pushed while it is read, then
/// [`Builder::finish`] takes those pushed since its [`Builder::mark`].
pub struct Builder {
    tree: SyntaxTree,
    pending_children: Vec<u32>,
    pending_fields: Vec<(Field, u32)>,
}

/// Where a node's pending children and fields begin.
#[derive(Clone, Copy)]
pub struct Mark(usize, usize);

impl Builder {
    pub fn new(capacity: usize) -> Builder {
        Builder {
            tree: SyntaxTree {
                nodes: Vec::with_capacity(capacity),
                children: Vec::with_capacity(capacity),
                fields: Vec::with_capacity(capacity),
            },
            // Nodes in progress: as deep as the nesting, a few dozen at most in a migration.
            pending_children: Vec::with_capacity(32),
            pending_fields: Vec::with_capacity(32),
        }
    }

    pub fn mark(&self) -> Mark {
        Mark(self.pending_children.len(), self.pending_fields.len())
    }

    /// A node without children or fields.
    pub fn leaf(&mut self, kind: &'static str, start: usize, end: usize) -> u32 {
        let mark = self.mark();
        self.finish(mark, kind, start, end)
    }

    pub fn child(&mut self, id: u32) {
        self.pending_children.push(id);
    }

    pub fn field(&mut self, field: Field, id: u32) {
        self.pending_fields.push((field, id));
    }

    /// Both a child and the node in `field`.
    pub fn child_in(&mut self, field: Field, id: u32) {
        self.child(id);
        self.field(field, id);
    }

    pub fn finish(&mut self, mark: Mark, kind: &'static str, start: usize, end: usize) -> u32 {
        let tree = &mut self.tree;
        // Copied as slices, then cut: most nodes have no children or fields, and a drain
        // iterator costs more to set up than the copy.
        let children_start = tree.children.len() as u32;
        tree.children.extend_from_slice(&self.pending_children[mark.0..]);
        self.pending_children.truncate(mark.0);
        let fields_start = tree.fields.len() as u32;
        tree.fields.extend_from_slice(&self.pending_fields[mark.1..]);
        self.pending_fields.truncate(mark.1);
        tree.nodes.push(NodeData {
            kind,
            start: start as u32,
            end: end as u32,
            children: (children_start, tree.children.len() as u32),
            fields: (fields_start, tree.fields.len() as u32),
        });
        (tree.nodes.len() - 1) as u32
    }

    /// Like [`Builder::finish`], for a node that spans its children, first to last.
    pub fn finish_spanning(&mut self, mark: Mark, kind: &'static str) -> Option<u32> {
        let children = &self.pending_children[mark.0..];
        let (start, end) = (self.start_of(*children.first()?), self.end_of(*children.last()?));
        Some(self.finish(mark, kind, start, end))
    }

    pub fn start_of(&self, id: u32) -> usize {
        self.tree.nodes[id as usize].start as usize
    }

    pub fn end_of(&self, id: u32) -> usize {
        self.tree.nodes[id as usize].end as usize
    }

    pub fn kind_of(&self, id: u32) -> &'static str {
        self.tree.nodes[id as usize].kind
    }

    /// The tree; the node finished last is its root.
    pub fn build(self) -> SyntaxTree {
        self.tree
    }
}

/// A tree-sitter tree in the readers' shape.
pub fn from_tree_sitter(tree: &tree_sitter::Tree) -> SyntaxTree {
    let mut builder = Builder::new(tree.root_node().descendant_count());
    let ids = FieldIds::get();
    copy(tree.root_node(), &mut builder, ids);
    builder.build()
}

fn copy(node: tree_sitter::Node, builder: &mut Builder, ids: &FieldIds) -> u32 {
    let mark = builder.mark();
    let mut cursor = node.walk();
    if kind(node) != "string_content" && cursor.goto_first_child() {
        loop {
            let child = cursor.node();
            let field = cursor.field_id().and_then(|id| ids.field(id.get()));
            let named = child.is_named() && kind(child) != "comment";
            if named || field.is_some() {
                let id = copy(child, builder, ids);
                if named {
                    builder.child(id);
                }
                if let Some(field) = field {
                    builder.field(field, id);
                }
            }
            if !cursor.goto_next_sibling() {
                break;
            }
        }
    }
    builder.finish(mark, kind(node), node.start_byte(), node.end_byte())
}

/// The grammar's ids of the fields the readers use, looked up once.
struct FieldIds(Vec<(u16, Field)>);

impl FieldIds {
    fn get() -> &'static FieldIds {
        static IDS: std::sync::LazyLock<FieldIds> = std::sync::LazyLock::new(|| {
            let language: Language = tree_sitter_python::LANGUAGE.into();
            FieldIds(
                Field::ALL
                    .iter()
                    .filter_map(|f| Some((language.field_id_for_name(f.grammar_name())?.get(), *f)))
                    .collect(),
            )
        });
        &IDS
    }

    fn field(&self, id: u16) -> Option<Field> {
        self.0.iter().find(|(i, _)| *i == id).map(|(_, f)| *f)
    }
}

/// A tree-sitter node's grammar kind. tree-sitter's `Node::kind` measures and checks the kind's
/// C string on every call; the names are read once.
pub fn kind(node: tree_sitter::Node) -> &'static str {
    static KINDS: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
        let language: Language = tree_sitter_python::LANGUAGE.into();
        (0..language.node_kind_count()).map(|id| language.node_kind_for_id(id as u16).unwrap_or_default()).collect()
    });
    KINDS.get(usize::from(node.kind_id())).copied().unwrap_or_else(|| node.kind())
}
