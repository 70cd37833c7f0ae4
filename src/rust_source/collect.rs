//! Walking the crate the way rustc finds its modules (`mod x;` → `x.rs` or `x/mod.rs`, nested
//! directories for non-`mod.rs` files, `#[path]`, inline `mod x { … }`) and collecting every PyO3
//! item on the way. Registrations inside function bodies are left to `registrations`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::Visit;

use super::attributes::{self, text_option};
use super::names::{UseLeaf, use_leaves};
use super::registrations::{self, FnEntry, Param, PendingAnalysis};
use super::{
    ClassDef, ClassShape, CrateScan, FixSite, FunctionDef, Location, Member, MemberKind, ModuleDef,
    ModuleStyle, Registered, Registration, ScanProblem, unraw,
};

pub(super) fn scan(crate_root: &Path, project_dir: &Path) -> Result<CrateScan> {
    let text = fs_err::read_to_string(crate_root)
        .with_context(|| format!("failed to read the crate root `{}`", crate_root.display()))?;
    let mut collector = Collector {
        project_dir: project_dir.to_path_buf(),
        canonical_project_dir: fs_err::canonicalize(project_dir).ok(),
        scan: CrateScan::default(),
        functions: Vec::new(),
        impls: Vec::new(),
        analyses: Vec::new(),
        loaded: HashSet::new(),
    };
    let root_scope = vec!["crate".to_owned()];
    collector.scan.resolver.add_module(root_scope.clone());
    collector.parse_file(crate_root, text, root_scope, true);
    collector.attach_impls();
    let Collector {
        mut scan,
        functions,
        analyses,
        ..
    } = collector;
    registrations::analyze(&mut scan, &functions, &analyses);
    Ok(scan)
}

/// A `#[pymethods]` or plain inherent `impl`, kept until every class is known.
struct PendingImpl {
    scope: Vec<String>,
    self_path: Vec<String>,
    items: Vec<syn::ImplItem>,
    pymethods: bool,
    file: PathBuf,
}

/// Where the items being collected live, for finding the files of their `mod x;`.
#[derive(Clone)]
struct Place {
    /// The file, as shown in messages.
    file: PathBuf,
    /// The directory of the file itself: `#[path]` outside inline modules is relative to it.
    file_dir: PathBuf,
    /// Where `mod x;` looks for `x.rs` and `x/mod.rs`.
    children: PathBuf,
    inline: bool,
}

struct Collector {
    project_dir: PathBuf,
    canonical_project_dir: Option<PathBuf>,
    scan: CrateScan,
    functions: Vec<FnEntry>,
    impls: Vec<PendingImpl>,
    analyses: Vec<PendingAnalysis>,
    loaded: HashSet<PathBuf>,
}

impl Collector {
    /// The path as shown to people: relative to the project directory when inside it.
    fn display_path(&self, path: &Path) -> PathBuf {
        if let Ok(relative) = path.strip_prefix(&self.project_dir) {
            return relative.to_path_buf();
        }
        if let (Some(project), Ok(canonical)) =
            (&self.canonical_project_dir, fs_err::canonicalize(path))
            && let Ok(relative) = canonical.strip_prefix(project)
        {
            return relative.to_path_buf();
        }
        path.to_path_buf()
    }

    fn location(file: &Path, span: proc_macro2::Span) -> Location {
        Location {
            file: file.to_path_buf(),
            line: span.start().line,
        }
    }

    fn problem(&mut self, file: &Path, line: usize, message: String) {
        self.scan.problems.push(ScanProblem {
            location: Location {
                file: file.to_path_buf(),
                line,
            },
            message,
        });
    }

    /// Reads a module file; a missing or unparsable file is a problem, not an error.
    fn load_file(
        &mut self,
        path: &Path,
        scope: Vec<String>,
        owns_directory: bool,
        declared_at: &Location,
    ) {
        match fs_err::read_to_string(path) {
            Ok(text) => self.parse_file(path, text, scope, owns_directory),
            Err(error) => self.problem(
                &declared_at.file,
                declared_at.line,
                format!(
                    "could not read the module file `{}`: {error}",
                    self.display_path(path).display()
                ),
            ),
        }
    }

