//! Classes defined in the project's own Python, found statically: a migration names a field or
//! type class (`myapp.fields.LowerCaseCharField`, `JSONText`), and the front end needs to know
//! which framework class it stands for. The class is looked up through the imports of the file
//! that names it, in that file or in a module of the project read from disk (never imported);
//! what the class says about itself (its bases, class attributes, methods and the keyword
//! defaults its `__init__` sets) is read from its body. A name that leads outside the project
//! (`django.db.models.CharField`, `sqlalchemy.types.TypeDecorator`) is returned as the dotted
//! path it was imported from, for the front end to recognise.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use foldhash::{HashMap, HashMapExt};

use super::{children, field, kind, Call, Expr, Field, Module, Node, Prescan, TopLevel, Value};
use crate::ir::Span;

/// How many re-exports or base classes are followed before giving up (import cycles, deep
/// hierarchies).
const MAX_DEPTH: usize = 16;

/// The project's Python modules read so far, shared by the files of one run.
#[derive(Default)]
pub struct ProjectPython {
    /// Summaries by file; `None`: the file could not be read or parsed.
    modules: Mutex<HashMap<PathBuf, Option<Arc<ModuleSummary>>>>,
    /// The folder each top package is found in, by the folder the search starts from: many
    /// names lead to the same packages (`sqlalchemy`, `django`), most of them not the project's.
    roots: Mutex<HashMap<(PathBuf, String), Option<PathBuf>>>,
}

/// What a name refers to.
#[derive(Debug, Clone)]
pub enum Resolved {
    /// A class defined in the project.
    Class(ProjectClass),
    /// Something outside the project, by the dotted path it was imported from.
    External(String),
}

/// A class defined in one of the project's modules.
#[derive(Debug, Clone)]
pub struct ProjectClass {
    pub module: Arc<ModuleSummary>,
    pub class: Arc<ClassSummary>,
}

/// The top-level names of one module.
#[derive(Debug)]
pub struct ModuleSummary {
    pub file: PathBuf,
    /// Local name → what the import bound to it.
    imports: HashMap<String, Imported>,
    classes: HashMap<String, Arc<ClassSummary>>,
}

/// An imported name: a module, or a member of one (`from a.b import C`).
#[derive(Debug, Clone)]
struct Imported {
    /// The folder a relative import starts from; `None`: searched from the importing file.
    anchor: Option<PathBuf>,
    /// The dotted path the name stands for.
    path: String,
}

/// What a class body says about the class.
#[derive(Debug)]
pub struct ClassSummary {
    pub name: String,
    /// The bases as written (`models.CharField`; a subscript such as `TypeDecorator[str]` is
    /// read as its class).
    bases: Vec<String>,
    /// `name = value` (or `name: T = value`) in the class body.
    pub attributes: Vec<(String, Expr)>,
    /// The methods the class defines.
    pub methods: Vec<String>,
    /// What its `__init__` does to the keyword arguments, when it defines one: `Err` says why
    /// it cannot be read.
    pub constructor: Option<Result<Constructor, String>>,
}

/// An `__init__` that only adjusts the keyword arguments it passes on to its base.
#[derive(Debug, Clone, Default)]
pub struct Constructor {
    /// Parameters that take positional arguments before `*args` (after `self`): they are
    /// consumed, not passed on.
    pub positional: Vec<String>,
    /// Parameters that can only be given by keyword: consumed too.
    pub keyword_only: Vec<String>,
    /// `kwargs.setdefault("k", v)`, `kwargs["k"] = kwargs.get("k", v)`: used when not given.
    pub defaults: Vec<(String, Expr)>,
    /// `kwargs["k"] = v`, `super().__init__(k=v, **kwargs)`: always this value.
    pub overrides: Vec<(String, Expr)>,
    /// `kwargs.pop("k")`, `del kwargs["k"]`: not passed on.
    pub removed: Vec<String>,
}

