//! The syn scan of a PyO3 crate's Rust sources: which `#[pyclass]`es, `#[pymethods]`,
//! `#[pyfunction]`s and `#[pymodule]`s it defines, what each module registers, and from that the
//! names the extension module should export.
//!
//! `verify` compares that tree of names with what Python really finds, and explains each miss
//! from the source ("defined here, never registered: add this line there"). The scan is static
//! and best-effort: it never runs macros or resolves types, so everything it reports is phrased as
//! what the sources say, and a file that does not parse is a problem to report, not an error.

mod attributes;
mod collect;
mod explain;
mod exports;
mod names;
mod registrations;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

pub(crate) use explain::MissReason;
use exports::NameKind;
pub(crate) use exports::{Exports, Unregistered};
use names::NameResolver;

/// A place in the sources: a file (relative to the project directory when it is inside it) and a
/// 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Location {
    pub(crate) file: PathBuf,
    pub(crate) line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// Everything the scan found in one crate.
#[derive(Debug, Default)]
pub(crate) struct CrateScan {
    /// Every module file read, as absolute paths: the sources whose age decides freshness.
    pub(crate) files: Vec<PathBuf>,
    pub(crate) classes: Vec<ClassDef>,
    pub(crate) functions: Vec<FunctionDef>,
    pub(crate) modules: Vec<ModuleDef>,
    /// Files that did not parse or could not be found; the scan went on without them.
    pub(crate) problems: Vec<ScanProblem>,
    resolver: NameResolver,
}

/// A source file the scan had to skip.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ScanProblem {
    pub(crate) location: Location,
    pub(crate) message: String,
}

impl fmt::Display for ScanProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ClassShape {
    Struct,
    Enum,
    /// Made by `create_exception!`.
    Exception,
}

impl ClassShape {
    fn keyword(self) -> &'static str {
        match self {
            ClassShape::Struct => "struct",
            ClassShape::Enum => "enum",
            ClassShape::Exception => "exception",
        }
    }
}

/// A `#[pyclass]` struct or enum, or an exception made with `create_exception!`.
#[derive(Debug, Clone)]
pub(crate) struct ClassDef {
    pub(crate) rust_name: String,
    pub(crate) python_name: String,
    /// The Rust module it is defined in, as a path from `crate`.
    pub(crate) rust_module: Vec<String>,
    pub(crate) shape: ClassShape,
    /// `module = "…"`: the `__module__` Python shows, not where it is registered.
    pub(crate) python_module: Option<String>,
    /// The attribute as a reader would recognise it: `#[pyclass(name = "Counter")]`.
    pub(crate) attribute: String,
    pub(crate) location: Location,
    /// Visible outside its own module (`pub`, `pub(crate)`, …).
    pub(crate) visible: bool,
    /// What Python sees on the class: methods, properties, class attributes, variants.
    pub(crate) members: Vec<Member>,
    /// Named fields that are not exposed (no `get`/`set`), for explaining a missing attribute.
    pub(crate) hidden_fields: Vec<(String, Location)>,
    /// Methods in plain `impl` blocks, which Python never sees.
    pub(crate) plain_methods: Vec<(String, Location)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum MemberKind {
    Method,
    StaticMethod,
    ClassMethod,
    /// `#[new]`, which Python sees as `__new__`.
    Constructor,
    Getter,
    Setter,
    /// A field with `#[pyo3(get)]`/`#[pyo3(set)]` or under `get_all`/`set_all`.
    Field,
    ClassAttribute,
    /// A variant of a `#[pyclass]` enum: a class attribute.
    Variant,
}

impl MemberKind {
    /// What Python sees: methods are methods, everything else is an attribute of the class.
    pub(crate) fn name_kind(self) -> NameKind {
        match self {
            MemberKind::Method
            | MemberKind::StaticMethod
            | MemberKind::ClassMethod
            | MemberKind::Constructor => NameKind::Method,
            MemberKind::Getter
            | MemberKind::Setter
            | MemberKind::Field
            | MemberKind::ClassAttribute
            | MemberKind::Variant => NameKind::Attribute,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            MemberKind::Method => "method",
            MemberKind::StaticMethod => "static method",
            MemberKind::ClassMethod => "class method",
            MemberKind::Constructor => "constructor",
            MemberKind::Getter => "getter",
            MemberKind::Setter => "setter",
            MemberKind::Field => "field",
            MemberKind::ClassAttribute => "class attribute",
            MemberKind::Variant => "variant",
        }
    }
}

/// One name on a class.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) rust_name: String,
    pub(crate) python_name: String,
    pub(crate) kind: MemberKind,
    pub(crate) location: Location,
    /// Why its Python name differs from the Rust one, quoted for messages: "`#[getter]` drops
    /// the `get_` prefix", "`#[pyo3(name = "incr")]`".
    pub(crate) renamed_by: Option<String>,
    /// Every type name mentioned in the return type (`Self` already replaced by the class):
    /// how classes that are only handed out by methods are recognised.
    pub(crate) returns: Vec<String>,
}

