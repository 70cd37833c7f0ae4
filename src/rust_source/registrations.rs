//! What module functions register: `add_class::<T>()`, `add_function(wrap_pyfunction!(f, m)?)`,
//! `add_wrapped(…)`, `add_submodule(&sub)`, `add("name", …)`, followed into crate functions that
//! receive the module (`register(m)?`) and into helpers that build a submodule with
//! `PyModule::new(py, "name")` and return it.
//!
//! This is a small abstract interpretation: it tracks which local variables hold which module,
//! binds a callee's parameters to the modules passed in, and remembers each (function, bindings)
//! pair so that a helper called from several places is read once per module.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use syn::spanned::Spanned;
use syn::visit::Visit;

use super::{
    CrateScan, FixSite, Location, ModuleDef, ModuleStyle, Registered, Registration, unraw,
};

/// A function the scan can follow into: free, or associated with a type.
#[derive(Debug)]
pub(super) struct FnEntry {
    pub(super) scope: Vec<String>,
    pub(super) self_type: Option<String>,
    pub(super) name: String,
    /// Parameters other than `self`.
    pub(super) params: Vec<Param>,
    pub(super) block: syn::Block,
    pub(super) file: PathBuf,
}

#[derive(Debug)]
pub(super) struct Param {
    pub(super) name: Option<String>,
    /// Its type mentions `PyModule`.
    pub(super) is_module: bool,
}

/// A function to read with some of its parameters bound to a module: a `#[pymodule] fn`, or the
/// `#[pymodule_init]` of a declarative module.
#[derive(Debug)]
pub(super) struct PendingAnalysis {
    pub(super) module: usize,
    pub(super) function: usize,
}

/// Deep enough for real helper chains, shallow enough that recursion cannot hang the scan.
const MAX_DEPTH: usize = 16;

pub(super) fn analyze(scan: &mut CrateScan, functions: &[FnEntry], pending: &[PendingAnalysis]) {
    let mut analysis = Analysis {
        scan,
        functions,
        memo: HashMap::new(),
        active: HashSet::new(),
        dynamic: HashMap::new(),
        depth: 0,
    };
    for pending in pending {
        let params = &functions[pending.function].params;
        let mut bound: Vec<(usize, usize)> = params
            .iter()
            .enumerate()
            .filter(|(_, param)| param.is_module)
            .map(|(position, _)| (position, pending.module))
            .collect();
        if bound.is_empty() && !params.is_empty() {
            bound.push((params.len() - 1, pending.module));
        }
        analysis.run(pending.function, bound);
    }
}

type Bindings = Vec<(usize, usize)>;

struct Analysis<'s, 'f> {
    scan: &'s mut CrateScan,
    functions: &'f [FnEntry],
    /// (function, parameter position → module) → the module it returns.
    memo: HashMap<(usize, Bindings), Option<usize>>,
    active: HashSet<(usize, Bindings)>,
    /// `PyModule::new` call sites → the module made there, so each is one module however often
    /// its function is read.
    dynamic: HashMap<(PathBuf, usize, usize), usize>,
    depth: usize,
}

impl Analysis<'_, '_> {
    /// Reads one function with `bound` parameters holding modules; returns the module it
    /// returns, if it returns one.
    fn run(&mut self, function: usize, bound: Bindings) -> Option<usize> {
        let key = (function, bound);
        if let Some(result) = self.memo.get(&key) {
            return *result;
        }
        if self.depth >= MAX_DEPTH || !self.active.insert(key.clone()) {
            return None;
        }
        self.depth += 1;
        let functions = self.functions;
        let entry = &functions[function];
        let bindings = key
            .1
            .iter()
            .filter_map(|(position, module)| {
                let name = entry.params.get(*position)?.name.clone()?;
                Some((name, *module))
            })
            .collect();
        let mut visitor = BodyVisitor {
            analysis: self,
            entry,
            bindings,
            returned: None,
        };
        visitor.visit_block(&entry.block);
        if visitor.returned.is_none()
            && let Some(syn::Stmt::Expr(tail, None)) = entry.block.stmts.last()
        {
            visitor.returned = visitor.module_of(tail, None);
        }
        let returned = visitor.returned;
        self.depth -= 1;
        self.active.remove(&key);
        self.memo.insert(key, returned);
        returned
    }