impl Constructor {
    /// The arguments this `__init__` passes on to its base's, for a call with `call`'s; the
    /// arguments it adds are shown at `at`, the call in the file that makes it.
    pub fn apply(&self, call: &Call, at: Span) -> Call {
        let consumed =
            |name: &str| self.positional.iter().chain(&self.keyword_only).chain(&self.removed).any(|p| p == name);
        let mut kwargs: Vec<(String, Expr)> = call.kwargs.iter().filter(|(k, _)| !consumed(k)).cloned().collect();
        for (key, value) in &self.defaults {
            if !kwargs.iter().any(|(k, _)| k == key) {
                kwargs.push((key.clone(), respan(value, at)));
            }
        }
        for (key, value) in &self.overrides {
            kwargs.retain(|(k, _)| k != key);
            kwargs.push((key.clone(), respan(value, at)));
        }
        Call {
            func: call.func.clone(),
            args: call.args.iter().skip(self.positional.len()).cloned().collect(),
            kwargs,
            splat: call.splat,
            receiver: call.receiver.clone(),
        }
    }
}

/// A value read from another file, placed at `span` of the file that uses it (its own offsets
/// mean nothing there).
pub fn respan(expr: &Expr, span: Span) -> Expr {
    let all = |items: &[Expr]| items.iter().map(|e| respan(e, span)).collect();
    let value = match &expr.value {
        Value::List(items) => Value::List(all(items)),
        Value::Tuple(items) => Value::Tuple(all(items)),
        Value::Set(items) => Value::Set(all(items)),
        Value::Dict(pairs) => Value::Dict(pairs.iter().map(|(k, v)| (respan(k, span), respan(v, span))).collect()),
        Value::Call(call) => Value::Call(Call {
            func: call.func.clone(),
            args: all(&call.args),
            kwargs: call.kwargs.iter().map(|(k, v)| (k.clone(), respan(v, span))).collect(),
            splat: call.splat,
            receiver: call.receiver.as_deref().map(|r| Box::new(respan(r, span))),
        }),
        other => other.clone(),
    };
    Expr { value, span }
}

/// Replaces, innermost first, every value in `expr` that `replace` has a replacement for: a
/// front end swaps a project class for the framework class it stands for.
pub fn rewrite(expr: &mut Expr, replace: &mut dyn FnMut(&Expr) -> Option<Expr>) {
    match &mut expr.value {
        Value::List(items) | Value::Tuple(items) | Value::Set(items) => {
            items.iter_mut().for_each(|e| rewrite(e, replace));
        }
        Value::Dict(pairs) => pairs.iter_mut().for_each(|(k, v)| {
            rewrite(k, replace);
            rewrite(v, replace);
        }),
        Value::Call(call) => {
            call.args.iter_mut().for_each(|e| rewrite(e, replace));
            call.kwargs.iter_mut().for_each(|(_, e)| rewrite(e, replace));
            if let Some(receiver) = call.receiver.as_deref_mut() {
                rewrite(receiver, replace);
            }
        }
        _ => {}
    }
    if let Some(replacement) = replace(expr) {
        *expr = replacement;
    }
}

/// Whether `expr` names a class, or calls one, that could be the project's own: a capitalised
/// name (dotted as written) not already `known` to the front end. Only these are looked up, so
/// the imports of a file are read only when it uses such a class.
pub fn names_a_class(expr: &Expr, known: &dyn Fn(&str) -> bool) -> bool {
    let name = match &expr.value {
        Value::Name(name) => name,
        Value::Call(call) if call.receiver.is_none() => &call.func,
        _ => return false,
    };
    let last = name.rsplit('.').next().unwrap_or(name);
    last.starts_with(|c: char| c.is_ascii_uppercase()) && !known(name)
}

impl ProjectPython {
    /// The summary of the Python file at `file`, read once per run.
    pub fn module(&self, file: &Path) -> Option<Arc<ModuleSummary>> {
        self.summary(file, &|text| Module::parse(text))
    }

    /// The summary of a migration file (a Django migration, an Alembic revision): its imports
    /// and the classes it defines beside Django's `Migration`. Only those statements are parsed:
    /// the operations and functions, most of such a file (a StreamField's blocks run to
    /// thousands of lines), are the migration reader's, and a summary holds none of them.
    pub fn migration(&self, file: &Path) -> Option<Arc<ModuleSummary>> {
        self.summary(file, &|text| {
            Module::parse_outline_in(text, &Prescan::of(text), &|statement| match statement {
                TopLevel::Import => true,
                TopLevel::Class(name) => name != "Migration",
                TopLevel::Def(_) | TopLevel::Other => false,
            })
        })
    }

