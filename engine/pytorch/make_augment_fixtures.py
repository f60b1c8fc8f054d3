"""Writes dataset/augment/testdata/torch_affine.json: torchvision.transforms.functional.affine
(bilinear, fill=[0.0] as RandomAffine passes it) on the first two MNIST test digits and on a
pattern with ink up to the borders (MNIST's borders are blank, so only it tests the fill), for a few
fixed (angle, translate, scale), both on the float32 tensor of the raw 0-255 values (before any
rounding) and on the uint8 tensor (rounded back as torchvision does). dataset/augment's test
compares its Apply and ApplyUint8 with them.

    MNIST_DIR=~/.cache/mnist-tui/mnist /usr/bin/python3 engine/pytorch/make_augment_fixtures.py
"""

import json
import os

import numpy as np
import torch
import torchvision
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode

import mnist

IMAGES = 2
# (angle in degrees, (tx, ty) in pixels, scale): identity, each lever alone, both signs, an
# extreme shrink, turns past 90 degrees, and combinations as RandomAffine would draw them.
CASES = [
    (0.0, (0, 0), 1.0),
    (15.0, (0, 0), 1.0),
    (-37.5, (0, 0), 1.0),
    (90.0, (0, 0), 1.0),
    (180.0, (0, 0), 1.0),
    (0.0, (3, -2), 1.0),
    (0.0, (-6, 5), 1.0),
    (0.0, (0, 0), 0.8),
    (0.0, (0, 0), 1.25),
    (0.0, (0, 0), 0.1),
    (12.3, (2, 1), 0.9),
    (-8.7, (-3, 3), 1.1),
]


def main():
    torch.set_num_threads(1)
    images, _ = mnist.load_raw("test")
    ys, xs = np.mgrid[0:28, 0:28]
    pattern = ((xs * 37 + ys * 91 + xs * ys * 5) % 256).astype(np.uint8)
    images = np.concatenate([images[:IMAGES], pattern[None]])
    cases = []
    for angle, translate, scale in CASES:
        floats, bytes_ = [], []
        for img in images:
            u8 = torch.from_numpy(img.copy())[None]  # [1, 28, 28]
            args = dict(angle=angle, translate=list(translate), scale=scale, shear=[0.0, 0.0],
                        interpolation=InterpolationMode.BILINEAR, fill=[0.0])
            out_f = F.affine(u8.to(torch.float32), **args)
            out_u = F.affine(u8, **args)
            floats.append([float(np.float32(v)) for v in out_f.reshape(-1).tolist()])
            bytes_.append([int(v) for v in out_u.reshape(-1).tolist()])
        cases.append({"angle": angle, "tx": translate[0], "ty": translate[1], "scale": scale,
                      "float": floats, "uint8": bytes_})
    out = {"torch": torch.__version__, "torchvision": torchvision.__version__,
           "images": [[int(v) for v in img.reshape(-1)] for img in images], "cases": cases}
    path = os.path.join(os.path.dirname(__file__), "..", "..", "dataset", "augment", "testdata", "torch_affine.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", os.path.normpath(path), os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
