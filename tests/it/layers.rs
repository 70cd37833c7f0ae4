//! Issue 22: the import graph of `src/` runs one way. A room is a top-level module (`src/x.rs`
//! with `src/x/`), or one command (`src/commands/x.rs` with `src/commands/x/`). Drawn from every
//! `crate::…` and `super::…` path in the code (not in `#[cfg(test)]` items, which may reach
//! anywhere), the rooms form no circle, nothing below `commands/` imports from `commands/`, and
//! `cli.rs` imports nothing of the crate while only the commands and `settings.rs` (which maps
//! the flags to the domain) read `cli.rs`. A breach is reported as `file:line`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use syn::spanned::Spanned;
use syn::visit::Visit;

/// One arrow of the graph: `from` names `to` at `file:line`.
#[derive(Debug, Clone)]
struct Arrow {
    from: String,
    to: String,
    at: String,
}

/// The module path of a file under `src/`: `src/commands/test/verdict.rs` → `commands::test::verdict`,
/// `src/commands/mod.rs` → `commands`, `src/main.rs` → the crate root (empty).
fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .skip(1)
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts
        .last()
        .is_some_and(|last| last == "mod" || last == "main")
    {
        parts.pop();
    }
    parts
}

/// The room a module lives in.
fn room_of(module: &[String]) -> String {
    match module {
        [] => "main".to_owned(),
        [commands, command, ..] if commands == "commands" => format!("commands::{command}"),
        [top, ..] => top.clone(),
    }
}

fn has_cfg_test(attributes: &[syn::Attribute]) -> bool {
    attributes.iter().any(|attribute| {
        attribute.path().is_ident("cfg")
            && attribute
                .parse_args::<syn::Meta>()
                .is_ok_and(|meta| meta.path().is_ident("test"))
    })
}

/// Collects the module each `crate::`/`super::` path leads to, with its line.
struct Paths<'a> {
    module: &'a [String],
    found: Vec<(Vec<String>, usize)>,
}

