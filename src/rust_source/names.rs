//! Rust paths to the scan's items: just enough of Rust's name resolution (`use`, globs, `self`,
//! `super`, `crate`, child modules) to tell which `CounterPy` a registration means, and how to
//! spell a path in a suggested fix so that it compiles where it is pasted.

use std::collections::{HashMap, HashSet};

/// The module tree and the `use` declarations of each module.
#[derive(Debug, Default)]
pub(super) struct NameResolver {
    /// Every Rust module path seen, from `crate`, inline modules included.
    modules: HashSet<Vec<String>>,
    uses: HashMap<Vec<String>, Vec<UseEntry>>,
}

#[derive(Debug, Clone)]
enum UseEntry {
    /// `use a::b::C;` or `use a::b::C as D;`: `name` is what the module sees.
    Name { name: String, path: Vec<String> },
    /// `use a::b::*;`
    Glob { prefix: Vec<String> },
}

/// One leaf of a `use` tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum UseLeaf {
    Name { path: Vec<String>, alias: String },
    Glob { prefix: Vec<String> },
}

/// Flattens `a::{b, c as d, e::*}` into its leaves.
pub(super) fn use_leaves(tree: &syn::UseTree) -> Vec<UseLeaf> {
    let mut leaves = Vec::new();
    flatten(tree, &mut Vec::new(), &mut leaves);
    leaves
}

fn flatten(tree: &syn::UseTree, prefix: &mut Vec<String>, leaves: &mut Vec<UseLeaf>) {
    match tree {
        syn::UseTree::Path(path) => {
            prefix.push(super::unraw(&path.ident));
            flatten(&path.tree, prefix, leaves);
            prefix.pop();
        }
        syn::UseTree::Name(name) => {
            let name = super::unraw(&name.ident);
            // `use a::{self}` names the module `a` itself.
            if name == "self" {
                if let Some(last) = prefix.last() {
                    leaves.push(UseLeaf::Name {
                        path: prefix.clone(),
                        alias: last.clone(),
                    });
                }
            } else {
                let mut path = prefix.clone();
                path.push(name.clone());
                leaves.push(UseLeaf::Name { path, alias: name });
            }
        }
        syn::UseTree::Rename(rename) => {
            let mut path = prefix.clone();
            path.push(super::unraw(&rename.ident));
            leaves.push(UseLeaf::Name {
                path,
                alias: super::unraw(&rename.rename),
            });
        }
        syn::UseTree::Glob(_) => leaves.push(UseLeaf::Glob {
            prefix: prefix.clone(),
        }),
        syn::UseTree::Group(group) => {
            for item in &group.items {
                flatten(item, prefix, leaves);
            }
        }
    }
}

impl NameResolver {
    pub(super) fn add_module(&mut self, path: Vec<String>) {
        self.modules.insert(path);
    }

    pub(super) fn add_use(&mut self, scope: &[String], tree: &syn::UseTree) {
        let entries = self.uses.entry(scope.to_vec()).or_default();
        for leaf in use_leaves(tree) {
            entries.push(match leaf {
                UseLeaf::Name { path, alias } => UseEntry::Name { name: alias, path },
                UseLeaf::Glob { prefix } => UseEntry::Glob { prefix },
            });
        }
    }

    /// `path` as written in `scope`, made absolute (from `crate`); `None` for other crates.
    pub(super) fn absolute(&self, scope: &[String], path: &[String]) -> Option<Vec<String>> {
        let first = path.first()?;
        match first.as_str() {
            "crate" => Some(path.to_vec()),
            "self" => Some(scope.iter().chain(&path[1..]).cloned().collect()),
            "super" => {
                let mut base = scope.to_vec();
                let mut rest = path;
                while rest.first().is_some_and(|segment| segment == "super") {
                    if base.len() > 1 {
                        base.pop();
                    }
                    rest = &rest[1..];
                }
                base.extend(rest.iter().cloned());
                Some(base)
            }
            _ => {
                let mut local = scope.to_vec();
                local.push(first.clone());
                if self.modules.contains(&local) {
                    return Some(scope.iter().chain(path).cloned().collect());
                }
                let top = vec!["crate".to_owned(), first.clone()];
                if self.modules.contains(&top) {
                    return Some(
                        std::iter::once("crate".to_owned())
                            .chain(path.iter().cloned())
                            .collect(),
                    );
                }
                None
            }
        }
    }

    /// The absolute paths `path` may mean in `scope`, most likely first.
    fn candidates(&self, scope: &[String], path: &[String]) -> Vec<Vec<String>> {
        let Some(first) = path.first() else {
            return Vec::new();
        };
        if matches!(first.as_str(), "crate" | "self" | "super") {
            return self.absolute(scope, path).into_iter().collect();
        }
        let mut candidates = Vec::new();
        let entries = self.uses.get(scope).map(Vec::as_slice).unwrap_or_default();
        for entry in entries {
            if let UseEntry::Name { name, path: target } = entry
                && name == first
                && let Some(mut absolute) = self.absolute(scope, target)
            {
                absolute.extend(path[1..].iter().cloned());
                candidates.push(absolute);
            }
        }
        candidates.push(scope.iter().chain(path).cloned().collect());
        for entry in entries {
            if let UseEntry::Glob { prefix } = entry
                && let Some(mut absolute) = self.absolute(scope, prefix)
            {
                absolute.extend(path.iter().cloned());
                candidates.push(absolute);
            }
        }
        candidates.push(
            std::iter::once("crate".to_owned())
                .chain(path.iter().cloned())
                .collect(),
        );
        candidates
    }

