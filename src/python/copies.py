# Run by `cargo pyo3 doctor` with the venv's python, from one vantage point (a working
# directory and flags chosen by the caller; src/python.rs puts "" back as sys.path[0] when not
# isolated, as `python -c` has it). Input (stdin, JSON): {"module": "pkg._core"}.
# Output (stdout, JSON): every file along sys.path that could be imported as that module, and
# the one Python would pick. Finding the winner uses PathFinder only: no package code runs.
import importlib.machinery
import json
import os
import sys

request = json.load(sys.stdin)
parts = request["module"].split(".")
suffixes = importlib.machinery.EXTENSION_SUFFIXES

copies = []
for entry in sys.path:
    directory = os.path.join(os.path.abspath(entry or os.getcwd()), *parts[:-1])
    for suffix in suffixes:
        candidate = os.path.join(directory, parts[-1] + suffix)
        if os.path.isfile(candidate):
            copies.append({"path": candidate, "sys_path_entry": entry})

winner = None
error = None
search = None
try:
    for index in range(len(parts)):
        name = ".".join(parts[: index + 1])
        spec = importlib.machinery.PathFinder.find_spec(name, search)
        if spec is None:
            error = f"`{name}` is not importable"
            break
        if index == len(parts) - 1:
            winner = spec.origin
        else:
            search = spec.submodule_search_locations
except Exception as problem:  # a broken sys.path entry must not hide the rest
    error = f"{type(problem).__name__}: {problem}"

json.dump(
    {"copies": copies, "winner": winner, "error": error, "cwd": os.getcwd(), "sys_path": sys.path},
    sys.stdout,
)
