# What an interpreter is, for `--python` with several interpreters (src/interpreter/discover.rs):
# its version, the file behind the command that ran it (a pyenv shim runs another), and its
# implementation. Reads nothing; prints one JSON object.
import json
import platform
import sys

print(
    json.dumps(
        {
            "version": platform.python_version(),
            "executable": sys.executable,
            "implementation": sys.implementation.name,
        }
    )
)
