//! The names the sources export from the extension module, as Python spells them (`Counter`,
//! `Counter.increment`, `sub.helper`), found by walking the registrations from the root
//! `#[pymodule]`; and the classes left out of that tree, told apart into "internal" (only
//! returned from methods, which is normal) and "never registered" (usually a mistake).

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::Serialize;

use super::{CrateScan, Location, Match, MemberKind, Registered, Registration, is_dunder};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum NameKind {
    Class,
    Function,
    Method,
    Attribute,
    Module,
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameKind::Class => "class",
            NameKind::Function => "function",
            NameKind::Method => "method",
            NameKind::Attribute => "attribute",
            NameKind::Module => "module",
        })
    }
}

/// What an exported name stands for in the scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Module(usize),
    Class(usize),
    Function(usize),
    Member { class: usize, member: usize },
    Attribute,
}

/// One name the extension module should have.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ExportedName {
    /// Dotted, relative to the extension module: `Counter.increment`.
    pub(crate) name: String,
    pub(crate) kind: NameKind,
    pub(crate) location: Location,
    /// What defines it in Rust: "struct `CounterPy`", "getter `CounterPy::get_value`".
    pub(crate) rust: String,
    /// Checked when `verify` is given no names. Dunders are not: whether `__iter__` shows up as an
    /// attribute depends on CPython's type slots, not on anything the user registers.
    pub(crate) checked_by_default: bool,
    #[serde(skip)]
    pub(crate) target: Target,
}

/// A class no module registers that Python code still meets, because a method or function
/// returns it (iterators, views). Normal; reported as information.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct InternalClass {
    #[serde(skip)]
    pub(crate) class: usize,
    pub(crate) python_name: String,
    pub(crate) rust_name: String,
    pub(crate) location: Location,
    /// The Python name of what returns it: `Counter.__iter__` or `make_iter()`.
    pub(crate) returned_from: String,
    pub(crate) returned_at: Location,
}

/// A `#[pyclass]` or `#[pyfunction]` that nothing exported reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unregistered {
    Class(usize),
    Function(usize),
}

/// The exported tree and what lies outside it.
#[derive(Debug, Default)]
pub(crate) struct Exports {
    /// The root `#[pymodule]`, when one has the extension's name.
    pub(crate) root: Option<usize>,
    pub(crate) extension_name: String,
    pub(crate) names: Vec<ExportedName>,
    pub(crate) internal: Vec<InternalClass>,
    pub(crate) unregistered: Vec<Unregistered>,
    /// Registrations the scan could not tie to an item (a type from another crate, a macro).
    pub(crate) unresolved: Vec<(String, Location)>,
    /// Modules in the tree and their dotted prefix (`""` for the root, `"sub."`).
    pub(crate) module_prefixes: HashMap<usize, String>,
}

/// A registration tied to what it registers.
enum Resolved {
    Class { class: usize, alias: Option<String> },
    Function(usize),
    Module(usize),
    Attribute(String),
}

impl CrateScan {
    /// What one registration registers, if the scan has it.
    fn resolve(&self, registration: &Registration) -> Option<Resolved> {
        let scope = &registration.scope;
        Some(match &registration.item {
            Registered::Class(path) => Resolved::Class {
                class: self.find_class(scope, path)?,
                alias: None,
            },
            Registered::ClassAs { name, path } => Resolved::Class {
                class: self.find_class(scope, path)?,
                alias: Some(name.clone()),
            },
            Registered::Function(path) => {
                Resolved::Function(self.find_function_in(scope, path, Match::ExactOrName)?)
            }
            Registered::Module(module) => Resolved::Module(*module),
            Registered::ModuleAt(path) => {
                Resolved::Module(self.find_module_in(scope, path, Match::ExactOrName)?)
            }
            Registered::Export(path) => {
                // Prefer an item at the exact path over a namesake of another kind.
                [Match::Exact, Match::ByName].into_iter().find_map(|how| {
                    if let Some(class) = self.find_class_in(scope, path, how) {
                        Some(Resolved::Class { class, alias: None })
                    } else if let Some(function) = self.find_function_in(scope, path, how) {
                        Some(Resolved::Function(function))
                    } else {
                        self.find_module_in(scope, path, how).map(Resolved::Module)
                    }
                })?
            }
            Registered::Attribute(name) => Resolved::Attribute(name.clone()),
        })
    }

    /// Which modules register a class, anywhere (also modules outside the exported tree).
    pub(crate) fn modules_registering_class(&self, class: usize) -> Vec<usize> {
        self.modules_registering(
            |resolved| matches!(resolved, Resolved::Class { class: found, .. } if *found == class),
        )
    }

