//! The scanner on real PyO3 code: one small crate per registration form, written to a temporary
//! directory so that module files are found the way rustc finds them.

use std::path::Path;

use super::exports::{ExportedName, NameKind};
use super::*;

/// Writes `files` (path, text) under a temporary project and scans its `src/lib.rs`.
fn scan_files(files: &[(&str, &str)]) -> (tempfile::TempDir, CrateScan) {
    let project = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = project.path().join(path);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(&path, text).unwrap();
    }
    let scan = scan_crate(&project.path().join("src/lib.rs"), project.path()).unwrap();
    (project, scan)
}

fn names(exports: &Exports) -> Vec<&str> {
    let mut names: Vec<&str> = exports
        .names
        .iter()
        .map(|name| name.name.as_str())
        .collect();
    names.sort_unstable();
    names
}

fn exported<'a>(exports: &'a Exports, name: &str) -> &'a ExportedName {
    exports
        .get(name)
        .unwrap_or_else(|| panic!("`{name}` is not exported; exported: {:?}", names(exports)))
}

const COUNTER_LIB: &str = r#"use pyo3::prelude::*;

/// A counter.
#[pyclass(name = "Counter", module = "demo")]
struct CounterPy {
    value: i64,
    #[pyo3(get, set)]
    step: i64,
    #[pyo3(get, name = "limit")]
    maximum: i64,
}

#[pymethods]
impl CounterPy {
    #[new]
    fn new() -> Self {
        CounterPy { value: 0, step: 1, maximum: 10 }
    }

    #[pyo3(name = "incr")]
    fn increment(&mut self) -> i64 {
        self.value += self.step;
        self.value
    }

    #[getter]
    fn get_value(&self) -> i64 {
        self.value
    }

    #[setter]
    fn set_value(&mut self, value: i64) {
        self.value = value;
    }

    #[getter(DOUBLE)]
    fn doubled(&self) -> i64 {
        self.value * 2
    }

    #[staticmethod]
    fn zero() -> i64 {
        0
    }

    #[classmethod]
    fn describe(_cls: &Bound<'_, pyo3::types::PyType>) -> String {
        "counter".to_owned()
    }

    #[classattr]
    const ORIGIN: i64 = 0;

    fn __repr__(&self) -> String {
        format!("Counter({})", self.value)
    }

    fn __iter__(slf: PyRef<'_, Self>) -> CounterIter {
        CounterIter { next: 0, end: slf.value }
    }
}

impl CounterPy {
    fn reset(&mut self) {
        self.value = 0;
    }
}

#[pyclass]
struct CounterIter {
    next: i64,
    end: i64,
}

#[pymethods]
impl CounterIter {
    fn __next__(&mut self) -> Option<i64> {
        (self.next < self.end).then(|| {
            self.next += 1;
            self.next
        })
    }
}

#[pyclass]
struct Orphan;

#[pyfunction]
#[pyo3(name = "hello")]
fn greet() -> &'static str {
    "hello"
}

#[pyfunction]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[pyfunction]
fn forgotten() {}

#[pymodule]
fn demo(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<CounterPy>()?;
    m.add_function(wrap_pyfunction!(greet, m)?)?;
    m.add_wrapped(wrap_pyfunction!(add))?;
    m.add("VERSION", "1.0")?;
    Ok(())
}
"#;

