# The pytest plugin of `cargo pyo3 test`, loaded into the test process with `-p` from a private
# temporary directory (never the project). It records, after the session, which file each of the
# project's extension modules was loaded from, its sha256, and why that file won: the `sys.path`
# entry it was found under and what put that entry there (a `conftest.py`, a `.pth` file,
# `PYTHONPATH`, pytest's `pythonpath` setting, `python -m`'s current directory, or pytest while
# collecting). It also counts the test outcomes. The request is a JSON file named by the
# CARGO_PYO3_PYTEST_PROOF variable: {"modules": ["pkg.pkg", ...], "output": "<path>"}; module
# names are data, only ever passed to importlib.import_module. The report is written as JSON to
# "output" (an xdist worker's to "output.<worker id>"). Nothing else is changed.
import hashlib
import importlib
import json
import os
import re
import site
import sys

import pytest


def _wait_for_the_proof():
    """When `cargo pyo3 test` started pytest while it proved the build, the variable names a FIFO:
    pytest waits here, at the import of its `-p` plugins (before the conftest files and the
    tests import anything), for the line that says the proof is done. End of file instead means
    the run is not wanted (the build changed, or `cargo pyo3` ended), and it leaves at once. The
    variable goes, so pytest-xdist workers started later do not wait."""
    fifo = os.environ.pop("CARGO_PYO3_PYTEST_PROOF_WAIT", None)
    if fifo is None:
        return
    with open(fifo, encoding="utf-8") as wait:
        if not wait.readline():
            os._exit(0)


_wait_for_the_proof()
with open(os.environ["CARGO_PYO3_PYTEST_PROOF"], encoding="utf-8") as _request_file:
    _REQUEST = json.load(_request_file)

# Imported by `-p` before any conftest.py: what is on sys.path now came from the interpreter or
# pytest's `pythonpath` setting.
_AT_START = list(sys.path)
# sys.path entry -> what added it after the start.
_ADDED_BY = {}
_COUNTS = {
    "passed": 0,
    "failed": 0,
    "errors": 0,
    "skipped": 0,
    "xfailed": 0,
    "xpassed": 0,
    "deselected": 0,
    "collected": 0,
}


def _note_new_entries(origin):
    for entry in sys.path:
        if entry not in _AT_START and entry not in _ADDED_BY:
            _ADDED_BY[entry] = origin


# The session's config, for the `pythonpath` setting.
_CONFIG = {}


def pytest_configure(config):
    _CONFIG["config"] = config


def pytest_plugin_registered(plugin, manager):
    # A conftest.py is registered right after it is imported: pytest's own `prepend` insertion
    # for it and whatever its code did to sys.path happened just before.
    path = getattr(plugin, "__file__", None)
    if path and os.path.basename(path) == "conftest.py":
        _note_new_entries({"kind": "conftest", "file": os.path.abspath(path)})


def pytest_collection_finish(session):
    _COUNTS["collected"] = len(session.items)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    # Under pytest-xdist the controller collects nothing itself; every worker collects all.
    _COUNTS["collected"] = max(_COUNTS["collected"], len(ids))


def pytest_deselected(items):
    _COUNTS["deselected"] += len(items)


# Modules a test file could not import while it was collected: what the venv lacks.
_MISSING = []
_NO_MODULE = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")


def pytest_collectreport(report):
    if report.failed:
        _COUNTS["errors"] += 1
        missing = _NO_MODULE.search(getattr(report, "longreprtext", "") or "")
        if missing:
            _MISSING.append({"module": missing.group(1), "nodeid": report.nodeid})


def pytest_runtest_logreport(report):
    wasxfail = hasattr(report, "wasxfail")
    if report.when == "call":
        if wasxfail:
            _COUNTS["xfailed" if report.skipped else "xpassed"] += 1
        elif report.passed:
            _COUNTS["passed"] += 1
        elif report.failed:
            _COUNTS["failed"] += 1
        else:
            _COUNTS["skipped"] += 1
    elif report.failed:
        _COUNTS["errors"] += 1
    elif report.skipped and report.when == "setup":
        _COUNTS["xfailed" if wasxfail else "skipped"] += 1