    fn parse_file(&mut self, path: &Path, text: String, scope: Vec<String>, owns_directory: bool) {
        let key = fs_err::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if !self.loaded.insert(key) {
            return;
        }
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        self.scan.files.push(absolute.clone());
        let display = self.display_path(path);
        let file = match syn::parse_file(&text) {
            Ok(file) => file,
            Err(error) => {
                let line = error.span().start().line;
                self.problem(
                    &display,
                    line,
                    format!("does not parse, so it was not scanned: {error}"),
                );
                return;
            }
        };
        let file_dir = absolute.parent().map(Path::to_path_buf).unwrap_or_default();
        let children = if owns_directory {
            file_dir.clone()
        } else {
            let stem = absolute.file_stem().unwrap_or_default();
            file_dir.join(stem)
        };
        let place = Place {
            file: display,
            file_dir,
            children,
            inline: false,
        };
        self.collect_items(&file.items, &scope, &place);
    }

    fn collect_items(&mut self, items: &[syn::Item], scope: &[String], place: &Place) {
        for item in items {
            match item {
                syn::Item::Mod(module) => self.module(module, scope, place),
                syn::Item::Struct(item) if attributes::has(&item.attrs, "pyclass") => {
                    self.struct_class(item, scope, place);
                }
                syn::Item::Enum(item) if attributes::has(&item.attrs, "pyclass") => {
                    self.enum_class(item, scope, place);
                }
                syn::Item::Fn(function) => {
                    self.function(function, scope, place);
                }
                syn::Item::Impl(block) => self.impl_block(block, scope, place),
                syn::Item::Use(declaration) => self.scan.resolver.add_use(scope, &declaration.tree),
                syn::Item::Macro(invocation) => self.macro_item(invocation, scope, place),
                _ => {}
            }
        }
    }

    fn module(&mut self, module: &syn::ItemMod, scope: &[String], place: &Place) {
        let name = unraw(&module.ident);
        let mut module_scope = scope.to_vec();
        module_scope.push(name.clone());
        self.scan.resolver.add_module(module_scope.clone());
        let path_attribute = attributes::path_attribute(&module.attrs);
        if let Some((_, items)) = &module.content {
            let children = match &path_attribute {
                Some(path) => place.children.join(path),
                None => place.children.join(&name),
            };
            let inner = Place {
                children,
                inline: true,
                ..place.clone()
            };
            if attributes::has(&module.attrs, "pymodule") {
                self.declarative_module(module, items, scope, &inner);
            } else {
                self.collect_items(items, &module_scope, &inner);
            }
            return;
        }
        let declared_at = Self::location(&place.file, module.ident.span());
        if let Some(path) = path_attribute {
            // rustc: `#[path]` is relative to the file's directory, or inside inline modules to
            // the directory those modules map to. The file then owns its directory.
            let base = if place.inline {
                &place.children
            } else {
                &place.file_dir
            };
            self.load_file(&base.join(path), module_scope, true, &declared_at);
            return;
        }
        let flat = place.children.join(format!("{name}.rs"));
        let nested = place.children.join(&name).join("mod.rs");
        if flat.is_file() {
            self.load_file(&flat, module_scope, false, &declared_at);
        } else if nested.is_file() {
            self.load_file(&nested, module_scope, true, &declared_at);
        } else if !attributes::is_conditional(&module.attrs) {
            let message = format!(
                "`mod {name};` has no file: neither `{}` nor `{}` exists",
                self.display_path(&flat).display(),
                self.display_path(&nested).display()
            );
            self.problem(&declared_at.file, declared_at.line, message);
        }
    }

    fn class_name(attrs: &[syn::Attribute], rust_name: &str) -> (String, String) {
        match text_option(attrs, &["pyclass"], "name") {
            Some((which, name)) => (name.clone(), format!("#[{which}(name = \"{name}\")]")),
            None => (rust_name.to_owned(), "#[pyclass]".to_owned()),
        }
    }

