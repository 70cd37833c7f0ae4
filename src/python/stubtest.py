# Run by `cargo pyo3 verify --stubs` as `python -I <private dir>/stubtest.py`, from an empty
# temporary directory (src/python.rs), with the python of the environment that has mypy: the
# project's venv when it has mypy, else the tools venv `verify` provisioned.
# Input (stdin, JSON): {"modules": ["pkg._core"], "extension": "pkg._core", "mypy_path": "/…/python",
#   "site_packages": ["/…/.venv/lib/python3.11/site-packages"] or [],
#   "ignore_errors_in": ["pkg"], "flags": ["--ignore-disjoint-bases"]}
# Output (stdout, JSON): {"mypy_version": "…", "errors": [...], "fatal": null or the text
#   stubtest printed when it could not check at all}.
#
# stubtest is run through its own entry point (`test_stubs`), with its own options, filters and
# allowlist handling; only the reporting is taken over: every error stubtest would print is
# recorded from its `Error` object instead, so nothing here parses stubtest's text.
import contextlib
import inspect
import io
import json
import os
import site
import sys
import tempfile
import types

request = json.load(sys.stdin)

from mypy import nodes, stubtest  # noqa: E402
from mypy.version import __version__ as mypy_version  # noqa: E402

# Nothing is written into the project's venv: no `.pyc` of the module, of its `.pth` hooks or of
# anything it imports (the venv must be byte-identical afterwards).
sys.dont_write_bytecode = True

# The project's venv, after this environment's own packages (mypy is already imported):
# `site.addsitedir` also runs the venv's `.pth` files, which an editable install needs
# (`PYTHONPATH` would skip them: measured, `import pkg` then fails).
for directory in request["site_packages"]:
    site.addsitedir(directory)
# mypy reads the stubs from the project's sources, so a mismatch names the file the user edits.
os.environ["MYPYPATH"] = request["mypy_path"]

# CPython fills one type slot with two methods: a PyO3 `__add__` also gives the class `__radd__`,
# a `__setitem__` also `__delitem__` (docs/verify.md).
SLOT_SIBLINGS = {}
for operator in ("add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "divmod", "pow",
                 "lshift", "rshift", "and", "xor", "or"):
    SLOT_SIBLINGS[f"__{operator}__"] = f"__r{operator}__"
    SLOT_SIBLINGS[f"__r{operator}__"] = f"__{operator}__"
for first, second in (("__setitem__", "__delitem__"), ("__setattr__", "__delattr__"),
                      ("__set__", "__delete__")):
    SLOT_SIBLINGS[first] = second
    SLOT_SIBLINGS[second] = first


def stub_owner(error):
    """The stub's class (or module) that holds `error`'s object."""
    node = stubtest.get_stub(error.object_path[0])
    for part in error.object_path[1:-1]:
        symbol = node.names.get(part) if node is not None else None
        node = symbol.node if symbol is not None else None
    return node


def in_stub_beside(error, name):
    """Whether the stub's class (or module) that holds `error`'s object also has `name`."""
    return name in getattr(stub_owner(error), "names", {})


def is_slot_wrapper(error):
    """A method CPython made for a type slot: its parameters are CPython's (`value`, `key`, `/`)."""
    return isinstance(error.runtime_object, types.WrapperDescriptorType)


def runtime_owner(error):
    """The runtime object that holds `error`'s object: its class, or its module."""
    owner = sys.modules.get(error.object_path[0])
    for part in error.object_path[1:-1]:
        owner = getattr(owner, part, None)
    return owner


def has_var_positional(runtime):
    try:
        signature = inspect.signature(runtime)
    except (TypeError, ValueError):
        return False
    return any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in signature.parameters.values())


# What PyO3 generates that a correct stub does not (and need not) say the same way. Each is
# decided from the objects stubtest compared, never from its wording alone; docs/verify.md lists
# the kinds and what the stub should say.
def pyo3_artefact(error):
    path = error.object_path
    last = path[-1] if len(path) > 1 else ""
    runtime = error.runtime_object
    # A `#[pyclass]` without `subclass` lacks Py_TPFLAGS_BASETYPE.
    if (
        isinstance(runtime, type)
        and not runtime.__flags__ & (1 << 10)
        and "cannot be subclassed" in error.message
    ):
        return "final"
    # `#[new]` is the type's `__new__`; a stub that declares `__init__` instead is how PyO3's own
    # guide writes one, and stubtest then compares each against the other's parameters.
    if last in ("__init__", "__new__") and len(path) >= 3:
        owner = runtime_owner(error)
        stub = stub_owner(error)
        names = getattr(stub, "names", {})
        if (
            isinstance(owner, type)
            and isinstance(owner.__dict__.get("__new__"), types.BuiltinFunctionType)
            and "__init__" in names
            and "__new__" not in names
        ):
            return "new-as-init"
    # PyO3 writes a Rust default it cannot render as a Python literal as `...` in the text
    # signature; the stub's value is the real one.
    if "default value of Ellipsis" in error.message:
        return "ellipsis-default"
    # A dunder the Rust takes as `*args` (`__exit__(&self, _args: &Bound<PyTuple>)`): the stub
    # names what Python passes.
    if (
        last.startswith("__")
        and last.endswith("__")
        and callable(runtime)
        and has_var_positional(runtime)
    ):
        return "varargs-dunder"
    return None


