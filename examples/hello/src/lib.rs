//! A small PyO3 extension used as the example for `cargo pyo3 dev`.
use pyo3::prelude::*;

/// A counter that remembers how far it got.
#[pyclass]
struct Counter {
    value: i64,
}

#[pymethods]
impl Counter {
    #[new]
    #[pyo3(signature = (start = 0))]
    fn new(start: i64) -> Self {
        Counter { value: start }
    }

    /// Adds `step` and returns the new value.
    #[pyo3(signature = (step = 1))]
    fn increment(&mut self, step: i64) -> i64 {
        self.value += step;
        self.value
    }

    #[getter]
    fn value(&self) -> i64 {
        self.value
    }
}

/// Greets someone by name.
#[pyfunction]
fn greet(name: &str) -> String {
    format!("Hello, {name}!")
}

#[pymodule]
fn hello(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Counter>()?;
    m.add_function(wrap_pyfunction!(greet, m)?)?;
    Ok(())
}