#[test]
fn function_module_registers_classes_functions_and_attributes() {
    let (_project, scan) = scan_files(&[("src/lib.rs", COUNTER_LIB)]);
    assert!(scan.problems.is_empty(), "{:?}", scan.problems);
    let exports = scan.exports("demo");
    let found = names(&exports);
    for name in [
        "Counter",
        "Counter.__new__",
        "Counter.incr",
        "Counter.value",
        "Counter.DOUBLE",
        "Counter.step",
        "Counter.limit",
        "Counter.zero",
        "Counter.describe",
        "Counter.ORIGIN",
        "Counter.__repr__",
        "Counter.__iter__",
        "hello",
        "add",
        "VERSION",
    ] {
        assert!(found.contains(&name), "`{name}` missing from {found:?}");
    }
    for name in [
        "CounterPy",
        "Counter.increment",
        "Counter.get_value",
        "Counter.reset",
        "Orphan",
        "greet",
        "forgotten",
    ] {
        assert!(
            !found.contains(&name),
            "`{name}` should not be exported: {found:?}"
        );
    }
    assert_eq!(exported(&exports, "Counter").kind, NameKind::Class);
    assert_eq!(exported(&exports, "Counter.incr").kind, NameKind::Method);
    assert_eq!(
        exported(&exports, "Counter.value").kind,
        NameKind::Attribute
    );
    assert_eq!(exported(&exports, "hello").kind, NameKind::Function);
    assert_eq!(
        exported(&exports, "Counter").location.to_string(),
        "src/lib.rs:5"
    );
    assert_eq!(
        exported(&exports, "Counter.incr").location.to_string(),
        "src/lib.rs:21"
    );
    let default: Vec<&str> = exports
        .default_names()
        .map(|name| name.name.as_str())
        .collect();
    assert!(!default.contains(&"Counter.__repr__") && !default.contains(&"Counter.__new__"));
    assert!(default.contains(&"Counter.incr"));
    let class = scan
        .classes
        .iter()
        .find(|class| class.rust_name == "CounterPy")
        .unwrap();
    assert_eq!(class.python_module.as_deref(), Some("demo"));
}

#[test]
fn iterator_returned_from_a_method_is_internal() {
    let (_project, scan) = scan_files(&[("src/lib.rs", COUNTER_LIB)]);
    let exports = scan.exports("demo");
    let internal: Vec<(&str, &str)> = exports
        .internal
        .iter()
        .map(|class| (class.python_name.as_str(), class.returned_from.as_str()))
        .collect();
    assert_eq!(internal, [("CounterIter", "Counter.__iter__")]);
    let unregistered: Vec<&str> = exports
        .unregistered
        .iter()
        .map(|item| match *item {
            Unregistered::Class(class) => scan.classes[class].python_name.as_str(),
            Unregistered::Function(function) => scan.functions[function].python_name.as_str(),
        })
        .collect();
    assert_eq!(unregistered, ["Orphan", "forgotten"]);
}

#[test]
fn explains_an_unregistered_class_with_the_line_to_add() {
    let (_project, scan) = scan_files(&[("src/lib.rs", COUNTER_LIB)]);
    let exports = scan.exports("demo");
    let explanation = exports.explain(&scan, "Orphan");
    assert_eq!(explanation.reason, MissReason::NotRegistered);
    assert_eq!(
        explanation.message,
        "`Orphan` is defined in src/lib.rs:86 as struct `Orphan` (`#[pyclass]`) but never registered: \
         add `m.add_class::<Orphan>()?;` to `fn demo` in src/lib.rs:103"
    );
    assert_eq!(
        explanation.fix.as_deref(),
        Some("m.add_class::<Orphan>()?;")
    );

    let function = exports.explain(&scan, "forgotten");
    assert_eq!(
        function.fix.as_deref(),
        Some("m.add_function(wrap_pyfunction!(forgotten, m)?)?;")
    );
}

#[test]
fn explains_typos_renames_and_hidden_members() {
    let (_project, scan) = scan_files(&[("src/lib.rs", COUNTER_LIB)]);
    let exports = scan.exports("demo");

    let typo = exports.explain(&scan, "Countr");
    assert_eq!(typo.reason, MissReason::Unknown);
    assert_eq!(
        typo.message,
        "no `#[pyclass]`/`#[pyfunction]` named `Countr` — did you mean `Counter`?"
    );

    let rust_name = exports.explain(&scan, "CounterPy");
    assert_eq!(rust_name.reason, MissReason::Elsewhere);
    assert!(
        rust_name.message.contains("Python sees it as `Counter`"),
        "{}",
        rust_name.message
    );

    let renamed = exports.explain(&scan, "Counter.increment");
    assert_eq!(renamed.reason, MissReason::Elsewhere);
    assert!(
        renamed
            .message
            .starts_with("`Counter.increment` is exposed as `Counter.incr`"),
        "{}",
        renamed.message
    );

    let plain = exports.explain(&scan, "Counter.reset");
    assert_eq!(plain.reason, MissReason::NotExposed);
    assert!(
        plain.message.contains("plain `impl CounterPy` block"),
        "{}",
        plain.message
    );

    let hidden = exports.explain(&scan, "Counter.maximum");
    assert_eq!(hidden.reason, MissReason::Elsewhere, "{}", hidden.message);
    let field = exports.explain(&scan, "Counter.incremnt");
    assert_eq!(field.reason, MissReason::Unknown);
    assert!(
        field.message.ends_with("— did you mean `incr`?"),
        "{}",
        field.message
    );

    let in_source = exports.explain(&scan, "Counter.incr");
    assert_eq!(in_source.reason, MissReason::InSource);

    let internal = exports.explain(&scan, "CounterIter");
    assert_eq!(internal.reason, MissReason::Internal);
    assert!(
        internal
            .message
            .contains("only returned from `Counter.__iter__`"),
        "{}",
        internal.message
    );
}