    fn struct_class(&mut self, item: &syn::ItemStruct, scope: &[String], place: &Place) {
        let rust_name = unraw(&item.ident);
        let (python_name, attribute) = Self::class_name(&item.attrs, &rust_name);
        let get_all = attributes::has_flag(&item.attrs, &["pyclass"], "get_all");
        let set_all = attributes::has_flag(&item.attrs, &["pyclass"], "set_all");
        let rename_all = text_option(&item.attrs, &["pyclass"], "rename_all").map(|(_, rule)| rule);
        let mut members = Vec::new();
        let mut hidden_fields = Vec::new();
        for field in &item.fields {
            let options = attributes::all_options(&field.attrs, &[]);
            let has = |key: &str| options.iter().any(|(_, option)| option.key == key);
            let exposed = get_all || set_all || has("get") || has("set");
            let explicit = options
                .iter()
                .find(|(_, option)| option.key == "name")
                .and_then(|(_, option)| option.text.clone());
            let span = match &field.ident {
                Some(ident) => ident.span(),
                None => field.ty.span(),
            };
            let location = Self::location(&place.file, span);
            let Some(ident) = &field.ident else {
                // A tuple field is exposed only under an explicit name.
                if exposed && let Some(name) = explicit {
                    members.push(Member {
                        rust_name: name.clone(),
                        renamed_by: Some(format!("`#[pyo3(name = \"{name}\")]`")),
                        python_name: name,
                        kind: MemberKind::Field,
                        location,
                        returns: type_names(&field.ty, &rust_name),
                    });
                }
                continue;
            };
            let field_name = unraw(ident);
            if !exposed {
                hidden_fields.push((field_name, location));
                continue;
            }
            let (python_name, renamed_by) = match (&explicit, &rename_all) {
                (Some(name), _) => (name.clone(), Some(format!("`#[pyo3(name = \"{name}\")]`"))),
                (None, Some(rule)) => match attributes::rename(&field_name, rule) {
                    Some(renamed) => (
                        renamed,
                        Some(format!("`#[pyclass(rename_all = \"{rule}\")]`")),
                    ),
                    None => (field_name.clone(), None),
                },
                (None, None) => (field_name.clone(), None),
            };
            members.push(Member {
                rust_name: field_name,
                python_name,
                kind: MemberKind::Field,
                location,
                renamed_by,
                returns: type_names(&field.ty, &rust_name),
            });
        }
        self.scan.classes.push(ClassDef {
            python_module: text_option(&item.attrs, &["pyclass"], "module")
                .map(|(_, module)| module),
            location: Self::location(&place.file, item.ident.span()),
            visible: attributes::is_visible(&item.vis),
            rust_module: scope.to_vec(),
            shape: ClassShape::Struct,
            rust_name,
            python_name,
            attribute,
            members,
            hidden_fields,
            plain_methods: Vec::new(),
        });
    }

    fn enum_class(&mut self, item: &syn::ItemEnum, scope: &[String], place: &Place) {
        let rust_name = unraw(&item.ident);
        let (python_name, attribute) = Self::class_name(&item.attrs, &rust_name);
        let rename_all = text_option(&item.attrs, &["pyclass"], "rename_all").map(|(_, rule)| rule);
        let members = item
            .variants
            .iter()
            .map(|variant| {
                let variant_name = unraw(&variant.ident);
                let explicit = text_option(&variant.attrs, &[], "name").map(|(_, name)| name);
                let (python_name, renamed_by) = match (explicit, &rename_all) {
                    (Some(name), _) => {
                        (name.clone(), Some(format!("`#[pyo3(name = \"{name}\")]`")))
                    }
                    (None, Some(rule)) => match attributes::rename(&variant_name, rule) {
                        Some(renamed) => (
                            renamed,
                            Some(format!("`#[pyclass(rename_all = \"{rule}\")]`")),
                        ),
                        None => (variant_name.clone(), None),
                    },
                    (None, None) => (variant_name.clone(), None),
                };
                Member {
                    rust_name: variant_name,
                    python_name,
                    kind: MemberKind::Variant,
                    location: Self::location(&place.file, variant.ident.span()),
                    renamed_by,
                    returns: Vec::new(),
                }
            })
            .collect();
        self.scan.classes.push(ClassDef {
            python_module: text_option(&item.attrs, &["pyclass"], "module")
                .map(|(_, module)| module),
            location: Self::location(&place.file, item.ident.span()),
            visible: attributes::is_visible(&item.vis),
            rust_module: scope.to_vec(),
            shape: ClassShape::Enum,
            rust_name,
            python_name,
            attribute,
            members,
            hidden_fields: Vec::new(),
            plain_methods: Vec::new(),
        });
    }

