"""Load checkpoints written by mnist-tui into the PyTorch models, the way a PyTorch user would.

For each model it reads engine/testdata/mnisttui_<model>.safetensors (written by
`go test ./engine/checkpoint -run PyTorchReads -write-interop`), drops the optimizer's momentum
buffers (`optimizer.momentum.*`: PyTorch's strict load_state_dict refuses keys that are not the
model's), loads the rest with load_state_dict(strict=True), and writes the logits on a fixed batch
of MNIST test images to engine/testdata/mnisttui_<model>_torch_logits.safetensors. The Go test then
checks that mnist-tui computes the same logits from the same file.

    /usr/bin/python3 engine/pytorch/check_checkpoint.py
"""

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import models  # noqa: E402
import safetensors_io  # noqa: E402

TESTDATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata")


def main():
    torch.set_num_threads(1)
    for name in ["linear", "cnn", "inception", "residual"]:
        path = os.path.join(TESTDATA, f"mnisttui_{name}.safetensors")
        tensors, metadata = safetensors_io.load(path)
        state = {k: torch.from_numpy(v.copy()) for k, v in tensors.items() if not k.startswith("optimizer.")}
        model = models.build(name)
        model.load_state_dict(state, strict=True)
        model.eval()
        # The same fixed batch the parity fixtures use.
        fixture, _ = safetensors_io.load(os.path.join(TESTDATA, f"torch_{name}.safetensors"))
        x = torch.from_numpy(fixture["input"].copy())
        with torch.no_grad():
            logits = model(x)
        out = os.path.join(TESTDATA, f"mnisttui_{name}_torch_logits.safetensors")
        safetensors_io.save(out, {"input": x, "logits": logits},
                            metadata={"source": os.path.basename(path), "model_in_file": metadata.get("model", ""),
                                      "torch": torch.__version__})
        print(f"{name}: loaded {len(state)} tensors strictly (momentum dropped: "
              f"{len(tensors) - len(state)}), logits -> {os.path.relpath(out)}")


if __name__ == "__main__":
    main()