#[test]
fn fields_under_get_all_and_rename_all() {
    let (_project, scan) = scan_files(&[(
        "src/lib.rs",
        r#"use pyo3::prelude::*;

#[pyo3::pyclass(get_all, set_all, rename_all = "camelCase")]
#[derive(Clone)]
pub struct Point {
    x_value: f64,
    #[pyo3(name = "why")]
    y_value: f64,
}

#[pyclass]
struct Secret {
    hidden: u8,
}

#[pyclass(eq, eq_int, rename_all = "SCREAMING_SNAKE_CASE")]
#[derive(PartialEq)]
enum Color {
    DarkRed,
    #[pyo3(name = "GREEN")]
    Lime,
}

#[pymodule]
fn shapes(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Point>()?;
    m.add_class::<Secret>()?;
    m.add_class::<Color>()
}
"#,
    )]);
    let exports = scan.exports("shapes");
    let found = names(&exports);
    for name in [
        "Point.xValue",
        "Point.why",
        "Color.DARK_RED",
        "Color.GREEN",
        "Secret",
    ] {
        assert!(found.contains(&name), "`{name}` missing from {found:?}");
    }
    let hidden = exports.explain(&scan, "Secret.hidden");
    assert_eq!(hidden.reason, MissReason::NotExposed);
    assert_eq!(hidden.fix.as_deref(), Some("#[pyo3(get)]"));
}

#[test]
fn follows_module_files_like_rustc() {
    let (_project, scan) = scan_files(&[
        (
            "src/lib.rs",
            r#"use pyo3::prelude::*;
mod flat;
mod nested;
mod parent;
#[path = "elsewhere/renamed.rs"]
mod moved;
mod inline {
    pub mod deep;
}

#[pymodule]
fn tree(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<flat::Flat>()?;
    m.add_class::<nested::Nested>()?;
    m.add_class::<parent::child::Child>()?;
    m.add_class::<moved::Moved>()?;
    m.add_class::<inline::deep::Deep>()?;
    Ok(())
}
"#,
        ),
        (
            "src/flat.rs",
            "use pyo3::prelude::*;\n#[pyclass]\npub struct Flat;\n",
        ),
        (
            "src/nested/mod.rs",
            "use pyo3::prelude::*;\n#[pyclass]\npub struct Nested;\n",
        ),
        ("src/parent.rs", "pub mod child;\n"),
        (
            "src/parent/child.rs",
            "use pyo3::prelude::*;\n\n#[pyclass]\npub struct Child;\n",
        ),
        (
            "src/elsewhere/renamed.rs",
            "use pyo3::prelude::*;\n#[pyclass]\npub struct Moved;\n",
        ),
        (
            "src/inline/deep.rs",
            "use pyo3::prelude::*;\n#[pyclass]\npub struct Deep;\n",
        ),
    ]);
    assert!(scan.problems.is_empty(), "{:?}", scan.problems);
    assert_eq!(scan.files.len(), 7);
    let exports = scan.exports("tree");
    assert_eq!(
        names(&exports),
        ["Child", "Deep", "Flat", "Moved", "Nested"]
    );
    assert_eq!(
        exported(&exports, "Child").location.to_string(),
        "src/parent/child.rs:4"
    );
    assert_eq!(
        exported(&exports, "Moved").location.file,
        Path::new("src/elsewhere/renamed.rs")
    );
}

