

# --- The trained network, its safetensors reader and a test-set evaluation (from mnist-tui). ---

import gzip
import json
import struct
import sys
from pathlib import Path

NETWORK = json.loads(NETWORK_JSON)


def read_safetensors(path):
    """{name: tensor} of a safetensors file (F32 and I64 tensors), with torch only."""
    raw = Path(path).read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    body = raw[8 + size :]
    dtypes = {"F32": torch.float32, "I64": torch.int64}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        data = bytearray(body[begin:end])
        t = torch.frombuffer(data, dtype=dtypes[info["dtype"]]) if data else torch.zeros(0, dtype=dtypes[info["dtype"]])
        out[name] = t.reshape(info["shape"]).clone()
    return out


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    (magic,) = struct.unpack(">I", raw[:4])
    dims = struct.unpack(">" + "I" * (magic & 0xFF), raw[4 : 4 + 4 * (magic & 0xFF)])
    return torch.frombuffer(bytearray(raw[4 + 4 * len(dims) :]), dtype=torch.uint8).reshape(dims)


def main():
    import argparse

    ap = argparse.ArgumentParser(description="Evaluate the exported network on the test set.")
    ap.add_argument("weights", help="model.safetensors")
    ap.add_argument("--data-dir", required=True, help="folder with the four .gz files of the data set")
    args = ap.parse_args()
    torch.set_num_threads(1)  # float32 sums in a fixed order
    model = build(NETWORK)
    model.load_state_dict(read_safetensors(args.weights), strict=True)
    model.eval()
    folder = Path(args.data_dir)
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz").long()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(images), 1000):
            x = images[start : start + 1000].float() / 255
            x = ((x - MEAN) / STD).unsqueeze(1)
            correct += (model(x).argmax(1) == labels[start : start + 1000]).sum().item()
    print(f"Accuracy on test set: {100 * correct / len(images):.2f} %")


if __name__ == "__main__":
    sys.exit(main())