    /// The summary of `file` as `parse` reads it, read once per run.
    fn summary(&self, file: &Path, parse: &dyn Fn(&str) -> Option<Module<'_>>) -> Option<Arc<ModuleSummary>> {
        if let Some(known) = self.lock().get(file) {
            return known.clone();
        }
        // Read outside the lock: other files are read in parallel meanwhile.
        // Imports are found from the file's real folder, however the path was spelled.
        let real = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
        let summary = std::fs::read_to_string(&real)
            .ok()
            .and_then(|text| parse(&text).map(|module| Arc::new(ModuleSummary::of(&module, &real))));
        self.lock().entry(file.to_path_buf()).or_insert(summary).clone()
    }

    /// The file of the module `parts` names: from `start` (a relative import's folder), or from
    /// the first folder among `start` and its ancestors that holds the top package, as Python
    /// finds a project's own packages from the folder it runs in.
    fn find_module(&self, start: &Path, parts: &[&str], relative: bool) -> Option<PathBuf> {
        let in_folder = |folder: &Path| {
            let base: PathBuf = parts.iter().fold(folder.to_path_buf(), |path, part| path.join(part));
            [base.with_extension("py"), base.join("__init__.py")].into_iter().find(|f| f.is_file())
        };
        if relative {
            return in_folder(start);
        }
        let top = parts.first()?.to_string();
        let key = (start.to_path_buf(), top);
        let cached = self.roots.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key).cloned();
        let root = cached.unwrap_or_else(|| {
            let top = &key.1;
            let found = start
                .ancestors()
                .find(|folder| folder.join(top).is_dir() || folder.join(format!("{top}.py")).is_file())
                .map(Path::to_path_buf);
            let mut roots = self.roots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            roots.insert(key.clone(), found.clone());
            found
        });
        in_folder(&root?)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Option<Arc<ModuleSummary>>>> {
        // A panic while holding the lock leaves a cache that is still consistent.
        self.modules.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What `dotted` (as written in `module`) refers to.
    pub fn resolve(&self, module: &Arc<ModuleSummary>, dotted: &str) -> Resolved {
        self.resolve_in(module, dotted, 0)
    }

    fn resolve_in(&self, module: &Arc<ModuleSummary>, dotted: &str, depth: usize) -> Resolved {
        let (first, rest) = match dotted.split_once('.') {
            Some((first, rest)) => (first, Some(rest)),
            None => (dotted, None),
        };
        if let (Some(class), None) = (module.classes.get(first), rest) {
            return Resolved::Class(ProjectClass { module: module.clone(), class: class.clone() });
        }
        let Some(imported) = module.imports.get(first) else { return Resolved::External(dotted.to_string()) };
        let path = match rest {
            Some(rest) => format!("{}.{rest}", imported.path),
            None => imported.path.clone(),
        };
        if depth >= MAX_DEPTH {
            return Resolved::External(path);
        }
        let start = imported.anchor.clone().or_else(|| module.file.parent().map(Path::to_path_buf));
        let Some(start) = start else { return Resolved::External(path) };
        // The longest leading part of the path that is a module of the project holds the rest.
        let parts: Vec<&str> = path.split('.').collect();
        for split in (1..parts.len()).rev() {
            let Some(file) = self.find_module(&start, &parts[..split], imported.anchor.is_some()) else { continue };
            let Some(found) = self.module(&file) else { return Resolved::External(path) };
            return self.resolve_in(&found, &parts[split..].join("."), depth + 1);
        }
        Resolved::External(path)
    }

    /// `class` and its project ancestors, the class first and each base's line before the
    /// next base's (Python's order for single inheritance), with the bases that lead out of the
    /// project in the order they are met.
    pub fn lineage(&self, class: &ProjectClass) -> (Vec<ProjectClass>, Vec<String>) {
        let (mut classes, mut external) = (vec![], vec![]);
        let mut stack = vec![(class.clone(), 0)];
        while let Some((current, depth)) = stack.pop() {
            if depth > MAX_DEPTH || classes.iter().any(|c: &ProjectClass| Arc::ptr_eq(&c.class, &current.class)) {
                continue;
            }
            let mut bases = vec![];
            for base in &current.class.bases {
                match self.resolve(&current.module, base) {
                    Resolved::Class(parent) => bases.push((parent, depth + 1)),
                    Resolved::External(path) => external.push(path),
                }
            }
            classes.push(current);
            stack.extend(bases.into_iter().rev());
        }
        (classes, external)
    }
}

impl ModuleSummary {
    fn of(module: &Module, file: &Path) -> ModuleSummary {
        let mut summary = ModuleSummary { file: file.to_path_buf(), imports: HashMap::new(), classes: HashMap::new() };
        for statement in children(module.root()) {
            let definition = match kind(statement) {
                "decorated_definition" => field(statement, Field::Definition),
                _ => Some(statement),
            };
            match definition.map(kind) {
                Some("import_statement") => summary.read_import(module, statement),
                Some("import_from_statement") => summary.read_from_import(module, statement),
                Some("class_definition") => {
                    let Some(class) = definition.map(|d| ClassSummary::of(module, d)) else { continue };
                    summary.classes.insert(class.name.clone(), Arc::new(class));
                }
                _ => {}
            }
        }
        summary
    }

