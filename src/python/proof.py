# Run by `cargo pyo3` with the venv's python as `python -I <private dir>/proof.py`, from an
# empty temporary directory (src/python.rs).
# Input (stdin, JSON): {"modules": ["pkg", "pkg._core", ...], "maps": "/proc/self/maps" or null,
# "site": true when it was started with -S ahead of its input}.
# Output (stdout, JSON): the interpreter, each module's __file__ or import error, and the
# shared objects actually mapped into this process. Names arrive as data and are only ever
# passed to importlib.import_module, never evaluated.
import importlib
import os
import sys


class JsonDefaults:
    """The settings `_json.make_scanner` reads from a `json.JSONDecoder`: its defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name):
        return float(name.lower().replace("infinity", "inf"))


def json_codec():
    """(load, dump) for stdin and stdout. `import json` costs each start about 8 ms, most of it
    `re`, which only its pure-Python fallbacks use; `_json` is CPython's C codec underneath, the
    functions `json` itself calls. An interpreter without it, or whose signatures differ, gets
    `json`."""
    try:
        import _json

        scan = _json.make_scanner(JsonDefaults())
        encode = _json.make_encoder(
            None, None, _json.encode_basestring_ascii, None, ":", ",", False, False, True
        )
        scan("[]", 0), encode([], 0)
    except Exception:
        import json

        return json.load, json.dump

    def load(stream):
        text = stream.read().strip()
        value, end = scan(text, 0)
        if end != len(text):
            raise ValueError(f"extra data after the JSON value at {end}")
        return value

    def dump(value, stream):
        stream.write("".join(encode(value, 0)))

    return load, dump


load_json, dump_json = json_codec()


def name_not_found(error):
    """The name of a failed `from module import name`, when that is the failure: Python 3.12
    keeps it as `name_from`; before that only CPython's message says it."""
    if type(error) is not ImportError or error.name is None:
        return None
    name = getattr(error, "name_from", None)
    if name is None:
        import re

        match = re.match(r"cannot import name '([^']+)' from '", str(error))
        name = match.group(1) if match else None
    return name


request = load_json(sys.stdin)
if request.get("site") and sys.flags.no_site:
    # Started with -S before the install it proves (src/python.rs): `site` runs now, after the
    # install, so the `.pth` files and packages it wrote are seen as by an interpreter started
    # now. At a start `site` runs before the script's own `sys.path[0]` is put in front, which
    # it would otherwise make absolute.
    first = None
    if not sys.flags.isolated and not getattr(sys.flags, "safe_path", False):
        first = sys.path.pop(0)
    import site

    site.main()
    if first is not None:
        sys.path.insert(0, first)
    importlib.invalidate_caches()
modules = []
for name in request["modules"]:
    try:
        module = importlib.import_module(name)
        modules.append({"name": name, "file": getattr(module, "__file__", None), "error": None})
    except BaseException as error:  # an import can raise anything, SystemExit included
        import traceback

        # The innermost frame outside the import machinery is the line that failed.
        frames = [
            frame
            for frame in traceback.extract_tb(error.__traceback__)
            if not frame.filename.startswith("<frozen ")
        ]
        origin = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else None
        modules.append(
            {
                "name": name,
                "file": None,
                "error": f"{type(error).__name__}: {error}",
                "error_type": type(error).__name__,
                "missing": getattr(error, "name", None) if isinstance(error, ImportError) else None,
                "name_not_found": name_not_found(error),
                "origin": origin,
            }
        )

# The file listing this process's mappings, where the platform has one (Linux's /proc/self/maps,
# chosen by src/platform.rs); null elsewhere, and the receipt says why.
mapped = None
mapped_error = None
if request.get("maps"):
    try:
        with open(request["maps"]) as maps:
            mapped = []
            for line in maps:
                fields = line.split(None, 5)
                if len(fields) == 6 and fields[5].strip().endswith((".so", ".pyd")):
                    path = fields[5].strip()
                    if path not in mapped:
                        mapped.append(path)
    except OSError as error:
        mapped = None
        mapped_error = str(error)

dump_json(
    {
        "version": ".".join(str(part) for part in sys.version_info[:3]),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "sys_path": sys.path,
        "cwd": os.getcwd(),
        "pythonpath": [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry],
        "modules": modules,
        "mapped": mapped,
        "mapped_error": mapped_error,
    },
    sys.stdout,
)
