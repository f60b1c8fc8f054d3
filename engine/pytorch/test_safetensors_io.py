"""Tests for safetensors_io (numpy only). Run: cd engine/pytorch && /usr/bin/python3 -m unittest -v"""

import json
import os
import struct
import tempfile
import unittest

import numpy as np

import safetensors_io


def hand_made_file(header, data):
    """Build file bytes directly from the format description, independently of safetensors_io.save."""
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


class SafetensorsIOTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "t.safetensors")

    def tearDown(self):
        self.dir.cleanup()

    def write(self, raw):
        with open(self.path, "wb") as f:
            f.write(raw)

    def test_round_trip_keeps_values_shapes_order_and_metadata(self):
        tensors = {
            "w": np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5,
            "scalar": np.array(2.5, dtype=np.float32),
            "empty": np.zeros((0, 3), dtype=np.float32),
            "labels": np.array([7, -2, 1 << 40], dtype=np.int64),
            "transposed": np.arange(6, dtype=np.float32).reshape(2, 3).T,  # not C-contiguous in memory
        }
        safetensors_io.save(self.path, tensors, {"model": "cnn", "lr": "0.01"})
        got, meta = safetensors_io.load(self.path)
        self.assertEqual(list(got), list(tensors))
        self.assertEqual(meta, {"model": "cnn", "lr": "0.01"})
        for name, want in tensors.items():
            self.assertEqual(got[name].shape, want.shape, name)
            self.assertEqual(got[name].dtype, want.dtype, name)
            np.testing.assert_array_equal(got[name], want, err_msg=name)

    def test_layout_matches_the_format(self):
        safetensors_io.save(self.path, {"a": np.array([1.0, -2.0], dtype=np.float32)}, {"k": "v"})
        with open(self.path, "rb") as f:
            raw = f.read()
        (n,) = struct.unpack("<Q", raw[:8])
        self.assertEqual(n % 8, 0, "header length must be a multiple of 8")
        header = json.loads(raw[8 : 8 + n])
        self.assertEqual(header["__metadata__"], {"k": "v"})
        self.assertEqual(header["a"], {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]})
        self.assertTrue(raw[8 : 8 + n].rstrip(b" ").endswith(b"}"), "only spaces may pad the header")
        self.assertEqual(raw[8 + n :], struct.pack("<2f", 1.0, -2.0))

    def test_loads_a_file_written_by_another_tool(self):
        data = struct.pack("<q", 9) + struct.pack("<4f", 0.5, 1.5, 2.5, 3.5)
        header = {
            "x": {"dtype": "F32", "shape": [2, 2], "data_offsets": [8, 24]},
            "n": {"dtype": "I64", "shape": [], "data_offsets": [0, 8]},
        }
        self.write(hand_made_file(header, data))
        got, meta = safetensors_io.load(self.path)
        self.assertEqual(meta, {})
        np.testing.assert_array_equal(got["x"], [[0.5, 1.5], [2.5, 3.5]])
        self.assertEqual(got["n"].shape, ())
        self.assertEqual(int(got["n"]), 9)

    def test_save_refuses_dtypes_the_go_engine_cannot_read(self):
        with self.assertRaisesRegex(ValueError, "tensor x: dtype float64"):
            safetensors_io.save(self.path, {"x": np.zeros(2)})
        with self.assertRaisesRegex(ValueError, "metadata"):
            safetensors_io.save(self.path, {"x": np.zeros(2, np.float32)}, {"lr": 0.01})

    def test_load_reports_corrupt_files(self):
        cases = {
            "too short": b"\x01\x00",
            "header length": struct.pack("<Q", 1000) + b"{}",
            "not valid JSON": struct.pack("<Q", 8) + b"{oops}  ",
            "not supported": hand_made_file({"x": {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]}}, b"\0\0"),
            "outside": hand_made_file({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8),
            "needs 8": hand_made_file({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 8),
            "non-negative": hand_made_file({"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}, b""),
            "tensor x": hand_made_file({"x": {"dtype": "F32", "shape": [1]}}, b"\0" * 4),
        }
        for want, raw in cases.items():
            with self.subTest(want):
                self.write(raw)
                with self.assertRaisesRegex(ValueError, want) as ctx:
                    safetensors_io.load(self.path)
                self.assertIn(self.path, str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