    /// `import a.b.c` binds `a`; `import a.b as f` binds `f` to `a.b`.
    fn read_import(&mut self, module: &Module, statement: Node) {
        for name in children(statement) {
            let (path, alias) = match kind(name) {
                "aliased_import" => {
                    let mut parts = children(name);
                    let path = parts.next().map(|p| module.text_of(p));
                    let alias = parts.next().map(|a| module.text_of(a));
                    match (path, alias) {
                        (Some(path), Some(alias)) => (path.to_string(), alias.to_string()),
                        _ => continue,
                    }
                }
                "dotted_name" => {
                    let text = module.text_of(name);
                    let top = text.split('.').next().unwrap_or(text);
                    (top.to_string(), top.to_string())
                }
                _ => continue,
            };
            self.imports.insert(alias, Imported { anchor: None, path });
        }
    }

    /// `from a.b import C as D`, `from . import fields`, `from ..x import Y`.
    fn read_from_import(&mut self, module: &Module, statement: Node) {
        let mut parts = children(statement);
        let Some(source) = parts.next() else { return };
        let (anchor, base) = match kind(source) {
            "relative_import" => {
                let mut inner = children(source);
                let dots = inner.next().map_or(1, |prefix| module.text_of(prefix).len());
                let path = inner.next().map(|p| module.text_of(p).to_string());
                let mut folder = self.file.parent().map(Path::to_path_buf);
                for _ in 1..dots {
                    folder = folder.and_then(|f| f.parent().map(Path::to_path_buf));
                }
                let Some(folder) = folder else { return };
                (Some(folder), path)
            }
            _ => (None, Some(module.text_of(source).to_string())),
        };
        for name in parts {
            let (member, alias) = match kind(name) {
                "aliased_import" => {
                    let mut inner = children(name);
                    match (inner.next(), inner.next()) {
                        (Some(member), Some(alias)) => (module.text_of(member), module.text_of(alias)),
                        _ => continue,
                    }
                }
                "dotted_name" => (module.text_of(name), module.text_of(name)),
                _ => continue,
            };
            let path = match &base {
                Some(base) => format!("{base}.{member}"),
                None => member.to_string(),
            };
            self.imports.insert(alias.to_string(), Imported { anchor: anchor.clone(), path });
        }
    }
}

impl ClassSummary {
    fn of(module: &Module, class: Node) -> ClassSummary {
        let name = field(class, Field::Name).map(|n| module.text_of(n).to_string()).unwrap_or_default();
        let bases = children(class)
            .filter(|n| kind(*n) == "argument_list")
            .flat_map(children)
            .filter_map(|base| {
                // `TypeDecorator[str]`: the generic's class.
                let base = if kind(base) == "subscript" { field(base, Field::Value)? } else { base };
                matches!(kind(base), "identifier" | "attribute").then(|| module.text_of(base).to_string())
            })
            .collect();
        let attributes =
            module.assignments(class).into_iter().map(|(name, value)| (name.to_string(), module.eval(value))).collect();
        let mut methods = vec![];
        let mut constructor = None;
        for statement in field(class, Field::Body).into_iter().flat_map(children) {
            let function = match kind(statement) {
                "decorated_definition" => field(statement, Field::Definition),
                _ => Some(statement),
            };
            let Some(function) = function.filter(|f| kind(*f) == "function_definition") else { continue };
            let Some(method) = field(function, Field::Name).map(|n| module.text_of(n)) else { continue };
            if method == "__init__" {
                constructor = Some(read_constructor(module, function));
            }
            methods.push(method.to_string());
        }
        ClassSummary { name, bases, attributes, methods, constructor }
    }

