"""Writes the JSON fixtures of engine/testdata that the make_*_fixtures.py scripts compute."""

import json
import os

TESTDATA = os.path.join(os.path.dirname(__file__), "..", "testdata")


def write(name, data, compact=False):
    """Writes data as engine/testdata/<name>, one value a line, or on one line without blanks
    when compact (for files that would be large), and says where and how big."""
    path = os.path.join(TESTDATA, name)
    with open(path, "w") as f:
        if compact:
            json.dump(data, f, separators=(",", ":"))
        else:
            json.dump(data, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(path), os.path.getsize(path), "bytes")
