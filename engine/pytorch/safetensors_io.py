"""Read and write the safetensors file format without the `safetensors` package.

A file is:
  8 bytes      little-endian u64 N, the length of the JSON header
  N bytes      JSON object, padded with spaces so that N is a multiple of 8:
                 {"__metadata__": {str: str},
                  name: {"dtype": "F32" | "I64", "shape": [...], "data_offsets": [begin, end]}, ...}
  the rest     raw little-endian tensor bytes; offsets count from the first byte after the header

Only F32 and I64 are supported: they are the only dtypes the Go engine reads, so refusing anything
else here stops a fixture from silently carrying a tensor the Go side cannot load.
"""

import json
import struct

import numpy as np

DTYPES = {"F32": np.dtype("<f4"), "I64": np.dtype("<i8")}

# A header bigger than this is a corrupt length field, not a real file (the official reader uses the
# same 100 MB bound).
MAX_HEADER_BYTES = 100 << 20


def _dtype_name(array):
    for name, dtype in DTYPES.items():
        if array.dtype == dtype:
            return name
    raise ValueError(
        f"dtype {array.dtype} is not supported (only float32 -> F32 and int64 -> I64); convert it first"
    )


def _as_numpy(value):
    # Accept torch tensors without importing torch: this module is also used by scripts that never
    # need it.
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    # Not np.ascontiguousarray: it turns a 0-dim scalar (shape []) into shape [1].
    return np.asarray(value, order="C")


def save(path, tensors, metadata=None):
    """Write `tensors` (name -> torch.Tensor or numpy array, kept in the given order) to `path`.

    `metadata` is an optional dict of str -> str stored under "__metadata__".
    """
    header = {}
    if metadata:
        for key, value in metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise ValueError(f"metadata {key!r}: keys and values must be str, got {type(value).__name__}")
        header["__metadata__"] = dict(metadata)

    blobs = []
    offset = 0
    for name, value in tensors.items():
        if name == "__metadata__":
            raise ValueError("tensor name __metadata__ is reserved")
        array = _as_numpy(value)
        try:
            dtype = _dtype_name(array)
        except ValueError as err:
            raise ValueError(f"tensor {name}: {err}") from None
        data = array.astype(DTYPES[dtype], copy=False).tobytes(order="C")
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)

    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)


def load(path):
    """Read `path` and return (tensors, metadata): name -> numpy array (in file order), and str -> str."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        return _parse(raw)
    except ValueError as err:
        raise ValueError(f"safetensors {path}: {err}") from None


def _parse(raw):
    if len(raw) < 8:
        raise ValueError(f"file is {len(raw)} bytes, too short for the 8-byte header length")
    (header_len,) = struct.unpack("<Q", raw[:8])
    if header_len > MAX_HEADER_BYTES or 8 + header_len > len(raw):
        raise ValueError(f"header length {header_len} does not fit in a {len(raw)}-byte file")
    try:
        header = json.loads(raw[8 : 8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"header is not valid JSON: {err}") from None
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")

    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError("__metadata__ must be an object of strings")

    data = raw[8 + header_len :]
    tensors = {}
    for name, info in header.items():
        try:
            tensors[name] = _tensor(info, data)
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"tensor {name}: {err}") from None
    return tensors, metadata


def _tensor(info, data):
    dtype_name = info["dtype"]
    if dtype_name not in DTYPES:
        raise ValueError(f"dtype {dtype_name!r} is not supported (want one of {sorted(DTYPES)})")
    shape = info["shape"]
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise ValueError(f"shape {shape!r} must be a list of non-negative integers")
    begin, end = info["data_offsets"]
    dtype = DTYPES[dtype_name]
    want = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if not (isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end <= len(data)):
        raise ValueError(f"data_offsets [{begin}, {end}] fall outside the {len(data)} data bytes")
    if end - begin != want:
        raise ValueError(f"data_offsets [{begin}, {end}] hold {end - begin} bytes, shape {shape} needs {want}")
    return np.frombuffer(data[begin:end], dtype=dtype).reshape(shape).copy()