recorded = []
# Errors left out on purpose: stubtest still counts them in its exit code.
left_out = []


def describe_stub(error):
    # A class is shown as mypy's `<TypeInfo pkg.Counter>` otherwise.
    if isinstance(error.stub_object, nodes.TypeInfo):
        return f"class {error.stub_object.name}"
    return error.stub_desc


def record(error, concise=False):
    stub_file = None
    stub_node = stubtest.get_stub(error.object_path[0])
    if stub_node is not None:
        stub_file = stub_node.path or None
    stub_missing = isinstance(error.stub_object, stubtest.Missing)
    runtime_missing = isinstance(error.runtime_object, stubtest.Missing)
    name = error.object_desc
    # A module that declares no `__all__` in its stub says nothing about it: PyO3's declarative
    # `#[pymodule] mod` sets one on every module (docs/verify.md).
    if stub_missing and len(error.object_path) == 2 and error.object_path[1] == "__all__":
        left_out.append(name)
        return ""
    # The extension module behind a package stub (pyo3-stub-gen writes `pkg/__init__.pyi` for a
    # `pkg/__init__.py` that re-exports `pkg.pkg`): its names are checked through the package.
    # Only then: when the extension has a stub of its own, mypy not finding it is a failure, not
    # a pass that checked nothing.
    if (
        stub_missing
        and error.object_path == [request["extension"]]
        and request["extension"] not in request["modules"]
    ):
        left_out.append(name)
        return ""
    last = error.object_path[-1]
    if (
        stub_missing
        and is_slot_wrapper(error)
        and last in SLOT_SIBLINGS
        and in_stub_beside(error, SLOT_SIBLINGS[last])
    ):
        left_out.append(name)
        return ""
    # A slot method's parameters are named and made positional-only by CPython, whatever the Rust
    # says; a stub's `other` for CPython's `value, /` is no mistake. Elsewhere, a `/` is real.
    if "should be positional" in error.message and is_slot_wrapper(error):
        left_out.append(name)
        return ""
    # A type alias exists for type checkers only: pyo3-stub-gen writes them into its stubs, and
    # Python has nothing to compare them with.
    if runtime_missing and isinstance(error.stub_object, nodes.TypeAlias):
        left_out.append(name)
        return ""
    recorded.append(
        {
            "module": error.object_path[0],
            "path": error.object_path[1:],
            "name": name,
            "message": error.message,
            "stub": None if stub_missing else describe_stub(error),
            "runtime": None if runtime_missing else error.runtime_desc,
            "stub_file": stub_file,
            "stub_line": None if stub_missing else getattr(error.stub_object, "line", None),
            "artefact": None if stub_missing or runtime_missing else pyo3_artefact(error),
        }
    )
    return ""


stubtest.Error.get_description = record
stubtest.safe_print = lambda text: None

with tempfile.TemporaryDirectory() as scratch:
    config = os.path.join(scratch, "mypy.ini")
    with open(config, "w", encoding="utf-8") as file:
        file.write("[mypy]\n")
        # Parent packages without a stub are read from their `.py` files, which are code, not
        # stubs: maturin's own `__init__.py` template has errors mypy reports.
        for module in request["ignore_errors_in"]:
            file.write(f"[mypy-{module}]\nignore_errors = True\n")
    flags = [
        flag
        for flag in request["flags"]
        # An older mypy in the project's venv may not know every flag.
        if flag != "--ignore-disjoint-bases" or hasattr(stubtest.Error, "is_disjoint_base_related")
    ]
    # The project's own allowlists, as stubtest reads them; entries that match nothing are
    # stubtest's concern for the project's CI, not a failure of this check.
    for allowlist in request.get("allowlists", []):
        flags += ["--allowlist", allowlist]
    if request.get("allowlists"):
        flags.append("--ignore-unused-allowlist")
    arguments = stubtest.parse_options([*flags, "--mypy-config-file", config, *request["modules"]])
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        try:
            code = stubtest.test_stubs(arguments)
        except SystemExit as exit:
            code = exit.code

# A non-zero exit with no error recorded or left out is stubtest's own failure: a stub mypy
# cannot read, bad options. Errors left out cannot hide one: `test_stubs` returns as soon as
# `build_stubs` fails, before it compares (and so reports) anything, and every error it counts
# passes through `record`; the other way to a non-zero exit, unused allowlist entries, is turned
# off with `--ignore-unused-allowlist` whenever an allowlist is passed (read in mypy 2.4.1's
# `stubtest.test_stubs`).
fatal = None
if code and not recorded and not left_out:
    fatal = printed.getvalue().strip() or f"stubtest exited with {code}"
json.dump({"mypy_version": mypy_version, "errors": recorded, "fatal": fatal}, sys.stdout)