    fn register(&mut self, module: usize, item: Registered, scope: &[String], location: Location) {
        let registrations = &mut self.scan.modules[module].registrations;
        let known = registrations
            .iter()
            .any(|existing| existing.item == item && existing.location == location);
        if !known {
            registrations.push(Registration {
                item,
                scope: scope.to_vec(),
                location,
            });
        }
    }
}

struct BodyVisitor<'a, 's, 'f> {
    analysis: &'a mut Analysis<'s, 'f>,
    entry: &'f FnEntry,
    /// Local variables that hold a module.
    bindings: HashMap<String, usize>,
    returned: Option<usize>,
}

impl BodyVisitor<'_, '_, '_> {
    fn location(&self, span: proc_macro2::Span) -> Location {
        Location {
            file: self.entry.file.clone(),
            line: span.start().line,
        }
    }

    /// The module an expression evaluates to, when the scan can tell.
    fn module_of(&mut self, expression: &syn::Expr, binding: Option<&str>) -> Option<usize> {
        match strip(expression) {
            syn::Expr::Path(path) => {
                let name = path.path.get_ident()?;
                self.bindings.get(&unraw(name)).copied()
            }
            syn::Expr::Call(call) => {
                let syn::Expr::Path(function) = strip(&call.func) else {
                    return None;
                };
                let segments = segments(&function.path);
                if segments == ["Ok"] {
                    return self.module_of(call.args.first()?, binding);
                }
                if is_module_constructor(&segments) {
                    return self.dynamic_module(call, binding);
                }
                let callee = self.resolve_callee(&function.path)?;
                self.call(callee, &call.args, true)
            }
            _ => None,
        }
    }

    /// `PyModule::new(py, "name")`: a module that lives as long as someone adds it somewhere.
    fn dynamic_module(&mut self, call: &syn::ExprCall, binding: Option<&str>) -> Option<usize> {
        let name = string_literal(call.args.iter().nth(1)?)?;
        let start = call.span().start();
        let site = (self.entry.file.clone(), start.line, start.column);
        if let Some(&module) = self.analysis.dynamic.get(&site) {
            return Some(module);
        }
        let location = self.location(call.span());
        let variable = binding.unwrap_or("module").to_owned();
        let modules = &mut self.analysis.scan.modules;
        modules.push(ModuleDef {
            rust_name: variable.clone(),
            // A dotted name ("pkg.sub") is a common trick for `sys.modules`; Python code reaches
            // the submodule by its last part.
            python_name: name.rsplit('.').next().unwrap_or(&name).to_owned(),
            style: ModuleStyle::Dynamic,
            rust_module: self.entry.scope.clone(),
            location: location.clone(),
            submodule_only: true,
            fix_site: FixSite {
                item: format!("fn {}", self.entry.name),
                variable,
                location,
            },
            registrations: Vec::new(),
        });
        let module = modules.len() - 1;
        self.analysis.dynamic.insert(site, module);
        Some(module)
    }

    /// The crate function a call path names, if the scan has it.
    fn resolve_callee(&self, path: &syn::Path) -> Option<usize> {
        let segments = segments(path);
        let (name, qualifier) = segments.split_last()?;
        let functions = self.analysis.functions;
        if let Some(type_name) = qualifier.last() {
            let type_name = if type_name == "Self" {
                self.entry.self_type.clone()?
            } else {
                type_name.clone()
            };
            let associated = functions.iter().position(|function| {
                function.self_type.as_deref() == Some(type_name.as_str()) && &function.name == name
            });
            if associated.is_some() {
                return associated;
            }
            // `Vec::new(…)`: another type's function, never a crate helper of the same name.
            if type_name.starts_with(char::is_uppercase) {
                return None;
            }
        }
        let free: Vec<(usize, &FnEntry)> = functions
            .iter()
            .enumerate()
            .filter(|(_, function)| function.self_type.is_none())
            .collect();
        let found = self.analysis.scan.resolver.find(
            &self.entry.scope,
            &segments,
            &free,
            |(_, function)| (&function.scope, &function.name),
        )?;
        Some(free[found].0)
    }

    /// Follows a call into a crate function when it receives a module (or when its result is
    /// wanted); returns the module it returns.
    fn call(
        &mut self,
        callee: usize,
        arguments: &syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>,
        wants_result: bool,
    ) -> Option<usize> {
        let bound: Bindings = arguments
            .iter()
            .enumerate()
            .filter_map(|(position, argument)| Some((position, self.module_of(argument, None)?)))
            .collect();
        if bound.is_empty() && !wants_result {
            return None;
        }
        self.analysis.run(callee, bound)
    }

    fn register(&mut self, module: usize, item: Registered, span: proc_macro2::Span) {
        let location = self.location(span);
        self.analysis
            .register(module, item, &self.entry.scope, location);
    }

    /// A method called on a module: the registrations.
    fn module_method(&mut self, module: usize, call: &syn::ExprMethodCall) {
        let span = call.method.span();
        let first = call.args.first();
        match call.method.to_string().as_str() {
            "add_class" => {
                if let Some(path) = turbofish_path(call) {
                    self.register(module, Registered::Class(path), span);
                }
            }
            "add_function" | "add_wrapped" => {
                let Some(argument) = first else { return };
                if let Some((kind, path)) = find_wrap_macro(argument) {
                    let item = match kind {
                        WrapMacro::Function => Registered::Function(path),
                        WrapMacro::Module => Registered::ModuleAt(path),
                    };
                    self.register(module, item, span);
                }
            }
            "add_submodule" => {
                let Some(argument) = first else { return };
                if let Some(child) = self.module_of(argument, None) {
                    self.register(module, Registered::Module(child), span);
                } else if let Some((WrapMacro::Module, path)) = find_wrap_macro(argument) {
                    self.register(module, Registered::ModuleAt(path), span);
                }
            }
            "add" => {
                let (Some(name), Some(value)) =
                    (first.and_then(string_literal), call.args.iter().nth(1))
                else {
                    return;
                };
                if let Some(path) = find_get_type(value) {
                    self.register(module, Registered::ClassAs { name, path }, span);
                } else if let Some(child) = self.module_of(value, None) {
                    self.register(module, Registered::Module(child), span);
                } else {
                    self.register(module, Registered::Attribute(name), span);
                }
            }
            _ => {}
        }
    }
}

