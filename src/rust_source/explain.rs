//! Why a name is missing, said from the sources: defined but never registered (with the exact
//! line to add and where), renamed, registered elsewhere, only returned from methods, not in a
//! `#[pymethods]` block, or unknown (with the nearest real name).

use serde::Serialize;

use super::exports::{Target, describe_module};
use super::{
    ClassShape, CrateScan, Exports, Location, ModuleDef, ModuleStyle, NameKind, Unregistered,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum MissReason {
    /// The sources export it: the installed build is older, or was built with other features.
    InSource,
    /// Defined, but no exported module registers it.
    NotRegistered,
    /// Only returned from methods: Python gets instances, never the class from the module.
    Internal,
    /// Exported under another name or in another module.
    Elsewhere,
    /// In the sources but hidden from Python (a plain `impl`, a field without `get`).
    NotExposed,
    /// No Python item by that name.
    Unknown,
    /// No `#[pymodule]` with the extension's name to start from.
    NoModule,
}

/// One miss, explained.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Explanation {
    pub(crate) reason: MissReason,
    pub(crate) message: String,
    /// The code to add, when one line fixes it.
    pub(crate) fix: Option<String>,
    /// Where the sources define the name, when they do.
    pub(crate) location: Option<Location>,
    /// What the sources say it is, when they know.
    pub(crate) kind: Option<NameKind>,
}

impl Explanation {
    fn new(reason: MissReason, message: String) -> Self {
        Explanation {
            reason,
            message,
            fix: None,
            location: None,
            kind: None,
        }
    }

    fn kind(mut self, kind: NameKind) -> Self {
        self.kind = Some(kind);
        self
    }
}

/// What can be registered: the parts of a class or function a fix needs.
struct Item<'a> {
    keyword: &'static str,
    rust_name: &'a str,
    rust_module: &'a [String],
    visible: bool,
    attribute: &'a str,
    location: &'a Location,
}

/// Where a miss was looked for: a module of the tree or a class.
#[derive(Clone, Copy)]
enum Container {
    Module(usize),
    Class(usize),
}

impl Exports {
    /// Explains why `name` (dotted, relative to the extension module) is missing.
    pub(crate) fn explain(&self, scan: &CrateScan, name: &str) -> Explanation {
        if let Some(exported) = self.get(name) {
            return Explanation {
                location: Some(exported.location.clone()),
                kind: Some(exported.kind),
                ..Explanation::new(
                    MissReason::InSource,
                    format!(
                        "the sources export it: {} at {}",
                        exported.rust, exported.location
                    ),
                )
            };
        }
        let Some(root) = self.root else {
            return self.no_root(scan);
        };
        let parts: Vec<&str> = name.split('.').collect();
        let mut container = Container::Module(root);
        let mut prefix = String::new();
        for (index, part) in parts.iter().enumerate() {
            let dotted = format!("{prefix}{part}");
            let exported = self.get(&dotted);
            match (
                index + 1 == parts.len(),
                exported.map(|exported| exported.target),
            ) {
                (false, Some(Target::Module(module))) => container = Container::Module(module),
                (false, Some(Target::Class(class))) => container = Container::Class(class),
                (false, Some(_)) => {
                    let kind = exported
                        .map(|exported| exported.kind.to_string())
                        .unwrap_or_default();
                    return Explanation::new(
                        MissReason::Unknown,
                        format!(
                            "`{dotted}` is a {kind}, so it has no attribute `{}`",
                            parts[index + 1]
                        ),
                    );
                }
                _ => return self.explain_part(scan, container, &prefix, part),
            }
            prefix = format!("{dotted}.");
        }
        Explanation::new(MissReason::Unknown, format!("`{name}` is not a valid name"))
    }

    /// Why the sources export nothing: no `#[pymodule]` has the extension's name.
    pub(crate) fn no_root(&self, scan: &CrateScan) -> Explanation {
        let found = scan.top_level_module_names();
        let found = if found.is_empty() {
            "there is none".to_owned()
        } else {
            format!("found: {}", quoted_list(&found))
        };
        Explanation::new(
            MissReason::NoModule,
            format!(
                "no `#[pymodule]` named `{}` in the sources ({found})",
                self.extension_name
            ),
        )
    }