    pub(crate) fn modules_registering_function(&self, function: usize) -> Vec<usize> {
        self.modules_registering(
            |resolved| matches!(resolved, Resolved::Function(found) if *found == function),
        )
    }

    pub(crate) fn modules_registering_module(&self, module: usize) -> Vec<usize> {
        self.modules_registering(
            |resolved| matches!(resolved, Resolved::Module(found) if *found == module),
        )
    }

    fn modules_registering(&self, wanted: impl Fn(&Resolved) -> bool) -> Vec<usize> {
        self.modules
            .iter()
            .enumerate()
            .filter(|(_, module)| {
                module.registrations.iter().any(|registration| {
                    self.resolve(registration)
                        .is_some_and(|resolved| wanted(&resolved))
                })
            })
            .map(|(index, _)| index)
            .collect()
    }

    /// The names the extension module `extension_name` should export, per the sources.
    pub(crate) fn exports(&self, extension_name: &str) -> Exports {
        let mut exports = Exports {
            root: self.root_module(extension_name),
            extension_name: extension_name.to_owned(),
            ..Exports::default()
        };
        if let Some(root) = exports.root {
            let mut visited = HashSet::new();
            self.walk(root, "", &mut exports, &mut visited);
        }
        self.find_internal(&mut exports);
        exports
    }

    fn walk(
        &self,
        module: usize,
        prefix: &str,
        exports: &mut Exports,
        visited: &mut HashSet<usize>,
    ) {
        if !visited.insert(module) {
            return;
        }
        exports.module_prefixes.insert(module, prefix.to_owned());
        for registration in &self.modules[module].registrations {
            let Some(resolved) = self.resolve(registration) else {
                exports.unresolved.push((
                    describe_unresolved(&registration.item),
                    registration.location.clone(),
                ));
                continue;
            };
            match resolved {
                Resolved::Class { class, alias } => self.add_class(class, alias, prefix, exports),
                Resolved::Function(function) => {
                    let definition = &self.functions[function];
                    exports.push(ExportedName {
                        name: format!("{prefix}{}", definition.python_name),
                        kind: NameKind::Function,
                        location: definition.location.clone(),
                        rust: format!("fn `{}`", definition.rust_name),
                        checked_by_default: true,
                        target: Target::Function(function),
                    });
                }
                Resolved::Module(child) => {
                    let definition = &self.modules[child];
                    let name = format!("{prefix}{}", definition.python_name);
                    exports.push(ExportedName {
                        name: name.clone(),
                        kind: NameKind::Module,
                        location: definition.location.clone(),
                        rust: describe_module(definition),
                        checked_by_default: true,
                        target: Target::Module(child),
                    });
                    self.walk(child, &format!("{name}."), exports, visited);
                }
                Resolved::Attribute(name) => exports.push(ExportedName {
                    name: format!("{prefix}{name}"),
                    kind: NameKind::Attribute,
                    location: registration.location.clone(),
                    rust: format!("module attribute `{name}`"),
                    checked_by_default: true,
                    target: Target::Attribute,
                }),
            }
        }
    }

    fn add_class(&self, class: usize, alias: Option<String>, prefix: &str, exports: &mut Exports) {
        let definition = &self.classes[class];
        let class_name = format!(
            "{prefix}{}",
            alias.as_deref().unwrap_or(&definition.python_name)
        );
        exports.push(ExportedName {
            name: class_name.clone(),
            kind: NameKind::Class,
            location: definition.location.clone(),
            rust: format!("{} `{}`", definition.shape.keyword(), definition.rust_name),
            checked_by_default: true,
            target: Target::Class(class),
        });
        for (index, member) in definition.members.iter().enumerate() {
            let kind = member.kind.name_kind();
            exports.push(ExportedName {
                name: format!("{class_name}.{}", member.python_name),
                kind,
                location: member.location.clone(),
                rust: format!(
                    "{} `{}::{}`",
                    member.kind.describe(),
                    definition.rust_name,
                    member.rust_name
                ),
                checked_by_default: member.kind != MemberKind::Constructor
                    && !is_dunder(&member.python_name),
                target: Target::Member {
                    class,
                    member: index,
                },
            });
        }
    }