/// A `#[pyfunction]`.
#[derive(Debug, Clone)]
pub(crate) struct FunctionDef {
    pub(crate) rust_name: String,
    pub(crate) python_name: String,
    pub(crate) rust_module: Vec<String>,
    pub(crate) attribute: String,
    pub(crate) location: Location,
    pub(crate) visible: bool,
    pub(crate) returns: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ModuleStyle {
    /// `#[pymodule] fn name(m: &Bound<'_, PyModule>)`.
    Function,
    /// `#[pymodule] mod name { … }`.
    Declarative,
    /// `PyModule::new(py, "name")` inside a function.
    Dynamic,
}

/// A Python module the sources make, and what they put in it.
#[derive(Debug, Clone)]
pub(crate) struct ModuleDef {
    /// The `fn` or `mod` name; for a dynamic module, the variable holding it.
    pub(crate) rust_name: String,
    pub(crate) python_name: String,
    pub(crate) style: ModuleStyle,
    /// The Rust module that contains the `fn`/`mod`.
    pub(crate) rust_module: Vec<String>,
    pub(crate) location: Location,
    /// `#[pymodule(submodule)]`: never the extension's root.
    pub(crate) submodule_only: bool,
    /// Where a missing registration would be written.
    pub(crate) fix_site: FixSite,
    pub(crate) registrations: Vec<Registration>,
}

/// The place to add a registration to a module.
#[derive(Debug, Clone)]
pub(crate) struct FixSite {
    /// The function (or, for a declarative module, the `mod`) to add it to.
    pub(crate) item: String,
    /// The variable that holds the module there (`m`); empty for a declarative module.
    pub(crate) variable: String,
    pub(crate) location: Location,
}

/// One thing a module registers, where.
#[derive(Debug, Clone)]
pub(crate) struct Registration {
    pub(crate) item: Registered,
    /// The Rust module the registration is written in: paths resolve from there.
    pub(crate) scope: Vec<String>,
    pub(crate) location: Location,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Registered {
    /// `m.add_class::<T>()` or a `#[pyclass]` inside a declarative module.
    Class(Vec<String>),
    /// `m.add("Name", py.get_type::<T>())`: a class under a name of the caller's choosing.
    ClassAs { name: String, path: Vec<String> },
    /// `wrap_pyfunction!(f, m)` or a `#[pyfunction]` inside a declarative module.
    Function(Vec<String>),
    /// `add_submodule` of a module the scan knows by index.
    Module(usize),
    /// `wrap_pymodule!(path)` or a nested `#[pymodule]`: a module named by its Rust path.
    ModuleAt(Vec<String>),
    /// `#[pymodule_export] use path;`: a class, function or module, whichever `path` names.
    Export(Vec<String>),
    /// `m.add("name", …)` or `#[pymodule_export] const NAME`.
    Attribute(String),
}

/// Scans the crate whose root is `crate_root`; locations are shown relative to `project_dir`.
///
/// Only an unreadable crate root is an error: everything else the scan cannot read is recorded
/// in [`CrateScan::problems`].
pub(crate) fn scan_crate(crate_root: &Path, project_dir: &Path) -> Result<CrateScan> {
    collect::scan(crate_root, project_dir)
}

impl CrateScan {
    /// The `#[pymodule]` whose Python name is `extension_name`: the root of the exported tree.
    pub(crate) fn root_module(&self, extension_name: &str) -> Option<usize> {
        let candidates = || {
            self.modules.iter().enumerate().filter(|(_, module)| {
                module.style != ModuleStyle::Dynamic && module.python_name == extension_name
            })
        };
        candidates()
            .find(|(_, module)| !module.submodule_only)
            .or_else(|| candidates().next())
            .map(|(index, _)| index)
    }