    /// The item `path` names in `scope`, among `items` keyed by (module path, name).
    ///
    /// When no candidate path matches exactly (a re-export, a macro-made module), an item with
    /// the same name is taken, the one nearest to `scope` first: a registration of `Counter`
    /// almost always means the crate's only `Counter`.
    pub(super) fn find<T>(
        &self,
        scope: &[String],
        path: &[String],
        items: &[T],
        key: impl Fn(&T) -> (&Vec<String>, &String),
    ) -> Option<usize> {
        self.find_exact(scope, path, items, &key)
            .or_else(|| self.find_by_name(scope, path, items, &key))
    }

    /// The item at one of the absolute paths `path` may mean in `scope`.
    pub(super) fn find_exact<T>(
        &self,
        scope: &[String],
        path: &[String],
        items: &[T],
        key: &impl Fn(&T) -> (&Vec<String>, &String),
    ) -> Option<usize> {
        for candidate in self.candidates(scope, path) {
            let Some((last, module)) = candidate.split_last() else {
                continue;
            };
            let found = items.iter().position(|item| {
                let (item_module, item_name) = key(item);
                item_name == last && item_module.as_slice() == module
            });
            if found.is_some() {
                return found;
            }
        }
        None
    }

    /// An item with the last name of `path`, nearest to `scope` first.
    pub(super) fn find_by_name<T>(
        &self,
        scope: &[String],
        path: &[String],
        items: &[T],
        key: &impl Fn(&T) -> (&Vec<String>, &String),
    ) -> Option<usize> {
        let name = path.last()?;
        items
            .iter()
            .enumerate()
            .filter(|(_, item)| key(item).1 == name)
            .max_by_key(|(index, item)| {
                let shared = key(item)
                    .0
                    .iter()
                    .zip(scope)
                    .take_while(|(left, right)| left == right)
                    .count();
                // Nearest first; on a tie, the first defined.
                (shared, std::cmp::Reverse(*index))
            })
            .map(|(index, _)| index)
    }

    /// Whether `name`, defined in `rust_module`, can be written bare in `scope`.
    pub(super) fn is_in_scope(&self, scope: &[String], rust_module: &[String], name: &str) -> bool {
        if scope == rust_module {
            return true;
        }
        let entries = self.uses.get(scope).map(Vec::as_slice).unwrap_or_default();
        entries.iter().any(|entry| match entry {
            UseEntry::Name { name: alias, path } => {
                alias == name
                    && self.absolute(scope, path).is_some_and(|absolute| {
                        absolute
                            .split_last()
                            .is_some_and(|(last, module)| last == name && module == rust_module)
                    })
            }
            UseEntry::Glob { prefix } => self
                .absolute(scope, prefix)
                .is_some_and(|absolute| absolute == rust_module),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> Vec<String> {
        text.split("::").map(str::to_owned).collect()
    }

    fn resolver() -> NameResolver {
        let mut resolver = NameResolver::default();
        resolver.add_module(path("crate"));
        resolver.add_module(path("crate::shapes"));
        resolver.add_module(path("crate::shapes::round"));
        let tree: syn::UseTree = syn::parse_str("shapes::{round::Circle as Disc, *}").unwrap();
        resolver.add_use(&path("crate"), &tree);
        resolver
    }

    #[test]
    fn use_tree_leaves() {
        let tree: syn::UseTree = syn::parse_str("a::{b, c as d, e::{self, *}}").unwrap();
        assert_eq!(
            use_leaves(&tree),
            vec![
                UseLeaf::Name {
                    path: path("a::b"),
                    alias: "b".into()
                },
                UseLeaf::Name {
                    path: path("a::c"),
                    alias: "d".into()
                },
                UseLeaf::Name {
                    path: path("a::e"),
                    alias: "e".into()
                },
                UseLeaf::Glob {
                    prefix: path("a::e")
                },
            ]
        );
    }

    #[test]
    fn absolute_paths() {
        let resolver = resolver();
        let scope = path("crate::shapes::round");
        assert_eq!(
            resolver.absolute(&scope, &path("super::Square")),
            Some(path("crate::shapes::Square"))
        );
        assert_eq!(
            resolver.absolute(&scope, &path("self::Circle")),
            Some(path("crate::shapes::round::Circle"))
        );
        assert_eq!(
            resolver.absolute(&path("crate"), &path("shapes::Square")),
            Some(path("crate::shapes::Square"))
        );
        assert_eq!(resolver.absolute(&scope, &path("pyo3::prelude")), None);
    }

    #[test]
    fn finds_through_alias_and_glob() {
        let resolver = resolver();
        let items = vec![
            (path("crate::shapes::round"), "Circle".to_owned()),
            (path("crate::shapes"), "Square".to_owned()),
        ];
        fn key(item: &(Vec<String>, String)) -> (&Vec<String>, &String) {
            (&item.0, &item.1)
        }
        assert_eq!(
            resolver.find(&path("crate"), &path("Disc"), &items, key),
            Some(0)
        );
        assert_eq!(
            resolver.find(&path("crate"), &path("Square"), &items, key),
            Some(1)
        );
        assert!(resolver.is_in_scope(&path("crate"), &path("crate::shapes"), "Square"));
        assert!(!resolver.is_in_scope(&path("crate"), &path("crate::shapes::round"), "Circle"));
    }
}