    /// Indexes a free function (helpers are followed from module functions), and records it as a
    /// `#[pyfunction]` or a function-style `#[pymodule]` when it is one.
    fn function(&mut self, function: &syn::ItemFn, scope: &[String], place: &Place) -> usize {
        let index = self.index_function(&function.sig, &function.block, None, scope, place);
        let rust_name = unraw(&function.sig.ident);
        let location = Self::location(&place.file, function.sig.ident.span());
        if attributes::has(&function.attrs, "pyfunction") {
            let (python_name, attribute) =
                match text_option(&function.attrs, &["pyfunction"], "name") {
                    Some((which, name)) => (name.clone(), format!("#[{which}(name = \"{name}\")]")),
                    None => (rust_name.clone(), "#[pyfunction]".to_owned()),
                };
            self.scan.functions.push(FunctionDef {
                rust_module: scope.to_vec(),
                visible: attributes::is_visible(&function.vis),
                returns: return_type_names(&function.sig.output, &rust_name),
                rust_name: rust_name.clone(),
                python_name,
                attribute,
                location: location.clone(),
            });
        }
        if attributes::has(&function.attrs, "pymodule") {
            let python_name = text_option(&function.attrs, &["pymodule"], "name")
                .map(|(_, name)| name)
                .unwrap_or_else(|| rust_name.clone());
            let params = &self.functions[index].params;
            let variable = params
                .iter()
                .find(|param| param.is_module)
                .or_else(|| params.last())
                .and_then(|param| param.name.clone())
                .unwrap_or_else(|| "m".to_owned());
            let module = self.scan.modules.len();
            self.scan.modules.push(ModuleDef {
                python_name,
                style: ModuleStyle::Function,
                rust_module: scope.to_vec(),
                submodule_only: attributes::has_flag(&function.attrs, &["pymodule"], "submodule"),
                fix_site: FixSite {
                    item: format!("fn {rust_name}"),
                    variable,
                    location: location.clone(),
                },
                rust_name,
                location,
                registrations: Vec::new(),
            });
            self.analyses.push(PendingAnalysis {
                module,
                function: index,
            });
        }
        index
    }

    fn index_function(
        &mut self,
        signature: &syn::Signature,
        block: &syn::Block,
        self_type: Option<String>,
        scope: &[String],
        place: &Place,
    ) -> usize {
        let params = signature
            .inputs
            .iter()
            .filter_map(|input| match input {
                syn::FnArg::Receiver(_) => None,
                syn::FnArg::Typed(typed) => Some(Param {
                    name: match typed.pat.as_ref() {
                        syn::Pat::Ident(ident) => Some(unraw(&ident.ident)),
                        _ => None,
                    },
                    is_module: typed.ty.to_token_stream().to_string().contains("PyModule"),
                }),
            })
            .collect();
        self.functions.push(FnEntry {
            scope: scope.to_vec(),
            self_type,
            name: unraw(&signature.ident),
            params,
            block: block.clone(),
            file: place.file.clone(),
        });
        self.functions.len() - 1
    }

