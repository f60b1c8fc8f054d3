"""The committed network fixtures are what make_network_fixtures.py writes now, bit for bit.

    (cd engine/pytorch && /usr/bin/python3 -m unittest -v test_network_fixtures)
"""

import json
import unittest
from pathlib import Path

import numpy as np
import torch

import make_network_fixtures as mk
import safetensors_io

TESTDATA = Path(__file__).resolve().parent.parent / "testdata"


class NetworkFixtures(unittest.TestCase):
    def setUp(self):
        torch.set_num_threads(1)

    def assertSame(self, fresh, meta_fresh, name):
        stored, meta = safetensors_io.load(TESTDATA / name)
        self.assertEqual(sorted(stored), sorted(fresh), name)
        for key, value in fresh.items():
            with self.subTest(name=name, tensor=key):
                np.testing.assert_array_equal(np.asarray(stored[key]), np.asarray(value))
        for key, value in meta_fresh.items():
            self.assertEqual(meta[key], value, f"{name} metadata {key}")

    def test_layers(self):
        tensors = {}
        cases = mk.layer_cases(tensors)
        self.assertSame(tensors, {"cases": json.dumps(cases)}, "torch_network_layers.safetensors")

    def test_whole_network(self):
        tensors, meta = {}, {}
        mk.whole_network(tensors, meta)
        self.assertSame(tensors, meta, "torch_network.safetensors")


if __name__ == "__main__":
    unittest.main()