    /// The modules that could be an extension's root, for saying which names exist.
    pub(crate) fn top_level_module_names(&self) -> Vec<&str> {
        self.modules
            .iter()
            .filter(|module| module.style != ModuleStyle::Dynamic && !module.submodule_only)
            .map(|module| module.python_name.as_str())
            .collect()
    }

    fn find_class(&self, scope: &[String], path: &[String]) -> Option<usize> {
        self.find_class_in(scope, path, Match::ExactOrName)
    }

    fn find_class_in(&self, scope: &[String], path: &[String], how: Match) -> Option<usize> {
        how.find(&self.resolver, scope, path, &self.classes, |class| {
            (&class.rust_module, &class.rust_name)
        })
    }

    fn find_function_in(&self, scope: &[String], path: &[String], how: Match) -> Option<usize> {
        how.find(&self.resolver, scope, path, &self.functions, |function| {
            (&function.rust_module, &function.rust_name)
        })
    }

    /// A `#[pymodule]` `fn` or `mod` named by a Rust path (dynamic modules have no path).
    fn find_module_in(&self, scope: &[String], path: &[String], how: Match) -> Option<usize> {
        let named: Vec<(usize, &ModuleDef)> = self
            .modules
            .iter()
            .enumerate()
            .filter(|(_, module)| module.style != ModuleStyle::Dynamic)
            .collect();
        let found = how.find(&self.resolver, scope, path, &named, |(_, module)| {
            (&module.rust_module, &module.rust_name)
        })?;
        Some(named[found].0)
    }

    /// How to write `name` from `rust_module` so that it compiles in `scope`: the bare name when
    /// it is in scope there, a relative path into a child module, else a `crate::` path.
    fn path_in_scope(&self, scope: &[String], rust_module: &[String], name: &str) -> String {
        if self.resolver.is_in_scope(scope, rust_module, name) {
            return name.to_owned();
        }
        // A child module's item reads best relative to the scope: `geometry::Square`.
        let relative = match rust_module.strip_prefix(scope) {
            Some(below) => below,
            None => rust_module,
        };
        relative
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(name))
            .collect::<Vec<_>>()
            .join("::")
    }
}

/// How strictly a Rust path must match an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    /// Only at a path the written one can mean.
    Exact,
    /// Also any item with the same last name (re-exports, macro-made modules).
    ByName,
    ExactOrName,
}

impl Match {
    fn find<T>(
        self,
        resolver: &NameResolver,
        scope: &[String],
        path: &[String],
        items: &[T],
        key: impl Fn(&T) -> (&Vec<String>, &String),
    ) -> Option<usize> {
        match self {
            Match::Exact => resolver.find_exact(scope, path, items, &key),
            Match::ByName => resolver.find_by_name(scope, path, items, &key),
            Match::ExactOrName => resolver.find(scope, path, items, key),
        }
    }
}

/// `r#type` is `type` to Python.
fn unraw(ident: &syn::Ident) -> String {
    let text = ident.to_string();
    text.strip_prefix("r#").map(str::to_owned).unwrap_or(text)
}

/// Whether a Python name is a dunder (`__iter__`): implemented through type slots, so not always
/// an attribute worth checking by default.
pub(crate) fn is_dunder(name: &str) -> bool {
    name.len() > 4 && name.starts_with("__") && name.ends_with("__")
}

/// A class or function defined with a PyO3 attribute but never registered in a module.
#[derive(Debug, Serialize)]
pub(crate) struct UnregisteredReport {
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) location: String,
    pub(crate) message: String,
    pub(crate) fix: Option<String>,
}

impl CrateScan {
    /// Every class or function defined but never registered, each with the line that would register it.
    pub(crate) fn unregistered_reports(&self, exports: &Exports) -> Vec<UnregisteredReport> {
        exports
            .unregistered
            .iter()
            .map(|&item| {
                let (name, kind, location) = match item {
                    Unregistered::Class(class) => {
                        let class = &self.classes[class];
                        (&class.python_name, "class", &class.location)
                    }
                    Unregistered::Function(function) => {
                        let function = &self.functions[function];
                        (&function.python_name, "function", &function.location)
                    }
                };
                let explanation = exports.explain_unregistered(self, item);
                UnregisteredReport {
                    name: name.clone(),
                    kind: kind.to_owned(),
                    location: location.to_string(),
                    message: explanation.message,
                    fix: explanation.fix,
                }
            })
            .collect()
    }
}
