"""Write the PyTorch parity fixtures the Go engine's tests compare against.

Run by hand (CI has no torch), from anywhere:
    /usr/bin/python3 engine/pytorch/make_fixtures.py [--model all] [--out engine/testdata]

For each model it writes three files into --out:

torch_<model>.safetensors  forward/backward/SGD parity, all from one fixed batch:
    param.<name>     initial state_dict (torch.manual_seed(0), PyTorch's default init)
    input            [5,1,28,28] F32, MNIST test images 0..4, normalised (x/255-0.1307)/0.3081
    target           [5] I64, their labels
    logits           [5,10] output of the initial model
    loss             [] mean cross-entropy of the initial model
    grad.<name>      gradient of that loss for every parameter (one backward)
    after3.<name>    parameters after 3 steps of zero_grad/forward/loss/backward/SGD(lr, momentum).step()
                     on the same batch, starting from param.*
    momentum.<name>  SGD's momentum buffers after those 3 steps
    losses3          [3] the loss computed in each of those steps (losses3[0] == loss)

torch_<model>_state_dict.safetensors  a different model (seed 1) saved the way a PyTorch user would with
    safetensors.torch.save_file(model.state_dict()): bare names, sorted, metadata {"format": "pt"}.
torch_<model>_state_dict_logits.safetensors  `input` (test images 5..9) and that model's `logits`.

Everything runs on one thread so that the float32 reductions happen in a fixed order.
"""

import argparse
import os
import sys
from pathlib import Path

import torch

import mnist
import models
import safetensors_io

BATCH = 5
STEPS = 3
PARITY_SEED = 0
STATE_DICT_SEED = 1  # differs from PARITY_SEED so a test that loads the wrong file cannot pass
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "testdata"


def batch(images, labels, start):
    x = torch.from_numpy(mnist.normalise(images[start : start + BATCH]))
    y = torch.from_numpy(labels[start : start + BATCH].astype("int64"))
    return x, y


def parity_tensors(name, x, y):
    """Return the tensors of torch_<name>.safetensors, in file order."""
    torch.manual_seed(PARITY_SEED)
    model = models.build(name)
    criterion = models.loss_fn()
    params = dict(model.named_parameters())
    out = {f"param.{k}": v.detach().clone() for k, v in model.state_dict().items()}
    out["input"] = x
    out["target"] = y

    logits = model(x)
    loss = criterion(logits, y)
    loss.backward()
    out["logits"] = logits.detach().clone()
    out["loss"] = loss.detach().clone()  # 0-dim: shape []
    out.update({f"grad.{k}": p.grad.detach().clone() for k, p in params.items()})

    # The SGD run starts again from the initial parameters; the gradient above is cleared by the
    # optimiser's zero_grad, so step 1 recomputes exactly the same loss and gradient.
    opt = models.optimizer(model)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        step_loss = criterion(model(x), y)
        step_loss.backward()
        opt.step()
        losses.append(step_loss.item())
    out.update({f"after3.{k}": p.detach().clone() for k, p in params.items()})
    out.update({f"momentum.{k}": opt.state[p]["momentum_buffer"].clone() for k, p in params.items()})
    out["losses3"] = torch.tensor(losses, dtype=torch.float32)
    return out


def state_dict_tensors(name, x):
    """Return (state_dict sorted by name, {"input", "logits"}) for the interop fixture."""
    torch.manual_seed(STATE_DICT_SEED)
    model = models.build(name).eval()
    with torch.no_grad():
        logits = model(x)
    state = {k: v.detach().clone() for k, v in sorted(model.state_dict().items())}
    return state, {"input": x, "logits": logits}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="all", help="linear, cnn, inception, residual, a comma list, or all")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the .safetensors files")
    args = parser.parse_args()

    torch.set_num_threads(1)
    images, labels = mnist.load_raw("test")
    x, y = batch(images, labels, 0)
    x_sd, _ = batch(images, labels, BATCH)
    os.makedirs(args.out, exist_ok=True)

    for name in models.model_names(args.model):
        common = {"model": name, "torch": torch.__version__}
        parity = parity_tensors(name, x, y)
        path = args.out / f"torch_{name}.safetensors"
        meta = dict(
            common,
            lr=repr(models.LR),
            momentum=repr(models.MOMENTUM),
            seed=str(PARITY_SEED),
            steps=str(STEPS),
            input="mnist t10k images 0..4, (x/255-0.1307)/0.3081",
            loss="CrossEntropyLoss mean",
        )
        safetensors_io.save(path, parity, meta)
        print(f"{path}: loss {parity['loss'].item():.6f}, losses3 {parity['losses3'].tolist()}")

        state, check = state_dict_tensors(name, x_sd)
        path = args.out / f"torch_{name}_state_dict.safetensors"
        safetensors_io.save(path, state, {"format": "pt"})
        print(f"{path}: {len(state)} tensors")
        path = args.out / f"torch_{name}_state_dict_logits.safetensors"
        safetensors_io.save(path, check, dict(common, seed=str(STATE_DICT_SEED), input="mnist t10k images 5..9"))
        print(f"{path}: logits argmax {check['logits'].argmax(1).tolist()}")


if __name__ == "__main__":
    sys.exit(main())