    fn explain_part(
        &self,
        scan: &CrateScan,
        container: Container,
        prefix: &str,
        part: &str,
    ) -> Explanation {
        match container {
            Container::Module(module) => self.explain_in_module(scan, module, prefix, part),
            Container::Class(class) => self.explain_in_class(scan, class, prefix, part),
        }
    }

    fn explain_in_module(
        &self,
        scan: &CrateScan,
        module: usize,
        prefix: &str,
        part: &str,
    ) -> Explanation {
        let here = format!("{prefix}{part}");
        for (index, class) in scan.classes.iter().enumerate() {
            if class.python_name != part {
                continue;
            }
            let register_as = match class.shape {
                ClassShape::Exception => RegisterAs::Exception,
                ClassShape::Struct | ClassShape::Enum => RegisterAs::Class,
            };
            let item = Item {
                keyword: class.shape.keyword(),
                rust_name: &class.rust_name,
                rust_module: &class.rust_module,
                visible: class.visible,
                attribute: &class.attribute,
                location: &class.location,
            };
            if let Some(elsewhere) = self.class_name(index) {
                return self
                    .elsewhere(&here, elsewhere, &class.location)
                    .kind(NameKind::Class);
            }
            if let Some(internal) = self
                .internal
                .iter()
                .find(|internal| internal.class == index)
            {
                let (fix, place) = registration_fix(scan, module, &item, register_as);
                return Explanation {
                    fix: Some(fix.clone()),
                    location: Some(class.location.clone()),
                    kind: Some(NameKind::Class),
                    ..Explanation::new(
                        MissReason::Internal,
                        format!(
                            "`{here}` is internal: {} `{}` ({}) is never registered, only returned from `{}` ({}), \
                             so Python code gets its instances but not the class; to import it, add `{fix}` to {place}",
                            item.keyword,
                            item.rust_name,
                            class.location,
                            internal.returned_from,
                            internal.returned_at
                        ),
                    )
                };
            }
            let mut explanation = self.not_registered(
                scan,
                module,
                &here,
                &item,
                register_as,
                scan.modules_registering_class(index),
            );
            // A common misreading of the PyO3 option: it names `__module__`, nothing more.
            if let Some(python_module) = &class.python_module {
                explanation.message.push_str(&format!(
                    " (`module = \"{python_module}\"` only sets `__module__`; it registers nothing)"
                ));
            }
            return explanation;
        }
        for (index, function) in scan.functions.iter().enumerate() {
            if function.python_name != part {
                continue;
            }
            if let Some(elsewhere) = self.function_name(index) {
                return self
                    .elsewhere(&here, elsewhere, &function.location)
                    .kind(NameKind::Function);
            }
            let item = Item {
                keyword: "fn",
                rust_name: &function.rust_name,
                rust_module: &function.rust_module,
                visible: function.visible,
                attribute: &function.attribute,
                location: &function.location,
            };
            return self.not_registered(
                scan,
                module,
                &here,
                &item,
                RegisterAs::Function,
                scan.modules_registering_function(index),
            );
        }
        // The Rust name of something Python knows by another name.
        let renamed = scan
            .classes
            .iter()
            .map(|class| {
                (
                    &class.rust_name,
                    &class.python_name,
                    &class.attribute,
                    &class.location,
                    NameKind::Class,
                )
            })
            .chain(scan.functions.iter().map(|function| {
                (
                    &function.rust_name,
                    &function.python_name,
                    &function.attribute,
                    &function.location,
                    NameKind::Function,
                )
            }))
            .find(|(rust_name, python_name, _, _, _)| {
                rust_name.as_str() == part && python_name.as_str() != part
            });
        if let Some((_, python_name, attribute, location, kind)) = renamed {
            return Explanation {
                location: Some(location.clone()),
                kind: Some(kind),
                ..Explanation::new(
                    MissReason::Elsewhere,
                    format!(
                        "`{part}` is the Rust name; Python sees it as `{python_name}` (`{attribute}` at {location}): \
                         verify `{prefix}{python_name}`"
                    ),
                )
            };
        }
        if let Some(explanation) = self.explain_unattached_module(scan, module, &here, part) {
            return explanation;
        }
        let mut candidates: Vec<(&str, &str)> =
            self.children_of(prefix).map(|name| (name, name)).collect();
        for class in &scan.classes {
            candidates.push((&class.python_name, &class.python_name));
            candidates.push((&class.rust_name, &class.python_name));
        }
        for function in &scan.functions {
            candidates.push((&function.python_name, &function.python_name));
            candidates.push((&function.rust_name, &function.python_name));
        }
        let inside = if prefix.is_empty() {
            String::new()
        } else {
            format!(" in `{}`", prefix.trim_end_matches('.'))
        };
        let message = format!("no `#[pyclass]`/`#[pyfunction]` named `{part}`{inside}");
        Explanation::new(
            MissReason::Unknown,
            with_suggestion(message, part, candidates),
        )
    }