def _pth_listing(entry):
    """The `.pth` file in a site directory that lists `entry`, if any."""
    directories = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        directories.append(site.getusersitepackages())
    target = os.path.realpath(entry)
    for directory in directories:
        try:
            names = sorted(name for name in os.listdir(directory) if name.endswith(".pth"))
        except OSError:
            continue
        for name in names:
            try:
                with open(os.path.join(directory, name), encoding="utf-8") as pth:
                    lines = pth.read().splitlines()
            except (OSError, UnicodeDecodeError):
                continue
            for line in lines:
                line = line.strip()
                if not line or line.startswith(("#", "import ", "import\t")):
                    continue
                if os.path.realpath(os.path.join(directory, line)) == target:
                    return os.path.join(directory, name)
    return None


def _ini_pythonpath(entry):
    """The config file whose `pythonpath` setting lists `entry`, if any. pytest (9) inserts those
    entries before it imports `-p` plugins, so they are on `_AT_START` with the interpreter's."""
    config = _CONFIG.get("config")
    if config is None:
        return None
    try:
        listed = config.getini("pythonpath")
    except ValueError:  # a pytest older than 7 has no such setting
        return None
    target = os.path.realpath(entry)
    if any(os.path.realpath(str(path)) == target for path in listed):
        return str(config.inipath) if config.inipath else None
    return None


def _origin(entry):
    ini = _ini_pythonpath(entry)
    if ini is not None:
        return {"kind": "ini_pythonpath", "file": ini}
    if entry in _ADDED_BY:
        return _ADDED_BY[entry]
    if entry not in _AT_START:
        return {"kind": "collection", "file": None}
    pth = _pth_listing(entry)
    if pth:
        return {"kind": "pth", "file": pth}
    pythonpath = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if entry and any(os.path.realpath(p) == os.path.realpath(entry) for p in pythonpath if p):
        return {"kind": "pythonpath", "file": None}
    if entry in ("", ".") or os.path.realpath(entry) == os.path.realpath(os.getcwd()):
        return {"kind": "cwd", "file": None}
    return {"kind": "interpreter", "file": None}


def _winning_entry(path, top_level):
    """The first sys.path entry that holds `path` under the top-level package's directory."""
    real = os.path.realpath(path)
    for index, entry in enumerate(sys.path):
        base = os.path.realpath(entry or os.getcwd())
        candidate = os.path.join(base, top_level)
        if real == candidate or real.startswith(candidate + os.sep) or real.startswith(
            candidate + "."
        ):
            return index, entry
    return None, None


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _record(name):
    record = {"module": name, "imported_by": "tests", "file": None, "sha256": None, "error": None}
    module = sys.modules.get(name)
    if module is None:
        # The tests never imported it: what the test process would load is the next best fact.
        record["imported_by"] = "plugin"
        try:
            module = importlib.import_module(name)
        except BaseException as error:  # an import can raise anything
            record["error"] = f"{type(error).__name__}: {error}"
            return record
    path = getattr(module, "__file__", None)
    if not path:
        record["error"] = "the module has no `__file__`"
        return record
    record["file"] = os.path.realpath(path)
    try:
        record["sha256"] = _sha256(path)
    except OSError as error:
        record["error"] = f"cannot read `{path}`: {error}"
    index, entry = _winning_entry(path, name.split(".")[0])
    record["sys_path_index"] = index
    record["sys_path_entry"] = entry
    record["added_by"] = _origin(entry) if entry is not None else None
    return record


def pytest_sessionfinish(session, exitstatus):
    _note_new_entries({"kind": "collection", "file": None})
    # Under pytest-xdist the tests run in worker processes, which load this plugin too (they
    # get the same `-p`): each writes its own report beside the controller's.
    worker = getattr(session.config, "workerinput", {}).get("workerid")
    output = _REQUEST["output"] if worker is None else f"{_REQUEST['output']}.{worker}"
    report = {
        "worker": worker,
        "exit_status": int(exitstatus),
        "counts": _COUNTS,
        "missing_modules": _MISSING,
        "modules": [_record(name) for name in _REQUEST["modules"]],
        "sys_path": list(sys.path),
        "cwd": os.getcwd(),
    }
    with open(output, "w", encoding="utf-8") as handle:
        json.dump(report, handle)