    /// Classes outside the tree that registered code returns are internal; the others, and
    /// functions outside the tree, are unregistered.
    fn find_internal(&self, exports: &mut Exports) {
        let mut reached: HashSet<usize> = exports
            .names
            .iter()
            .filter_map(|name| match name.target {
                Target::Class(class) => Some(class),
                _ => None,
            })
            .collect();
        let exported_functions: HashSet<usize> = exports
            .names
            .iter()
            .filter_map(|name| match name.target {
                Target::Function(function) => Some(function),
                _ => None,
            })
            .collect();

        // What reached code returns: (type name, returned from, where).
        let returns_of_class = |class: usize| {
            let definition = &self.classes[class];
            definition
                .members
                .iter()
                .map(move |member| {
                    (
                        &member.returns,
                        format!("{}.{}", definition.python_name, member.python_name),
                        member.location.clone(),
                    )
                })
                .collect::<Vec<_>>()
        };
        let mut returned: Vec<(&Vec<String>, String, Location)> = reached
            .iter()
            .flat_map(|&class| returns_of_class(class))
            .collect();
        returned.extend(exported_functions.iter().map(|&function| {
            let definition = &self.functions[function];
            (
                &definition.returns,
                format!("{}()", definition.python_name),
                definition.location.clone(),
            )
        }));
        // Sorted so that "returned from" names the same method on every run.
        returned.sort_by(|left, right| left.1.cmp(&right.1));

        loop {
            let found = self
                .classes
                .iter()
                .enumerate()
                .find_map(|(class, definition)| {
                    if reached.contains(&class) {
                        return None;
                    }
                    let (_, from, at) = returned
                        .iter()
                        .find(|(names, _, _)| names.contains(&definition.rust_name))?;
                    Some((class, from.clone(), at.clone()))
                });
            let Some((class, returned_from, returned_at)) = found else {
                break;
            };
            let definition = &self.classes[class];
            exports.internal.push(InternalClass {
                class,
                python_name: definition.python_name.clone(),
                rust_name: definition.rust_name.clone(),
                location: definition.location.clone(),
                returned_from,
                returned_at,
            });
            reached.insert(class);
            // An iterator returned by an internal view is internal too.
            let mut more = returns_of_class(class);
            returned.append(&mut more);
        }

        exports.unregistered = (0..self.classes.len())
            .filter(|class| !reached.contains(class))
            .map(Unregistered::Class)
            .chain(
                (0..self.functions.len())
                    .filter(|function| !exported_functions.contains(function))
                    .map(Unregistered::Function),
            )
            .collect();
    }
}

impl Exports {
    fn push(&mut self, name: ExportedName) {
        // A getter and a setter share one Python name; a class registered twice is one name.
        if !self.names.iter().any(|existing| existing.name == name.name) {
            self.names.push(name);
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&ExportedName> {
        self.names.iter().find(|exported| exported.name == name)
    }

    /// The names checked when `verify` is given none.
    pub(crate) fn default_names(&self) -> impl Iterator<Item = &ExportedName> {
        self.names.iter().filter(|name| name.checked_by_default)
    }

    /// The dotted names directly under `prefix` (`""` or `"sub."`).
    pub(crate) fn children_of<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> {
        self.names.iter().filter_map(move |exported| {
            let rest = exported.name.strip_prefix(prefix)?;
            (!rest.contains('.')).then_some(rest)
        })
    }

    /// The dotted name a class is exported under, if it is.
    pub(crate) fn class_name(&self, class: usize) -> Option<&str> {
        self.names
            .iter()
            .find(|name| name.target == Target::Class(class))
            .map(|name| name.name.as_str())
    }

    pub(crate) fn function_name(&self, function: usize) -> Option<&str> {
        self.names
            .iter()
            .find(|name| name.target == Target::Function(function))
            .map(|name| name.name.as_str())
    }
}

pub(super) fn describe_module(module: &super::ModuleDef) -> String {
    match module.style {
        super::ModuleStyle::Function => format!("`#[pymodule] fn {}`", module.rust_name),
        super::ModuleStyle::Declarative => format!("`#[pymodule] mod {}`", module.rust_name),
        super::ModuleStyle::Dynamic => format!("`PyModule::new(…, \"{}\")`", module.python_name),
    }
}

fn describe_unresolved(item: &Registered) -> String {
    let path = |path: &Vec<String>| path.join("::");
    match item {
        Registered::Class(class) | Registered::ClassAs { path: class, .. } => {
            format!("class `{}`", path(class))
        }
        Registered::Function(function) => format!("function `{}`", path(function)),
        Registered::ModuleAt(module) => format!("module `{}`", path(module)),
        Registered::Export(item) => format!("`{}`", path(item)),
        Registered::Module(_) | Registered::Attribute(_) => "a module member".to_owned(),
    }
}