impl<'ast> Visit<'ast> for BodyVisitor<'_, '_, '_> {
    fn visit_local(&mut self, local: &'ast syn::Local) {
        if let Some(init) = &local.init {
            let name = pattern_name(&local.pat);
            if let Some(module) = self.module_of(&init.expr, name.as_deref())
                && let Some(name) = name
            {
                self.bindings.insert(name, module);
            }
        }
        syn::visit::visit_local(self, local);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        if let Some(module) = self.module_of(&call.receiver, None) {
            self.module_method(module, call);
        }
        syn::visit::visit_expr_method_call(self, call);
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let syn::Expr::Path(function) = strip(&call.func) {
            let segments = segments(&function.path);
            if segments != ["Ok"]
                && !is_module_constructor(&segments)
                && let Some(callee) = self.resolve_callee(&function.path)
            {
                self.call(callee, &call.args, false);
            }
        }
        syn::visit::visit_expr_call(self, call);
    }

    fn visit_expr_return(&mut self, expression: &'ast syn::ExprReturn) {
        if let Some(value) = &expression.expr
            && let Some(module) = self.module_of(value, None)
        {
            self.returned = Some(module);
        }
        syn::visit::visit_expr_return(self, expression);
    }

    /// Items nested in a body are separate functions: read only when called.
    fn visit_item(&mut self, _item: &'ast syn::Item) {}
}