    fn impl_block(&mut self, block: &syn::ItemImpl, scope: &[String], place: &Place) {
        let syn::Type::Path(self_type) = block.self_ty.as_ref() else {
            return;
        };
        let self_path: Vec<String> = self_type
            .path
            .segments
            .iter()
            .map(|segment| unraw(&segment.ident))
            .collect();
        let type_name = self_path.last().cloned();
        for item in &block.items {
            if let syn::ImplItem::Fn(function) = item {
                self.index_function(
                    &function.sig,
                    &function.block,
                    type_name.clone(),
                    scope,
                    place,
                );
            }
        }
        // Trait impls never add Python names.
        if block.trait_.is_some() {
            return;
        }
        self.impls.push(PendingImpl {
            scope: scope.to_vec(),
            self_path,
            items: block.items.clone(),
            pymethods: attributes::has(&block.attrs, "pymethods"),
            file: place.file.clone(),
        });
    }

    /// `create_exception!(module, Name, Base[, doc])` makes a class Python can import once
    /// registered. Its arguments are read as PyO3 declares them: the module is an expression
    /// (`pkg._native` is a dotted module, not a name), then the name, the base type and an
    /// optional doc.
    fn macro_item(&mut self, invocation: &syn::ItemMacro, scope: &[String], place: &Place) {
        let is_exception = invocation
            .mac
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "create_exception");
        if !is_exception {
            return;
        }
        let ident = match invocation.mac.parse_body::<ExceptionArguments>() {
            Ok(ExceptionArguments { name }) => name,
            Err(error) => {
                self.scan.problems.push(ScanProblem {
                    location: Self::location(&place.file, error.span()),
                    message: format!(
                        "`create_exception!` does not read as (module, Name, Base[, doc]): {error}"
                    ),
                });
                return;
            }
        };
        let name = unraw(&ident);
        self.scan.classes.push(ClassDef {
            rust_name: name.clone(),
            python_name: name,
            rust_module: scope.to_vec(),
            shape: ClassShape::Exception,
            python_module: None,
            attribute: "create_exception!".to_owned(),
            location: Self::location(&place.file, ident.span()),
            visible: true,
            members: Vec::new(),
            hidden_fields: Vec::new(),
            plain_methods: Vec::new(),
        });
    }

    /// `#[pymodule] mod name { … }`: its `#[pyclass]`, `#[pyfunction]` and `#[pymodule]` items
    /// are registered by being there; `use` needs `#[pymodule_export]`.
    fn declarative_module(
        &mut self,
        module: &syn::ItemMod,
        items: &[syn::Item],
        scope: &[String],
        inner: &Place,
    ) {
        let rust_name = unraw(&module.ident);
        let python_name = text_option(&module.attrs, &["pymodule"], "name")
            .map(|(_, name)| name)
            .unwrap_or_else(|| rust_name.clone());
        let location = Self::location(&inner.file, module.ident.span());
        let mut module_scope = scope.to_vec();
        module_scope.push(rust_name.clone());
        let index = self.scan.modules.len();
        self.scan.modules.push(ModuleDef {
            rust_name: rust_name.clone(),
            python_name,
            style: ModuleStyle::Declarative,
            rust_module: scope.to_vec(),
            location: location.clone(),
            submodule_only: attributes::has_flag(&module.attrs, &["pymodule"], "submodule"),
            fix_site: FixSite {
                item: format!("mod {rust_name}"),
                variable: String::new(),
                location,
            },
            registrations: Vec::new(),
        });
        let functions_before = self.functions.len();
        self.collect_items(items, &module_scope, inner);

        let mut registrations = Vec::new();
        let mut register = |item: Registered, span: proc_macro2::Span| {
            registrations.push(Registration {
                item,
                scope: module_scope.clone(),
                location: Self::location(&inner.file, span),
            });
        };
        for item in items {
            match item {
                syn::Item::Struct(item) if attributes::has(&item.attrs, "pyclass") => {
                    register(
                        Registered::Class(vec![unraw(&item.ident)]),
                        item.ident.span(),
                    );
                }
                syn::Item::Enum(item) if attributes::has(&item.attrs, "pyclass") => {
                    register(
                        Registered::Class(vec![unraw(&item.ident)]),
                        item.ident.span(),
                    );
                }
                syn::Item::Fn(function) => {
                    let name = unraw(&function.sig.ident);
                    let span = function.sig.ident.span();
                    if attributes::has(&function.attrs, "pyfunction") {
                        register(Registered::Function(vec![name.clone()]), span);
                    }
                    if attributes::has(&function.attrs, "pymodule") {
                        register(Registered::ModuleAt(vec![name.clone()]), span);
                    }
                    if attributes::has(&function.attrs, "pymodule_init") {
                        let entry = (functions_before..self.functions.len()).find(|&candidate| {
                            let entry = &self.functions[candidate];
                            entry.name == name
                                && entry.scope == module_scope
                                && entry.self_type.is_none()
                        });
                        if let Some(function) = entry {
                            self.analyses.push(PendingAnalysis {
                                module: index,
                                function,
                            });
                        }
                    }
                }
                syn::Item::Mod(nested) if attributes::has(&nested.attrs, "pymodule") => {
                    register(
                        Registered::ModuleAt(vec![unraw(&nested.ident)]),
                        nested.ident.span(),
                    );
                }
                syn::Item::Use(declaration)
                    if attributes::has(&declaration.attrs, "pymodule_export") =>
                {
                    for leaf in use_leaves(&declaration.tree) {
                        if let UseLeaf::Name { path, .. } = leaf {
                            register(Registered::Export(path), declaration.use_token.span);
                        }
                    }
                }
                syn::Item::Const(constant)
                    if attributes::has(&constant.attrs, "pymodule_export") =>
                {
                    register(
                        Registered::Attribute(unraw(&constant.ident)),
                        constant.ident.span(),
                    );
                }
                syn::Item::Static(value) if attributes::has(&value.attrs, "pymodule_export") => {
                    register(
                        Registered::Attribute(unraw(&value.ident)),
                        value.ident.span(),
                    );
                }
                _ => {}
            }
        }
        self.scan.modules[index].registrations.extend(registrations);
    }

    /// Gives each class the members of its `#[pymethods]` blocks, and remembers methods of plain
    /// `impl` blocks (a classic reason for a missing method).
    fn attach_impls(&mut self) {
        for pending in std::mem::take(&mut self.impls) {
            let Some(class) = self.scan.find_class(&pending.scope, &pending.self_path) else {
                continue;
            };
            let class_name = self.scan.classes[class].rust_name.clone();
            for item in &pending.items {
                if pending.pymethods {
                    if let Some(member) = pymethods_member(item, &class_name, &pending.file) {
                        self.scan.classes[class].members.push(member);
                    }
                } else if let syn::ImplItem::Fn(function) = item {
                    let location = Self::location(&pending.file, function.sig.ident.span());
                    self.scan.classes[class]
                        .plain_methods
                        .push((unraw(&function.sig.ident), location));
                }
            }
        }
    }
}

