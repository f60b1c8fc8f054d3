"""Deterministic parameter values that Python and Go compute bit for bit alike.

The fixtures do not store initial weights: both sides fill a model from this formula instead
(engine/internal/fixture/formula.go is the Go twin; keep the two in step).

For tensor number `index` (its position in the state_dict) of stream `stream`, element `j`
(row-major) is

    z = splitmix64((stream << 48) | (index << 32) | j)     # uint64 arithmetic, wrapping
    u = z >> 40                                              # top 24 bits, 0 <= u < 2**24
    value = (u - 2**23) * 2**-(23 + k)                       # uniform in [-2**-k, 2**-k)

Every value is an integer of at most 24 bits times a power of two, so it is exact in float32 and
any language gets the same bits. 2**-k stands in for PyTorch's default init bound 1/sqrt(fan_in),
rounded to a power of two: k is the smallest integer with 2**(2k+1) >= fan_in. fan_in is the
product of a weight's dimensions after the first; a bias `<m>.bias` uses the fan_in of `<m>.weight`
(as PyTorch's nn.Linear and nn.Conv2d do).
"""

import numpy as np

# Streams: one per use, so no two fixtures share weights.
PARITY = 0
STATE_DICT = 1
INTEROP = 2
INTEROP_MOMENTUM = 3

_MASK = (1 << 64) - 1


def splitmix64(x):
    """splitmix64's output function on a uint64 numpy array (wrapping arithmetic)."""
    x = np.asarray(x, dtype=np.uint64)
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def scale_exponent(fan_in):
    """k with 2**-k the init bound: the smallest k >= 0 with 2**(2k+1) >= fan_in."""
    k = 0
    while (1 << (2 * k + 1)) < fan_in:
        k += 1
    return k


def fan_ins(shapes):
    """shapes: list of (name, shape) in state_dict order -> list of fan_in."""
    by_name = dict(shapes)
    out = []
    for name, shape in shapes:
        if len(shape) == 1 and name.endswith(".bias"):
            shape = by_name[name[: -len("bias")] + "weight"]
        out.append(int(np.prod(shape[1:], dtype=np.int64)))
    return out


def values(stream, index, shape, fan_in):
    """The formula's float32 array of `shape` for tensor `index` of `stream`."""
    n = int(np.prod(shape, dtype=np.int64))
    if n >= 1 << 32 or index >= 1 << 16 or stream >= 1 << 16:
        raise ValueError("tensor too large or index/stream out of range")
    j = np.arange(n, dtype=np.uint64)
    x = np.uint64(((stream << 48) | (index << 32)) & _MASK) | j
    u = (splitmix64(x) >> np.uint64(40)).astype(np.int64) - (1 << 23)
    out = np.ldexp(u.astype(np.float64), -(23 + scale_exponent(fan_in)))
    f32 = out.astype(np.float32)
    assert np.array_equal(f32.astype(np.float64), out), "formula value not exact in float32"
    return f32.reshape(shape)


def state(stream, shapes):
    """{name: float32 array} for shapes, a list of (name, shape) in state_dict order."""
    return {
        name: values(stream, i, shape, fan_in)
        for i, ((name, shape), fan_in) in enumerate(zip(shapes, fan_ins(shapes)))
    }


def fill(model, stream):
    """Load the formula's values for `stream` into a torch model (strictly, in state_dict order)."""
    import torch

    shapes = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state(stream, shapes).items()}, strict=True)
    return model