/// Looks through `&x`, `(x)`, `x?`, `x.clone()` and friends, which keep the same module.
fn strip(mut expression: &syn::Expr) -> &syn::Expr {
    loop {
        expression = match expression {
            syn::Expr::Reference(reference) => &reference.expr,
            syn::Expr::Paren(paren) => &paren.expr,
            syn::Expr::Group(group) => &group.expr,
            syn::Expr::Try(attempt) => &attempt.expr,
            syn::Expr::MethodCall(call)
                if call.args.len() <= 1
                    && matches!(
                        call.method.to_string().as_str(),
                        "clone" | "as_borrowed" | "as_ref" | "into_bound" | "bind" | "as_any"
                    ) =>
            {
                &call.receiver
            }
            _ => return expression,
        };
    }
}

fn segments(path: &syn::Path) -> Vec<String> {
    path.segments
        .iter()
        .map(|segment| unraw(&segment.ident))
        .collect()
}

fn is_module_constructor(segments: &[String]) -> bool {
    matches!(segments, [.., module, new] if module == "PyModule" && (new == "new" || new == "new_bound"))
}

fn string_literal(expression: &syn::Expr) -> Option<String> {
    match strip(expression) {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(text),
            ..
        }) => Some(text.value()),
        _ => None,
    }
}

fn pattern_name(pattern: &syn::Pat) -> Option<String> {
    match pattern {
        syn::Pat::Ident(ident) => Some(unraw(&ident.ident)),
        syn::Pat::Type(typed) => pattern_name(&typed.pat),
        _ => None,
    }
}

fn turbofish_path(call: &syn::ExprMethodCall) -> Option<Vec<String>> {
    let arguments = call.turbofish.as_ref()?;
    match arguments.args.first()? {
        syn::GenericArgument::Type(syn::Type::Path(ty)) => Some(segments(&ty.path)),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WrapMacro {
    Function,
    Module,
}

/// The first `wrap_pyfunction!(path, …)` or `wrap_pymodule!(path)` inside an expression.
fn find_wrap_macro(expression: &syn::Expr) -> Option<(WrapMacro, Vec<String>)> {
    struct Finder(Option<(WrapMacro, Vec<String>)>);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_macro(&mut self, invocation: &'ast syn::Macro) {
            if self.0.is_some() {
                return;
            }
            let Some(name) = invocation
                .path
                .segments
                .last()
                .map(|segment| segment.ident.to_string())
            else {
                return;
            };
            let kind = match name.as_str() {
                "wrap_pyfunction" | "wrap_pyfunction_bound" => WrapMacro::Function,
                "wrap_pymodule" => WrapMacro::Module,
                _ => return,
            };
            let first: proc_macro2::TokenStream = invocation
                .tokens
                .clone()
                .into_iter()
                .take_while(|token| !matches!(token, proc_macro2::TokenTree::Punct(punct) if punct.as_char() == ','))
                .collect();
            if let Ok(path) = syn::parse2::<syn::Path>(first) {
                self.0 = Some((kind, segments(&path)));
            }
        }
    }
    let mut finder = Finder(None);
    finder.visit_expr(expression);
    finder.0
}

/// `py.get_type::<T>()` inside an expression: `m.add("Name", py.get_type::<T>())` registers `T`.
fn find_get_type(expression: &syn::Expr) -> Option<Vec<String>> {
    struct Finder(Option<Vec<String>>);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
            if self.0.is_none()
                && matches!(
                    call.method.to_string().as_str(),
                    "get_type" | "get_type_bound"
                )
            {
                self.0 = turbofish_path(call);
            }
            syn::visit::visit_expr_method_call(self, call);
        }
    }
    let mut finder = Finder(None);
    finder.visit_expr(expression);
    finder.0
}