/// What one item of a `#[pymethods]` block adds to the class, if anything.
fn pymethods_member(item: &syn::ImplItem, class_name: &str, file: &Path) -> Option<Member> {
    match item {
        syn::ImplItem::Fn(function) => Some(method_member(function, class_name, file)),
        syn::ImplItem::Const(constant) if attributes::has(&constant.attrs, "classattr") => {
            let rust_name = unraw(&constant.ident);
            let explicit = text_option(&constant.attrs, &[], "name").map(|(_, name)| name);
            Some(Member {
                renamed_by: explicit
                    .as_ref()
                    .map(|name| format!("`#[pyo3(name = \"{name}\")]`")),
                python_name: explicit.unwrap_or_else(|| rust_name.clone()),
                rust_name,
                kind: MemberKind::ClassAttribute,
                location: Collector::location(file, constant.ident.span()),
                returns: type_names(&constant.ty, class_name),
            })
        }
        _ => None,
    }
}

fn method_member(function: &syn::ImplItemFn, class_name: &str, file: &Path) -> Member {
    let attrs = &function.attrs;
    let rust_name = unraw(&function.sig.ident);
    let explicit = text_option(attrs, &[], "name").map(|(_, name)| name);
    let renamed = |name: &String| Some(format!("`#[pyo3(name = \"{name}\")]`"));
    let (kind, python_name, renamed_by) = if attributes::has(attrs, "new") {
        (MemberKind::Constructor, "__new__".to_owned(), None)
    } else if let Some((kind, attribute, prefix)) = attributes::find(attrs, "getter")
        .map(|attribute| (MemberKind::Getter, attribute, "get_"))
        .or_else(|| {
            attributes::find(attrs, "setter")
                .map(|attribute| (MemberKind::Setter, attribute, "set_"))
        })
    {
        let keyword = if kind == MemberKind::Getter {
            "getter"
        } else {
            "setter"
        };
        match (attributes::property_name(attribute), &explicit) {
            (Some(name), _) => (kind, name.clone(), Some(format!("`#[{keyword}({name})]`"))),
            (None, Some(name)) => (kind, name.clone(), renamed(name)),
            // PyO3 names `get_x`/`set_x` properties `x`.
            (None, None) => match rust_name
                .strip_prefix(prefix)
                .filter(|rest| !rest.is_empty())
            {
                Some(stripped) => (
                    kind,
                    stripped.to_owned(),
                    Some(format!("`#[{keyword}]` drops the `{prefix}` prefix")),
                ),
                None => (kind, rust_name.clone(), None),
            },
        }
    } else {
        let kind = if attributes::has(attrs, "staticmethod") {
            MemberKind::StaticMethod
        } else if attributes::has(attrs, "classmethod") {
            MemberKind::ClassMethod
        } else if attributes::has(attrs, "classattr") {
            MemberKind::ClassAttribute
        } else {
            MemberKind::Method
        };
        match &explicit {
            Some(name) => (kind, name.clone(), renamed(name)),
            None => (kind, rust_name.clone(), None),
        }
    };
    Member {
        returns: return_type_names(&function.sig.output, class_name),
        location: Collector::location(file, function.sig.ident.span()),
        rust_name,
        python_name,
        kind,
        renamed_by,
    }
}