#[test]
fn helpers_and_submodules() {
    let (_project, scan) = scan_files(&[
        (
            "src/lib.rs",
            r#"use pyo3::prelude::*;
mod geometry;
mod io;

#[pyfunction]
fn version() -> &'static str {
    "1"
}

#[pymodule]
#[pyo3(name = "toolkit")]
fn toolkit_module(py: Python<'_>, m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(version, m)?)?;
    geometry::register(m)?;
    register_io(py, m)?;
    let extra = io::make_extra(py)?;
    m.add_submodule(&extra)?;
    m.add_wrapped(pyo3::wrap_pymodule!(io::codecs))?;
    Ok(())
}

fn register_io(py: Python<'_>, parent: &Bound<'_, PyModule>) -> PyResult<()> {
    let child = PyModule::new(py, "io")?;
    child.add_function(wrap_pyfunction!(io::read, &child)?)?;
    io::Registry::fill(&child)?;
    parent.add_submodule(&child)
}
"#,
        ),
        (
            "src/geometry.rs",
            r#"use pyo3::prelude::*;

#[pyclass]
pub struct Circle {
    #[pyo3(get)]
    radius: f64,
}

#[pyclass]
pub struct Square;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Circle>()?;
    Ok(())
}
"#,
        ),
        (
            "src/io.rs",
            r#"use pyo3::prelude::*;

#[pyfunction]
pub fn read() -> Vec<u8> {
    Vec::new()
}

#[pyfunction]
pub fn write(_data: Vec<u8>) {}

#[pyfunction]
pub fn encode() {}

#[pyclass]
pub struct Buffer;

pub struct Registry;

impl Registry {
    pub fn fill(module: &Bound<'_, PyModule>) -> PyResult<()> {
        module.add_class::<Buffer>()?;
        Ok(())
    }
}

pub fn make_extra(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    let extra = PyModule::new(py, "extra")?;
    extra.add_function(wrap_pyfunction!(write, &extra)?)?;
    Ok(extra)
}

#[pymodule]
pub fn codecs(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(encode, m)?)
}
"#,
        ),
    ]);
    assert!(scan.problems.is_empty(), "{:?}", scan.problems);
    let exports = scan.exports("toolkit");
    assert_eq!(
        names(&exports),
        [
            "Circle",
            "Circle.radius",
            "codecs",
            "codecs.encode",
            "extra",
            "extra.write",
            "io",
            "io.Buffer",
            "io.read",
            "version"
        ]
    );
    assert_eq!(exported(&exports, "io").kind, NameKind::Module);
    assert_eq!(
        exported(&exports, "io").location.to_string(),
        "src/lib.rs:23"
    );

    let square = exports.explain(&scan, "Square");
    assert_eq!(
        square.message,
        "`Square` is defined in src/geometry.rs:10 as struct `Square` (`#[pyclass]`) but never registered: \
         add `m.add_class::<geometry::Square>()?;` to `fn toolkit_module` in src/lib.rs:12"
    );
    let in_sub = exports.explain(&scan, "io.Square");
    assert_eq!(
        in_sub.fix.as_deref(),
        Some("child.add_class::<geometry::Square>()?;"),
        "{}",
        in_sub.message
    );
    assert!(
        in_sub
            .message
            .contains("`fn register_io` after `child` is made at src/lib.rs:23"),
        "{}",
        in_sub.message
    );
    let moved = exports.explain(&scan, "Buffer");
    assert_eq!(moved.reason, MissReason::Elsewhere);
    assert!(
        moved.message.contains("exported as `io.Buffer`"),
        "{}",
        moved.message
    );
    let typo = exports.explain(&scan, "io.raed");
    assert_eq!(
        typo.message,
        "no `#[pyclass]`/`#[pyfunction]` named `raed` in `io` — did you mean `read`?"
    );
}