    /// A `#[pymodule]` or `PyModule::new` module with this name that nothing adds.
    fn explain_unattached_module(
        &self,
        scan: &CrateScan,
        parent: usize,
        here: &str,
        part: &str,
    ) -> Option<Explanation> {
        let (index, child) = scan.modules.iter().enumerate().find(|(index, module)| {
            module.python_name == part
                && Some(*index) != self.root
                && !self.module_prefixes.contains_key(index)
        })?;
        let parent_module = &scan.modules[parent];
        let (fix, place) = match child.style {
            ModuleStyle::Dynamic => {
                let fix = format!(
                    "{}.add_submodule(&{})?;",
                    parent_module.fix_site.variable, child.rust_name
                );
                (
                    fix,
                    format!(
                        "`{}` after the module is made at {}",
                        child.fix_site.item, child.location
                    ),
                )
            }
            _ => {
                let item = Item {
                    keyword: "module",
                    rust_name: &child.rust_name,
                    rust_module: &child.rust_module,
                    visible: true,
                    attribute: "",
                    location: &child.location,
                };
                registration_fix(scan, parent, &item, RegisterAs::Module)
            }
        };
        let also = match scan.modules_registering_module(index).first() {
            Some(&other) => format!(
                " (it is added to {} at {}, which is not exported itself)",
                describe_module(&scan.modules[other]),
                scan.modules[other].location
            ),
            None => String::new(),
        };
        Some(Explanation {
            fix: Some(fix.clone()),
            location: Some(child.location.clone()),
            kind: Some(NameKind::Module),
            ..Explanation::new(
                MissReason::NotRegistered,
                format!(
                    "`{here}` is the module {} ({}) but it is never added{also}: add `{fix}` to {place}",
                    describe_module(child),
                    child.location
                ),
            )
        })
    }

    fn explain_in_class(
        &self,
        scan: &CrateScan,
        class: usize,
        prefix: &str,
        part: &str,
    ) -> Explanation {
        let definition = &scan.classes[class];
        let class_name = prefix.trim_end_matches('.');
        if let Some(member) = definition
            .members
            .iter()
            .find(|member| member.rust_name == part && member.python_name != part)
        {
            let why = member.renamed_by.as_deref().unwrap_or("its attribute");
            // `why` is already quoted: "`#[pyo3(name = \"incr\")]`".
            return Explanation {
                location: Some(member.location.clone()),
                kind: Some(member.kind.name_kind()),
                ..Explanation::new(
                    MissReason::Elsewhere,
                    format!(
                        "`{class_name}.{part}` is exposed as `{class_name}.{}` ({why} at {})",
                        member.python_name, member.location
                    ),
                )
            };
        }
        if let Some((_, location)) = definition
            .plain_methods
            .iter()
            .find(|(name, _)| name == part)
        {
            return Explanation {
                fix: Some("move it into the `#[pymethods]` impl block".to_owned()),
                location: Some(location.clone()),
                kind: Some(NameKind::Method),
                ..Explanation::new(
                    MissReason::NotExposed,
                    format!(
                        "`{part}` is defined at {location} in a plain `impl {}` block, which Python never sees: \
                         move it into the `#[pymethods]` impl block",
                        definition.rust_name
                    ),
                )
            };
        }
        if let Some((_, location)) = definition
            .hidden_fields
            .iter()
            .find(|(name, _)| name == part)
        {
            return Explanation {
                fix: Some("#[pyo3(get)]".to_owned()),
                location: Some(location.clone()),
                kind: Some(NameKind::Attribute),
                ..Explanation::new(
                    MissReason::NotExposed,
                    format!(
                        "`{part}` is a field of `{}` at {location} without `#[pyo3(get)]`: add `#[pyo3(get)]` to the \
                         field, or `get_all` to `#[pyclass]`",
                        definition.rust_name
                    ),
                )
            };
        }
        // A typo of the Rust name of a renamed method suggests the name Python knows.
        let candidates = definition
            .members
            .iter()
            .flat_map(|member| {
                [
                    (member.python_name.as_str(), member.python_name.as_str()),
                    (member.rust_name.as_str(), member.python_name.as_str()),
                ]
            })
            .collect();
        let message = format!(
            "`{class_name}` ({} `{}` at {}) has no method or attribute named `{part}` in its `#[pymethods]`",
            definition.shape.keyword(),
            definition.rust_name,
            definition.location
        );
        Explanation::new(
            MissReason::Unknown,
            with_suggestion(message, part, candidates),
        )
    }