/// Every type name in a return type; `Self` is the class itself.
fn return_type_names(output: &syn::ReturnType, self_name: &str) -> Vec<String> {
    match output {
        syn::ReturnType::Default => Vec::new(),
        syn::ReturnType::Type(_, ty) => type_names(ty, self_name),
    }
}

fn type_names(ty: &syn::Type, self_name: &str) -> Vec<String> {
    struct Names<'a> {
        self_name: &'a str,
        names: Vec<String>,
    }
    impl<'ast> Visit<'ast> for Names<'_> {
        fn visit_path_segment(&mut self, segment: &'ast syn::PathSegment) {
            let name = unraw(&segment.ident);
            self.names.push(if name == "Self" {
                self.self_name.to_owned()
            } else {
                name
            });
            syn::visit::visit_path_segment(self, segment);
        }
    }
    let mut names = Names {
        self_name,
        names: Vec::new(),
    };
    names.visit_type(ty);
    names.names
}

/// The arguments of `create_exception!`: `module, Name, Base` and an optional doc, as PyO3's
/// macro takes them (`$module:expr, $name:ident, $base:ty $(, $doc:expr)?`).
struct ExceptionArguments {
    name: syn::Ident,
}

impl syn::parse::Parse for ExceptionArguments {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        input.parse::<syn::Expr>()?;
        input.parse::<syn::Token![,]>()?;
        let name = input.parse::<syn::Ident>()?;
        input.parse::<syn::Token![,]>()?;
        input.parse::<syn::Type>()?;
        if input.parse::<Option<syn::Token![,]>>()?.is_some() && !input.is_empty() {
            input.parse::<syn::Expr>()?;
            input.parse::<Option<syn::Token![,]>>()?;
        }
        Ok(ExceptionArguments { name })
    }
}