#[test]
fn declarative_modules() {
    let (_project, scan) = scan_files(&[(
        "src/lib.rs",
        r#"use pyo3::prelude::*;

#[pyclass]
struct Shared;

#[pyclass]
struct Lonely;

#[pyfunction]
fn double(x: usize) -> usize {
    x * 2
}

pyo3::create_exception!(shop, ShopError, pyo3::exceptions::PyException);

#[pymodule(submodule)]
mod extras {
    #[pymodule_export]
    use super::double;
}

#[pymodule(submodule)]
mod forgotten_module {}

#[pymodule(name = "shop")]
mod shop_module {
    use pyo3::prelude::*;

    #[pymodule_export]
    use super::{Shared, ShopError, double as twice, extras};

    #[pymodule_export]
    const LIMIT: u32 = 10;

    #[pyclass(name = "Item")]
    struct ItemPy {
        #[pyo3(get)]
        price: u32,
    }

    #[pyfunction]
    fn triple(x: usize) -> usize {
        x * 3
    }

    #[pymodule]
    mod inventory {
        use pyo3::prelude::*;

        #[pyfunction]
        fn count() -> usize {
            0
        }
    }

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("answer", 42)?;
        Ok(())
    }
}
"#,
    )]);
    assert!(scan.problems.is_empty(), "{:?}", scan.problems);
    let exports = scan.exports("shop");
    assert_eq!(
        names(&exports),
        [
            "Item",
            "Item.price",
            "LIMIT",
            "Shared",
            "ShopError",
            "answer",
            "double",
            "extras",
            "extras.double",
            "inventory",
            "inventory.count",
            "triple"
        ]
    );
    let lonely = exports.explain(&scan, "Lonely");
    assert_eq!(
        lonely.fix.as_deref(),
        Some("#[pymodule_export] use crate::Lonely;")
    );
    assert!(
        lonely
            .message
            .ends_with("to `mod shop_module` at src/lib.rs:26"),
        "{}",
        lonely.message
    );
    let unattached = exports.explain(&scan, "forgotten_module");
    assert_eq!(unattached.reason, MissReason::NotRegistered);
    assert_eq!(
        unattached.fix.as_deref(),
        Some("#[pymodule_export] use crate::forgotten_module;")
    );
}

#[test]
fn exception_added_under_a_name() {
    let (_project, scan) = scan_files(&[(
        "src/lib.rs",
        r#"use pyo3::prelude::*;
use pyo3::create_exception;

create_exception!(errors, ParseError, pyo3::exceptions::PyValueError);

#[pymodule]
fn errors(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ParseError", m.py().get_type::<ParseError>())?;
    Ok(())
}
"#,
    )]);
    let exports = scan.exports("errors");
    assert_eq!(names(&exports), ["ParseError"]);
    assert_eq!(exported(&exports, "ParseError").kind, NameKind::Class);
}

#[test]
fn exception_with_a_dotted_module_is_read_as_its_arguments() {
    // The shape of a mixed project's extension: the exception's `__module__` is the package's
    // private submodule, written as a dotted expression.
    let (_project, scan) = scan_files(&[(
        "src/lib.rs",
        r#"use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(pkg._native, ParseError, PyException, "Raised when the input is malformed.");
create_exception!(pkg._native, LimitError, pyo3::exceptions::PyValueError);

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ParseError", m.py().get_type::<ParseError>())?;
    Ok(())
}
"#,
    )]);
    assert!(scan.problems.is_empty(), "{:?}", scan.problems);
    let exports = scan.exports("_native");
    assert_eq!(names(&exports), ["ParseError"]);
    let missing = exports.explain(&scan, "LimitError");
    assert_eq!(missing.reason, MissReason::NotRegistered);
    assert_eq!(
        missing.fix.as_deref(),
        Some("m.add(\"LimitError\", m.py().get_type::<LimitError>())?;")
    );
    assert!(
        missing.message.starts_with(
            "`LimitError` is defined in src/lib.rs:6 as exception `LimitError` (`create_exception!`)"
        ),
        "{}",
        missing.message
    );
    assert_eq!(
        exports.explain(&scan, "_native").reason,
        MissReason::Unknown
    );
}