    fn elsewhere(&self, here: &str, elsewhere: &str, location: &Location) -> Explanation {
        Explanation {
            location: Some(location.clone()),
            ..Explanation::new(
                MissReason::Elsewhere,
                format!("`{here}` is exported as `{elsewhere}` ({location}): verify `{elsewhere}`"),
            )
        }
    }

    fn not_registered(
        &self,
        scan: &CrateScan,
        module: usize,
        here: &str,
        item: &Item<'_>,
        register_as: RegisterAs,
        registered_in: Vec<usize>,
    ) -> Explanation {
        let (fix, place) = registration_fix(scan, module, item, register_as);
        let defined = format!(
            "`{here}` is defined in {} as {} `{}` (`{}`)",
            item.location, item.keyword, item.rust_name, item.attribute
        );
        let message = match registered_in.first() {
            Some(&other) => format!(
                "{defined} and registered in {} ({}), but that module is not exported: add `{fix}` to {place}",
                describe_module(&scan.modules[other]),
                scan.modules[other].location
            ),
            None => format!("{defined} but never registered: add `{fix}` to {place}"),
        };
        let kind = match register_as {
            RegisterAs::Class | RegisterAs::Exception => NameKind::Class,
            RegisterAs::Function => NameKind::Function,
            RegisterAs::Module => NameKind::Module,
        };
        Explanation {
            fix: Some(fix),
            location: Some(item.location.clone()),
            kind: Some(kind),
            ..Explanation::new(MissReason::NotRegistered, message)
        }
    }

    /// Explains an item outside the tree, for the report of a run without names.
    pub(crate) fn explain_unregistered(
        &self,
        scan: &CrateScan,
        unregistered: Unregistered,
    ) -> Explanation {
        let name = match unregistered {
            Unregistered::Class(class) => &scan.classes[class].python_name,
            Unregistered::Function(function) => &scan.functions[function].python_name,
        };
        self.explain(scan, name)
    }
}

#[derive(Clone, Copy)]
enum RegisterAs {
    Class,
    /// Made by `create_exception!`: not a `#[pyclass]`, so added as its type object.
    Exception,
    Function,
    Module,
}

