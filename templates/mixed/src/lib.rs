//! The extension module `{{module_name}}._core`, written in Rust with PyO3. The Python package in
//! `python/{{module_name}}` re-exports what it needs from here.

use pyo3::prelude::*;

/// Counts up from zero.
// `module` names the package that re-exports it: repr and pickle say `{{module_name}}.Counter`.
#[pyclass(module = "{{module_name}}")]
struct Counter {
    count: u64,
}

#[pymethods]
impl Counter {
    #[new]
    fn new() -> Self {
        Counter { count: 0 }
    }

    /// Adds one and returns the new count.
    fn increment(&mut self) -> u64 {
        self.count += 1;
        self.count
    }

    #[getter]
    fn count(&self) -> u64 {
        self.count
    }
}

/// Returns twice `value`.
#[pyfunction]
fn double(value: i64) -> i64 {
    value * 2
}

/// The compiled part of `{{module_name}}`.
// The function's name must be the last part of `module-name` in pyproject.toml
// (`{{module_name}}._core`): Python looks for `PyInit__core` in the shared library. Every class
// and function Python should see is added here; defining it is not enough.
#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Counter>()?;
    module.add_function(wrap_pyfunction!(double, module)?)?;
    Ok(())
}