    pub fn defines(&self, method: &str) -> bool {
        self.methods.iter().any(|m| m == method)
    }

    pub fn attribute(&self, name: &str) -> Option<&Expr> {
        self.attributes.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// Reads an `__init__` whose body only adjusts its keyword arguments and calls its base's.
fn read_constructor(module: &Module, function: Node) -> Result<Constructor, String> {
    let mut constructor = Constructor::default();
    let (mut args, mut kwargs) = (None, None);
    let parameters = field(function, Field::Parameters).into_iter().flat_map(children).skip(1);
    for parameter in parameters {
        let name = match kind(parameter) {
            "identifier" => module.text_of(parameter),
            "default_parameter" | "typed_default_parameter" => match field(parameter, Field::Name) {
                Some(name) => module.text_of(name),
                None => continue,
            },
            "typed_parameter" => match children(parameter).next() {
                Some(inner) if kind(inner) == "identifier" => module.text_of(inner),
                Some(inner) => {
                    let star = children(inner).next().map(|n| module.text_of(n));
                    match kind(inner) {
                        "list_splat_pattern" => args = star,
                        _ => kwargs = star,
                    }
                    continue;
                }
                None => continue,
            },
            "list_splat_pattern" => {
                args = children(parameter).next().map(|n| module.text_of(n));
                continue;
            }
            "dictionary_splat_pattern" => {
                kwargs = children(parameter).next().map(|n| module.text_of(n));
                continue;
            }
            "keyword_separator" => {
                args = Some("*");
                continue;
            }
            _ => return Err("its `__init__` takes parameters lockgate cannot read".into()),
        };
        if args.is_some() {
            constructor.keyword_only.push(name.to_string());
        } else {
            constructor.positional.push(name.to_string());
        }
    }
    let kwargs = kwargs.ok_or("its `__init__` takes no `**kwargs` to pass on")?;
    let mut passed_on = false;
    for statement in field(function, Field::Body).into_iter().flat_map(children) {
        passed_on |= read_init_statement(module, statement, kwargs, &mut constructor)?;
    }
    if !passed_on {
        return Err("its `__init__` does not pass its keyword arguments to its base's".into());
    }
    Ok(constructor)
}

/// One statement of an `__init__`; `Ok(true)` for the call of the base's `__init__`.
fn read_init_statement(module: &Module, statement: Node, kwargs: &str, out: &mut Constructor) -> Result<bool, String> {
    let reason = || format!("its `__init__` runs `{}`", first_line(module.text_of(statement)));
    let unreadable = || Err(reason());
    match kind(statement) {
        "pass_statement" => return Ok(false),
        // `if not isinstance(x, str): raise TypeError(…)`: a check, not a change.
        "if_statement" if only_raises(statement) => return Ok(false),
        "delete_statement" => {
            let target = children(statement).next();
            return match target.and_then(|t| kwargs_key(module, t, kwargs)) {
                Some(key) => {
                    out.removed.push(key);
                    Ok(false)
                }
                None => unreadable(),
            };
        }
        "expression_statement" => {}
        _ => return unreadable(),
    }
    let Some(inner) = children(statement).next() else { return Ok(false) };
    match kind(inner) {
        // A docstring.
        "string" | "concatenated_string" => Ok(false),
        "assignment" => {
            let (Some(left), Some(right)) = (field(inner, Field::Left), field(inner, Field::Right)) else {
                return unreadable();
            };
            // `self.target = target`: the instance's own state, not the column.
            if kind(left) == "attribute" && field(left, Field::Object).is_some_and(|o| module.text_of(o) == "self") {
                return Ok(false);
            }
            let Some(key) = kwargs_key(module, left, kwargs) else { return unreadable() };
            let value = module.eval(right);
            if let Some(call) = value.as_call() {
                // `kwargs["k"] = kwargs.get("k", v)`: a default.
                if call.func == format!("{kwargs}.get") && call.args.first().and_then(Expr::as_str) == Some(&key) {
                    let default = call.args.get(1).cloned().unwrap_or(Expr { value: Value::None, span: value.span });
                    out.defaults.push((key, static_value(default).ok_or_else(reason)?));
                    return Ok(false);
                }
            }
            out.overrides.push((key, static_value(value).ok_or_else(reason)?));
            Ok(false)
        }
        "call" => {
            let value = module.eval(inner);
            let Some(call) = value.as_call() else { return unreadable() };
            if call.func == format!("{kwargs}.setdefault") {
                let (Some(key), Some(default)) = (call.args.first().and_then(Expr::as_str), call.args.get(1)) else {
                    return unreadable();
                };
                let default = static_value(default.clone()).ok_or_else(reason)?;
                out.defaults.push((key.to_string(), default));
                return Ok(false);
            }
            if call.func == format!("{kwargs}.pop") {
                let Some(key) = call.args.first().and_then(Expr::as_str) else { return unreadable() };
                out.removed.push(key.to_string());
                return Ok(false);
            }
            if call.name() == "__init__" && passes_kwargs(module, inner, kwargs) {
                for (key, value) in &call.kwargs {
                    out.overrides.push((key.clone(), static_value(value.clone()).ok_or_else(reason)?));
                }
                return Ok(true);
            }
            unreadable()
        }
        _ => unreadable(),
    }
}

/// `kwargs["k"]` → `k`.
fn kwargs_key(module: &Module, target: Node, kwargs: &str) -> Option<String> {
    if kind(target) != "subscript" || field(target, Field::Value).map(|v| module.text_of(v)) != Some(kwargs) {
        return None;
    }
    let key = children(target).nth(1)?;
    module.eval(key).as_str().map(str::to_string)
}

/// A call of the base's `__init__` that passes `**kwargs` on.
fn passes_kwargs(module: &Module, call: Node, kwargs: &str) -> bool {
    let Some(arguments) = field(call, Field::Arguments) else { return false };
    children(arguments)
        .any(|a| kind(a) == "dictionary_splat" && children(a).next().is_some_and(|n| module.text_of(n) == kwargs))
}

/// An `if` with no `else` whose body only raises.
fn only_raises(statement: Node) -> bool {
    field(statement, Field::Alternative).is_none()
        && field(statement, Field::Consequence).is_some_and(|body| children(body).all(|s| kind(s) == "raise_statement"))
}

/// A value known without running code: literals, names, and instances of classes built from
/// them (`models.CharField(max_length=40)`, an array field's base field). A function's result
/// (`compute()`) is known only when it runs.
fn static_value(expr: Expr) -> Option<Expr> {
    fn known(value: &Value) -> bool {
        match value {
            Value::Dynamic(_) => false,
            Value::List(items) | Value::Tuple(items) | Value::Set(items) => items.iter().all(|e| known(&e.value)),
            Value::Dict(pairs) => pairs.iter().all(|(k, v)| known(&k.value) && known(&v.value)),
            Value::Call(call) => {
                call.name().starts_with(|c: char| c.is_ascii_uppercase())
                    && call.receiver.is_none()
                    && !call.splat
                    && call.args.iter().all(|e| known(&e.value))
                    && call.kwargs.iter().all(|(_, e)| known(&e.value))
            }
            _ => true,
        }
    }
    known(&expr.value).then_some(expr)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temporary folder");
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("a folder")).expect("folders");
            std::fs::write(path, text).expect("written");
        }
        dir
    }

