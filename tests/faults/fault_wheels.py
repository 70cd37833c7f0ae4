"""What the Python fault executables of this folder share: the `--out` directory maturin was
given, and a wheel writer whose RECORD is true to its entries, so that the one thing wrong
with a wheel is the thing a fault puts there.

A fault finds this file beside its own real path: Python puts the directory of a script it
runs, with symlinks resolved, first on `sys.path`, and the tests link the faults from here.
"""

import base64
import csv
import hashlib
import io
import os
import sys
import zipfile

DIST_INFO = "purefix-0.1.0.dist-info/"


def out_dir():
    """The `--out` directory of the `maturin build` command line this fault was given."""
    return sys.argv[sys.argv.index("--out") + 1]


def fault_name():
    """The fault's own file name (it runs linked as the tool it replaces)."""
    return os.path.basename(os.path.realpath(sys.argv[0]))


def write_wheel(path, files):
    """Writes a `purefix 0.1.0` wheel at `path` holding `files` (entry name to bytes), with its
    METADATA, WHEEL and a RECORD that lists every entry with its true hash and size."""
    files = dict(files)
    files[DIST_INFO + "METADATA"] = b"Metadata-Version: 2.1\nName: purefix\nVersion: 0.1.0\n"
    files[DIST_INFO + "WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: {}\nRoot-Is-Purelib: false\nTag: py3-none-any\n".format(
            fault_name()
        ).encode()
    )
    record = io.StringIO()
    rows = csv.writer(record, lineterminator="\n")
    for entry, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        rows.writerow([entry, "sha256=" + digest.decode(), len(data)])
    rows.writerow([DIST_INFO + "RECORD", "", ""])
    files[DIST_INFO + "RECORD"] = record.getvalue().encode()
    with zipfile.ZipFile(path, "w") as wheel:
        for entry, data in files.items():
            wheel.writestr(entry, data)


def write_pure_wheel(files):
    """`write_wheel` into the `--out` directory, under the name of a pure-Python wheel."""
    write_wheel(os.path.join(out_dir(), "purefix-0.1.0-py3-none-any.whl"), files)
