"""Type stubs for the Rust extension `{{module_name}}._core`; keep them in step with src/lib.rs."""

class Counter:
    """Counts up from zero."""

    def __init__(self) -> None: ...
    def increment(self) -> int:
        """Adds one and returns the new count."""
    @property
    def count(self) -> int: ...

def double(value: int) -> int:
    """Returns twice `value`."""