#[test]
fn a_create_exception_that_does_not_read_is_a_problem() {
    let (_project, scan) = scan_files(&[(
        "src/lib.rs",
        "pyo3::create_exception!(pkg, \"not a name\", PyException);\n",
    )]);
    assert_eq!(scan.problems.len(), 1, "{:?}", scan.problems);
    assert!(
        scan.problems[0]
            .to_string()
            .starts_with("src/lib.rs:1: `create_exception!` does not read as"),
        "{}",
        scan.problems[0]
    );
    assert!(scan.classes.is_empty());
}

#[test]
fn a_file_that_does_not_parse_is_a_problem_not_an_error() {
    let (_project, scan) = scan_files(&[
        (
            "src/lib.rs",
            r#"use pyo3::prelude::*;
mod broken;
mod missing;

#[pyfunction]
fn fine() {}

#[pymodule]
fn partial(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(fine, m)?)
}
"#,
        ),
        ("src/broken.rs", "fn oops( {\n"),
    ]);
    let problems: Vec<String> = scan.problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].starts_with("src/broken.rs:1: does not parse"),
        "{problems:?}"
    );
    assert!(
        problems[1].starts_with("src/lib.rs:3: `mod missing;` has no file"),
        "{problems:?}"
    );
    assert_eq!(names(&scan.exports("partial")), ["fine"]);
}

#[test]
fn no_module_with_the_extension_name() {
    let (_project, scan) = scan_files(&[("src/lib.rs", COUNTER_LIB)]);
    let exports = scan.exports("other");
    assert!(exports.names.is_empty());
    let explanation = exports.explain(&scan, "Counter");
    assert_eq!(explanation.reason, MissReason::NoModule);
    assert_eq!(
        explanation.message,
        "no `#[pymodule]` named `other` in the sources (found: `demo`)"
    );
}

#[test]
fn private_class_in_another_module_needs_visibility() {
    let (_project, scan) = scan_files(&[
        (
            "src/lib.rs",
            "use pyo3::prelude::*;\nmod hidden;\n\n#[pymodule]\nfn vis(m: &Bound<'_, PyModule>) -> PyResult<()> {\n    Ok(())\n}\n",
        ),
        (
            "src/hidden.rs",
            "use pyo3::prelude::*;\n#[pyclass]\nstruct Private;\n",
        ),
    ]);
    let explanation = scan.exports("vis").explain(&scan, "Private");
    assert!(
        explanation
            .message
            .ends_with("to `fn vis` in src/lib.rs:5 (and make `Private` `pub(crate)` so that it is visible there)"),
        "{}",
        explanation.message
    );
    assert_eq!(
        explanation.fix.as_deref(),
        Some("m.add_class::<hidden::Private>()?;")
    );
}

#[test]
fn module_option_is_not_a_registration() {
    let (_project, scan) = scan_files(&[(
        "src/lib.rs",
        "use pyo3::prelude::*;\n\n#[pyclass(module = \"app.models\")]\nstruct Model;\n\n#[pymodule]\nfn app(m: &Bound<'_, PyModule>) -> PyResult<()> {\n    Ok(())\n}\n",
    )]);
    let explanation = scan.exports("app").explain(&scan, "Model");
    assert!(
        explanation
            .message
            .ends_with("(`module = \"app.models\"` only sets `__module__`; it registers nothing)"),
        "{}",
        explanation.message
    );
}

/// The projects `cargo pyo3 new` makes are verified by this scanner: it must read them right.
#[test]
fn scaffold_templates() {
    for (template, extension) in [
        (
            include_str!("../../templates/pure/src/lib.rs"),
            "scaffolded",
        ),
        (include_str!("../../templates/mixed/src/lib.rs"), "_core"),
    ] {
        let source = template.replace("{{module_name}}", "scaffolded");
        let (_project, scan) = scan_files(&[("src/lib.rs", &source)]);
        let exports = scan.exports(extension);
        assert_eq!(
            names(&exports),
            [
                "Counter",
                "Counter.__new__",
                "Counter.count",
                "Counter.increment",
                "double"
            ],
            "{extension}"
        );
        assert!(exports.unregistered.is_empty() && exports.internal.is_empty());
    }
}