    fn class_of(python: &ProjectPython, file: &Path, name: &str) -> ProjectClass {
        let module = python.module(file).expect("read");
        match python.resolve(&module, name) {
            Resolved::Class(class) => class,
            Resolved::External(path) => panic!("{name} resolved outside the project: {path}"),
        }
    }

    #[test]
    fn follows_imports_relative_imports_and_re_exports_to_the_class() {
        let dir = project(&[
            ("app/__init__.py", ""),
            ("app/fields/__init__.py", "from .text import Lower\n"),
            (
                "app/fields/text.py",
                "from django.db import models\n\nclass Lower(models.CharField):\n    def __init__(self, *args, **kwargs):\n        \"\"\"Doc.\"\"\"\n        kwargs.setdefault('max_length', 64)\n        super().__init__(*args, **kwargs)\n",
            ),
            (
                "app/migrations/0001_initial.py",
                "import app.fields\nimport app.fields as f\nfrom app.fields import Lower as L\n\nclass Local(f.Lower):\n    pass\n",
            ),
        ]);
        let python = ProjectPython::default();
        let migration = dir.path().join("app/migrations/0001_initial.py");
        for name in ["app.fields.Lower", "f.Lower", "L"] {
            let class = class_of(&python, &migration, name);
            assert_eq!(class.class.name, "Lower");
            let (line, external) = python.lineage(&class);
            assert_eq!(line.len(), 1);
            assert_eq!(external, vec!["django.db.models.CharField".to_string()]);
            let constructor = class.class.constructor.clone().expect("an __init__").expect("readable");
            assert_eq!(constructor.defaults[0].0, "max_length");
            assert_eq!(constructor.defaults[0].1.as_int(), Some(64));
        }
        // A class of the file itself, whose base is imported.
        let local = class_of(&python, &migration, "Local");
        let (line, external) = python.lineage(&local);
        assert_eq!(line.iter().map(|c| c.class.name.as_str()).collect::<Vec<_>>(), ["Local", "Lower"]);
        assert_eq!(external, vec!["django.db.models.CharField".to_string()]);
        let module = python.module(&migration).expect("read");
        assert!(
            matches!(python.resolve(&module, "models.CharField"), Resolved::External(p) if p == "models.CharField")
        );
    }

