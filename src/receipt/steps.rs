//! The steps of `cargo pyo3 dev`, in the order they run: the keys of the receipt's `timings_ms`
//! besides `total`. A file of its own, with no imports, so that the benchmark
//! (`benches/dev_loop.rs`) can include it with `#[path]` instead of keeping a copy.

// Only the benchmark and a test of `Timings` read it; the binary itself does not.
#[cfg_attr(not(test), expect(dead_code))]
pub const STEPS: [&str; 12] = [
    "discover",
    "lock",
    "venv",
    "guard",
    "digest",
    "clean",
    "build",
    "inspect",
    "dependencies",
    "install",
    "prove",
    "receipt",
];
