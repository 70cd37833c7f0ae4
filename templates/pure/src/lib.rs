//! The Python module `{{module_name}}`, written in Rust with PyO3.

use pyo3::prelude::*;

/// Counts up from zero.
// `module` makes its repr and pickle name `{{module_name}}.Counter`, not `builtins.Counter`.
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

/// A Python module written in Rust.
// Every class and function Python should see is added here; defining it is not enough.
#[pymodule]
fn {{module_name}}(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Counter>()?;
    module.add_function(wrap_pyfunction!(double, module)?)?;
    Ok(())
}