impl Paths<'_> {
    /// `segments` as written, resolved to an absolute module path when it starts at the crate
    /// or a parent.
    fn resolve(&mut self, segments: &[String], line: usize) {
        let mut base: Vec<String> = self.module.to_vec();
        let mut rest = segments;
        match rest.first().map(String::as_str) {
            Some("crate") => {
                base.clear();
                rest = &rest[1..];
            }
            Some("super") => {
                while rest.first().is_some_and(|first| first == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
            }
            _ => return,
        }
        if let Some(first) = rest.first() {
            base.push(first.clone());
            if let Some(second) = rest.get(1) {
                base.push(second.clone());
            }
            self.found.push((base, line));
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(path) => {
                prefix.push(path.ident.to_string());
                self.use_tree(prefix, &path.tree);
                prefix.pop();
            }
            syn::UseTree::Name(name) => {
                prefix.push(name.ident.to_string());
                self.resolve(&prefix.clone(), name.ident.span().start().line);
                prefix.pop();
            }
            syn::UseTree::Rename(rename) => {
                prefix.push(rename.ident.to_string());
                self.resolve(&prefix.clone(), rename.ident.span().start().line);
                prefix.pop();
            }
            syn::UseTree::Glob(glob) => {
                self.resolve(&prefix.clone(), glob.star_token.span().start().line);
            }
            syn::UseTree::Group(group) => {
                for tree in &group.items {
                    self.use_tree(prefix, tree);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Paths<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attributes = match item {
            syn::Item::Mod(item) => &item.attrs,
            syn::Item::Fn(item) => &item.attrs,
            syn::Item::Impl(item) => &item.attrs,
            syn::Item::Use(item) => &item.attrs,
            syn::Item::Struct(item) => &item.attrs,
            syn::Item::Enum(item) => &item.attrs,
            syn::Item::Const(item) => &item.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if !has_cfg_test(attributes) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_impl_item_fn(&mut self, function: &'ast syn::ImplItemFn) {
        if !has_cfg_test(&function.attrs) {
            syn::visit::visit_impl_item_fn(self, function);
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path
            .segments
            .iter()
            .map(|segment| segment.ident.to_string())
            .collect();
        self.resolve(&segments, path.span().start().line);
        syn::visit::visit_path(self, path);
    }

    /// Paths inside macro calls (`format!`, `matches!`) are tokens to syn; the arguments of the
    /// common ones are expressions, so they are read as such.
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if let Ok(arguments) = mac.parse_body_with(
            syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated,
        ) {
            for argument in &arguments {
                self.visit_expr(argument);
            }
        }
        syn::visit::visit_macro(self, mac);
    }
}

/// Every arrow between two different rooms in `files` (paths relative to the package, text).
fn arrows(files: &[(String, String)]) -> Vec<Arrow> {
    let mut arrows = Vec::new();
    for (relative, text) in files {
        let module = module_of(Path::new(relative));
        let from = room_of(&module);
        let file = syn::parse_file(text)
            .unwrap_or_else(|error| panic!("{relative}:{}: {error}", error.span().start().line));
        let mut paths = Paths {
            module: &module,
            found: Vec::new(),
        };
        paths.visit_file(&file);
        for (target, line) in paths.found {
            let to = room_of(&target);
            if to != from {
                arrows.push(Arrow {
                    from: from.clone(),
                    to,
                    at: format!("{relative}:{line}"),
                });
            }
        }
    }
    arrows
}

/// The rooms that reach each other both ways, each circle as its rooms.
fn circles(arrows: &[Arrow]) -> Vec<BTreeSet<String>> {
    let mut next: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for arrow in arrows {
        next.entry(&arrow.from).or_default().insert(&arrow.to);
    }
    let reach = |start: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![start];
        while let Some(room) = todo.pop() {
            for &to in next.get(room).into_iter().flatten() {
                if seen.insert(to) {
                    todo.push(to);
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&str, BTreeSet<&str>> =
        next.keys().map(|&room| (room, reach(room))).collect();
    let mut circles: Vec<BTreeSet<String>> = Vec::new();
    for (&room, from_room) in &reached {
        if !from_room.contains(room) {
            continue;
        }
        let circle: BTreeSet<String> = from_room
            .iter()
            .filter(|&&other| reached.get(other).is_some_and(|back| back.contains(room)))
            .map(|&other| other.to_owned())
            .collect();
        if !circles.contains(&circle) {
            circles.push(circle);
        }
    }
    circles
}

/// What breaks the rules, one `file:line: why` per arrow.
fn breaches(files: &[(String, String)]) -> Vec<String> {
    let arrows = arrows(files);
    let mut breaches = Vec::new();
    for circle in circles(&arrows) {
        let rooms: Vec<&str> = circle.iter().map(String::as_str).collect();
        for arrow in &arrows {
            if circle.contains(&arrow.from) && circle.contains(&arrow.to) {
                breaches.push(format!(
                    "{}: `{}` → `{}` closes the circle {{{}}}",
                    arrow.at,
                    arrow.from,
                    arrow.to,
                    rooms.join(", ")
                ));
            }
        }
    }
    let is_command = |room: &str| room == "main" || room.starts_with("commands");
    for arrow in &arrows {
        if arrow.to.starts_with("commands") && !is_command(&arrow.from) {
            breaches.push(format!(
                "{}: `{}` is below `commands/` and imports `{}`",
                arrow.at, arrow.from, arrow.to
            ));
        }
        if arrow.from == "cli" {
            breaches.push(format!(
                "{}: `cli` imports `{}`: the flags' types are its own, mapped in `settings.rs`",
                arrow.at, arrow.to
            ));
        }
        if arrow.to == "cli" && !is_command(&arrow.from) && arrow.from != "settings" {
            breaches.push(format!(
                "{}: `{}` reads `cli`: only the commands and `settings.rs` see the flags",
                arrow.at, arrow.from
            ));
        }
    }
    breaches.sort();
    breaches.dedup();
    breaches
}

#[test]
fn the_import_graph_runs_one_way() {
    // The checker itself, on a sample with each kind of breach, and what it must let through.
    let sample = |path: &str, text: &str| (path.to_owned(), text.to_owned());
    let found = breaches(&[
        sample(
            "src/a.rs",
            "use crate::b::Thing;\n\n#[cfg(test)]\nmod tests { use crate::commands::x; }\n",
        ),
        sample("src/b.rs", "fn f() {\n    let _ = crate::a::g();\n}\n"),
        sample("src/b/inner.rs", "use super::super::commands::z::run;\n"),
        sample(
            "src/cli.rs",
            "fn f() { let _ = format!(\"{}\", crate::d::NAME); }\n",
        ),
        sample("src/c.rs", "use crate::{cli::Args, b};\n"),
        sample(
            "src/commands/x.rs",
            "use crate::cli::Args;\nuse super::y::helper;\n",
        ),
        sample("src/commands/y.rs", "use crate::commands::x;\n"),
        sample("src/settings.rs", "use crate::cli::Args;\n"),
    ]);
    assert_eq!(
        found,
        [
            "src/a.rs:1: `a` → `b` closes the circle {a, b}",
            "src/b.rs:2: `b` → `a` closes the circle {a, b}",
            "src/b/inner.rs:1: `b` is below `commands/` and imports `commands::z`",
            "src/c.rs:1: `c` reads `cli`: only the commands and `settings.rs` see the flags",
            "src/cli.rs:1: `cli` imports `d`: the flags' types are its own, mapped in `settings.rs`",
            "src/commands/x.rs:2: `commands::x` → `commands::y` closes the circle {commands::x, commands::y}",
            "src/commands/y.rs:1: `commands::y` → `commands::x` closes the circle {commands::x, commands::y}",
        ],
        "the checker misreads its sample"
    );

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files: Vec<(String, String)> = crate::reliability::tool_sources()
        .into_iter()
        .map(|(path, text)| {
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (relative, text)
        })
        .collect();
    // A graph with few arrows read nothing: today's has well over a hundred.
    let drawn = arrows(&files).len();
    assert!(drawn > 100, "only {drawn} arrows drawn from src/");
    let found = breaches(&files);
    assert!(
        found.is_empty(),
        "the import graph of src/ runs back up:\n{}",
        found.join("\n")
    );
}