    /// A migration's own summary is its imports and its classes beside `Migration`, whatever
    /// the rest of the file holds (here a helper only a whole-file parse could read).
    #[test]
    fn a_migration_is_summarised_by_its_imports_and_classes() {
        let dir = project(&[
            ("app/__init__.py", ""),
            ("app/fields.py", "from django.db import models\n\nclass Lower(models.CharField):\n    pass\n"),
            (
                "app/migrations/0001_initial.py",
                "from django.db import migrations\nfrom app.fields import Lower\n\n\
                 def helper(apps, schema_editor):\n    match apps:\n        case _:\n            print(f\"{apps!r:>{10}}\")\n\n\
                 class Local(Lower):\n    pass\n\n\
                 class Migration(migrations.Migration):\n    operations = [migrations.RunPython(helper)]\n",
            ),
        ]);
        let python = ProjectPython::default();
        let migration = dir.path().join("app/migrations/0001_initial.py");
        let summary = python.migration(&migration).expect("read");
        assert!(summary.classes.contains_key("Local") && !summary.classes.contains_key("Migration"));
        let Resolved::Class(local) = python.resolve(&summary, "Local") else { panic!("Local is the file's class") };
        let (line, external) = python.lineage(&local);
        assert_eq!(line.iter().map(|c| c.class.name.as_str()).collect::<Vec<_>>(), ["Local", "Lower"]);
        assert_eq!(external, vec!["django.db.models.CharField".to_string()]);
    }

    #[test]
    fn an_init_that_does_more_than_adjust_keywords_is_not_read() {
        let dir = project(&[(
            "types.py",
            "class A(Base):\n    def __init__(self, *args, **kwargs):\n        kwargs['max_length'] = compute()\n        super().__init__(*args, **kwargs)\n\nclass B(Base):\n    def __init__(self, target, *args, size=3, **kwargs):\n        if not isinstance(target, str):\n            raise TypeError('no')\n        self.target = target\n        kwargs['default'] = kwargs.get('default', 0)\n        kwargs.pop('sanitizer', None)\n        super().__init__(*args, editable=False, **kwargs)\n",
        )]);
        let python = ProjectPython::default();
        let file = dir.path().join("types.py");
        let a = class_of(&python, &file, "A");
        assert!(a.class.constructor.clone().expect("an __init__").is_err());
        let b = class_of(&python, &file, "B").class.constructor.clone().expect("an __init__").expect("readable");
        assert_eq!(b.positional, vec!["target"]);
        assert_eq!(b.keyword_only, vec!["size"]);
        assert_eq!(b.defaults[0].0, "default");
        assert_eq!(b.overrides[0].0, "editable");
        assert_eq!(b.removed, vec!["sanitizer"]);
    }
}