/// The line that registers `item` in `module`, and where it goes: "`fn mymod` in src/lib.rs:40".
fn registration_fix(
    scan: &CrateScan,
    module: usize,
    item: &Item<'_>,
    register_as: RegisterAs,
) -> (String, String) {
    let target: &ModuleDef = &scan.modules[module];
    let site = &target.fix_site;
    let scope = match target.style {
        ModuleStyle::Declarative => {
            let mut scope = target.rust_module.clone();
            scope.push(target.rust_name.clone());
            scope
        }
        ModuleStyle::Function | ModuleStyle::Dynamic => target.rust_module.clone(),
    };
    let visibility = if !item.visible && !scope.starts_with(item.rust_module) {
        format!(
            " (and make `{}` `pub(crate)` so that it is visible there)",
            item.rust_name
        )
    } else {
        String::new()
    };
    let place = match target.style {
        ModuleStyle::Declarative => format!("`{}` at {}{visibility}", site.item, site.location),
        ModuleStyle::Function => format!("`{}` in {}{visibility}", site.item, site.location),
        ModuleStyle::Dynamic => format!(
            "`{}` after `{}` is made at {}{visibility}",
            site.item, site.variable, site.location
        ),
    };
    let fix = match target.style {
        ModuleStyle::Declarative => {
            let path = item
                .rust_module
                .iter()
                .map(String::as_str)
                .chain(std::iter::once(item.rust_name))
                .collect::<Vec<_>>()
                .join("::");
            format!("#[pymodule_export] use {path};")
        }
        ModuleStyle::Function | ModuleStyle::Dynamic => {
            let path = scan.path_in_scope(&scope, item.rust_module, item.rust_name);
            let variable = &site.variable;
            match register_as {
                RegisterAs::Class => format!("{variable}.add_class::<{path}>()?;"),
                RegisterAs::Exception => format!(
                    "{variable}.add(\"{}\", {variable}.py().get_type::<{path}>())?;",
                    item.rust_name
                ),
                RegisterAs::Function => {
                    format!("{variable}.add_function(wrap_pyfunction!({path}, {variable})?)?;")
                }
                RegisterAs::Module => format!("{variable}.add_wrapped(wrap_pymodule!({path}))?;"),
            }
        }
    };
    (fix, place)
}

fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Appends "— did you mean `X`?" when a candidate is close enough to be a typo.
fn with_suggestion(message: String, wanted: &str, candidates: Vec<(&str, &str)>) -> String {
    match suggest(wanted, candidates) {
        Some(suggestion) => format!("{message} — did you mean `{suggestion}`?"),
        None => message,
    }
}

/// The suggestion whose key is nearest to `wanted` by edit distance (ignoring case), if it is
/// near enough: at most a third of the name's length, and at least one edit. Candidates are
/// (key, suggestion) pairs, so that a typo of a Rust name suggests the Python name.
pub(super) fn suggest<'a>(wanted: &str, candidates: Vec<(&str, &'a str)>) -> Option<&'a str> {
    let wanted_lower = wanted.to_lowercase();
    let limit = (wanted.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|(key, suggestion)| *key != wanted && *suggestion != wanted)
        .map(|(key, suggestion)| {
            (
                edit_distance(&wanted_lower, &key.to_lowercase()),
                suggestion,
            )
        })
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, suggestion)| (*distance, *suggestion))
        .map(|(_, suggestion)| suggestion)
}

/// Edit distance over characters where swapping two neighbours is one edit (optimal string
/// alignment): `raed` is one typo away from `read`, not two.
fn edit_distance(left: &str, right: &str) -> usize {
    let left: Vec<char> = left.chars().collect();
    let right: Vec<char> = right.chars().collect();
    let columns = right.len() + 1;
    let mut table = vec![0usize; (left.len() + 1) * columns];
    let at = |row: usize, column: usize| row * columns + column;
    for row in 0..=left.len() {
        table[at(row, 0)] = row;
    }
    for column in 0..=right.len() {
        table[at(0, column)] = column;
    }
    for row in 1..=left.len() {
        for column in 1..=right.len() {
            let cost = usize::from(left[row - 1] != right[column - 1]);
            let mut best = (table[at(row - 1, column)] + 1)
                .min(table[at(row, column - 1)] + 1)
                .min(table[at(row - 1, column - 1)] + cost);
            if row > 1
                && column > 1
                && left[row - 1] == right[column - 2]
                && left[row - 2] == right[column - 1]
            {
                best = best.min(table[at(row - 2, column - 2)] + 1);
            }
            table[at(row, column)] = best;
        }
    }
    table[at(left.len(), right.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("countr", "counter"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("raed", "read"), 1);
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("Countr", vec![("Counter", "Counter"), ("greet", "greet")]),
            Some("Counter")
        );
        assert_eq!(
            suggest("counter", vec![("Counter", "Counter")]),
            Some("Counter")
        );
        assert_eq!(
            suggest("incremnt", vec![("increment", "incr")]),
            Some("incr")
        );
        assert_eq!(suggest("xyz", vec![("Counter", "Counter")]), None);
    }
}
