# Run by `cargo pyo3 verify` with the venv's python as `python -I <private dir>/verify.py`, from
# an empty temporary directory (src/python.rs).
# Input (stdin, JSON): {"module": "pkg", "extension": "pkg._core", "names": ["Counter", "Counter.incr"]}
# `module` is the top-level package users import; `extension` the compiled module inside it.
# Output (stdout, JSON): the import result, the files loaded, and for each name whether every
# part of it is an attribute of the module (a dotted name walks through submodules and classes),
# and what kind of object it is.
# Names arrive as data: they are validated as dotted identifiers before this runs, and are only
# ever passed to getattr, never evaluated.
import importlib
import inspect
import json
import sys
import types

METHOD_TYPES = (
    staticmethod,
    classmethod,
    types.BuiltinFunctionType,
    types.FunctionType,
    types.MethodDescriptorType,
    types.ClassMethodDescriptorType,
    types.WrapperDescriptorType,
    types.MethodWrapperType,
)
MISSING = object()


def error_text(error):
    return f"{type(error).__name__}: {error}"


def import_file(name):
    """Imports a module; returns (module, file, error)."""
    try:
        module = importlib.import_module(name)
    except BaseException as error:  # an import can raise anything, SystemExit included
        return None, None, error_text(error)
    return module, getattr(module, "__file__", None), None


def kind_of(parent, name, value):
    if isinstance(value, types.ModuleType):
        return "module"
    if isinstance(parent, type):
        # The raw class attribute tells a method from a property without running either.
        try:
            raw = inspect.getattr_static(parent, name)
        except AttributeError:
            raw = value
        if isinstance(raw, type):
            return "class"
        if isinstance(raw, METHOD_TYPES):
            return "method"
        return "attribute"
    if isinstance(value, type):
        return "class"
    if callable(value):
        return "function"
    return "attribute"


def look_up(root, dotted):
    """Walks `a.b.c` from `root`; returns a result entry."""
    current = root
    walked = []
    kind = "module"
    for part in dotted.split("."):
        try:
            value = getattr(current, part, MISSING)
        except BaseException as error:  # a descriptor may raise anything
            return {"found": False, "kind": None, "missing": ".".join(walked + [part]), "error": error_text(error)}
        if value is MISSING:
            return {"found": False, "kind": None, "missing": ".".join(walked + [part]), "error": None}
        kind = kind_of(current, part, value)
        walked.append(part)
        current = value
    return {"found": True, "kind": kind, "missing": None, "error": None}


request = json.load(sys.stdin)
module, module_file, import_error = import_file(request["module"])
extension = None
extension_file = None
if module is not None and request["extension"] != request["module"]:
    extension, extension_file, _ = import_file(request["extension"])
elif module is not None:
    extension, extension_file = module, module_file

results = []
for name in request["names"]:
    if module is None:
        results.append({"name": name, "found": False, "kind": None, "missing": name, "error": None, "found_in": None})
        continue
    # Where users import it first: the top-level package (names defined in Python count), then
    # the extension module, which the package may not re-export.
    result = look_up(module, name)
    result["found_in"] = request["module"] if result["found"] else None
    if not result["found"] and extension is not None and extension is not module:
        in_extension = look_up(extension, name)
        if in_extension["found"]:
            result = in_extension
            result["found_in"] = request["extension"]
    result["name"] = name
    results.append(result)

json.dump(
    {
        "import_error": import_error,
        "module_file": module_file,
        "extension_file": extension_file,
        "names": results,
    },
    sys.stdout,
)
