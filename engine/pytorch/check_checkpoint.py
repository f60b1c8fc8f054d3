"""Load checkpoints written by mnist-tui into the PyTorch models, the way a PyTorch user would.

    go test ./engine/checkpoint -run PyTorchReads -write-interop   # writes them into --dir
    /usr/bin/python3 engine/pytorch/check_checkpoint.py [--dir DIR]

For each model it reads DIR/mnisttui_<model>.safetensors (DIR defaults to the temporary folder
the Go test writes to, $TMPDIR/mnist-tui-interop), drops the optimizer's momentum buffers
(`optimizer.momentum.*`: PyTorch's strict load_state_dict refuses keys that are not the model's),
loads the rest with load_state_dict(strict=True), and writes the logits on a fixed batch of MNIST
test images to engine/testdata/mnisttui_<model>_torch_logits.safetensors, with the SHA-256 of the
file it read as metadata `source_sha256`.

The checkpoints are not committed: the Go test fills them from formula.py (streams INTEROP and
INTEROP_MOMENTUM), so it writes the same bytes again, checks their SHA-256 against
`source_sha256`, and compares its logits with PyTorch's. This script checks the values it loaded
are the formula's, so a checkpoint that put a tensor under the wrong name cannot pass.
"""

import argparse
import hashlib
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import formula  # noqa: E402
import models  # noqa: E402
import safetensors_io  # noqa: E402

TESTDATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata")
DEFAULT_DIR = os.path.join(tempfile.gettempdir(), "mnist-tui-interop")
MOMENTUM_PREFIX = "optimizer.momentum."


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", default=DEFAULT_DIR, help="folder holding mnisttui_<model>.safetensors")
    args = parser.parse_args()

    torch.set_num_threads(1)
    for name in models.MODELS:
        path = os.path.join(args.dir, f"mnisttui_{name}.safetensors")
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        tensors, metadata = safetensors_io.load(path)
        state = {k: torch.from_numpy(v.copy()) for k, v in tensors.items() if not k.startswith("optimizer.")}
        model = models.build(name)
        model.load_state_dict(state, strict=True)
        model.eval()

        shapes = [(k, list(v.shape)) for k, v in model.state_dict().items()]
        for k, want in formula.state(formula.INTEROP, shapes).items():
            np.testing.assert_array_equal(tensors[k], want, err_msg=k)
        for k, want in formula.state(formula.INTEROP_MOMENTUM, shapes).items():
            np.testing.assert_array_equal(tensors[MOMENTUM_PREFIX + k], want, err_msg=MOMENTUM_PREFIX + k)

        # The same fixed batch the parity fixtures use.
        fixture, _ = safetensors_io.load(os.path.join(TESTDATA, f"torch_{name}.safetensors"))
        x = torch.from_numpy(fixture["input"].copy())
        with torch.no_grad():
            logits = model(x)
        out = os.path.join(TESTDATA, f"mnisttui_{name}_torch_logits.safetensors")
        safetensors_io.save(out, {"input": x, "logits": logits},
                            metadata={"source": os.path.basename(path), "source_sha256": digest,
                                      "model_in_file": metadata.get("model", ""), "torch": torch.__version__})
        print(f"{name}: loaded {len(state)} tensors strictly (momentum dropped: "
              f"{len(tensors) - len(state)}), values are the formula's, logits -> {os.path.relpath(out)}")


if __name__ == "__main__":
    main()
