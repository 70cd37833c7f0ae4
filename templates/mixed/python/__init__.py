"""The Python package `{{module_name}}`; its compiled part is the extension `{{module_name}}._core`."""

from ._core import Counter, double

__all__ = ["Counter", "double"]
