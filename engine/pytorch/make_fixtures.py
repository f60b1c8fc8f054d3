"""Write the PyTorch parity fixtures the Go engine's tests compare against.

Run by hand (CI has no torch), from anywhere:
    /usr/bin/python3 engine/pytorch/make_fixtures.py [--model all] [--out engine/testdata]

The initial weights are not stored: PyTorch and the Go tests both fill the model from formula.py
(stream PARITY), which is exact in float32. One fixed batch: `input` [5,1,28,28] F32, MNIST test
images 0..4 normalised (x/255-0.1307)/0.3081, and `target` [5] I64, their labels.

The weight gradient of an nn.Linear layer on a batch is a sum of outer products,
grad[o, i] = sum_b dy[b, o] * x[b, i], where x [5, in] is the layer's input and dy [5, out] the
gradient of the loss with respect to its output. For those weights (all of the linear model's big
tensors) the fixtures store x and dy, a few kilobytes, instead of the gradient itself; the reader
rebuilds every element in float64. Every other tensor is stored whole.

For each model it writes into --out:

torch_<model>.safetensors  one forward and backward of the initial model:
    input, target    the batch
    logits           [5,10] output of the initial model
    loss             [] mean cross-entropy
    grad.<name>      gradient of that loss, for every parameter but nn.Linear weights
    x1.<w>, dy1.<w>  for each nn.Linear weight <w>: its gradient's factors (see above)
  metadata `params` lists the state_dict's names and shapes in order (JSON), which is also the
  order formula.py numbers the tensors in.

torch_<model>_sgd.safetensors  three steps of zero_grad/forward/loss/backward/SGD(lr, momentum).step()
  on the same batch, from the same initial weights:
    losses3          [3] the loss of each step (losses3[0] == loss)
    after3.<name>    the parameters after the three steps    } every parameter but
    momentum.<name>  SGD's momentum buffers after them       } nn.Linear weights
    x<s>.<w>, dy<s>.<w>  s = 1, 2, 3: the factors of step s's gradient of each nn.Linear weight; the
                     reader rebuilds after3 and momentum from them with PyTorch's momentum rule

torch_<model>_state_dict.safetensors  a different model saved the way a PyTorch user would with
    safetensors.torch.save_file(model.state_dict()): bare names, sorted, metadata {"format": "pt"}.
    PyTorch's default init with torch.manual_seed(1). Not written for linear, whose state_dict is
    2.3 MB: its values come from formula.py (stream STATE_DICT) and only the file's SHA-256 and
    size are kept (metadata of the logits file below); the Go tests rebuild the bytes and check them.
torch_<model>_state_dict_logits.safetensors  `input` (test images 5..9) and that model's `logits`.

Everything runs on one thread so that the float32 reductions happen in a fixed order.
"""

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

import formula
import mnist
import models
import safetensors_io

BATCH = 5
STEPS = 3
STATE_DICT_SEED = 1  # the PyTorch-initialised state_dicts
# State_dicts too big to commit (the file would be over 1 MB): built from formula.STATE_DICT instead.
FORMULA_STATE_DICTS = {"linear"}
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "testdata"


def batch(images, labels, start):
    x = torch.from_numpy(mnist.normalise(images[start : start + BATCH]))
    y = torch.from_numpy(labels[start : start + BATCH].astype("int64"))
    return x, y


def linear_weights(model):
    """{weight name: nn.Linear module} for every nn.Linear of the model."""
    return {f"{n}.weight": m for n, m in model.named_modules() if isinstance(m, nn.Linear)}


class FactorRecorder:
    """Records, on each forward/backward, every nn.Linear's input and the gradient at its output."""

    def __init__(self, model):
        self.x, self.dy = {}, {}
        for w, module in linear_weights(model).items():
            module.register_forward_hook(self._hook(w))

    def _hook(self, w):
        def forward(module, inputs, output):
            self.x[w] = inputs[0].detach().reshape(inputs[0].shape[0], -1).clone()
            output.register_hook(lambda g: self.dy.__setitem__(w, g.detach().clone()))

        return forward

    def tensors(self, step):
        out = {}
        for w in self.x:
            out[f"x{step}.{w}"] = self.x[w]
            out[f"dy{step}.{w}"] = self.dy[w]
        return out


def rebuild_grad(tensors, w, step):
    """float64 gradient of nn.Linear weight w at `step` from its stored factors."""
    x = np.asarray(tensors[f"x{step}.{w}"], dtype=np.float64)
    dy = np.asarray(tensors[f"dy{step}.{w}"], dtype=np.float64)
    return dy.T @ x


def rebuild_sgd(tensors, w, param0, lr=models.LR, momentum=models.MOMENTUM, steps=STEPS):
    """float64 (after, momentum buffer) of nn.Linear weight w after `steps` steps of PyTorch's rule
    (first step buf = g, later buf = momentum*buf + g; p -= lr*buf), from the stored factors."""
    p = np.asarray(param0, dtype=np.float64).copy()
    buf = None
    for step in range(1, steps + 1):
        g = rebuild_grad(tensors, w, step)
        buf = g if buf is None else momentum * buf + g
        p -= lr * buf
    return p, buf


def parity_tensors(name, x, y):
    """Return (tensors of torch_<name>.safetensors, tensors of torch_<name>_sgd.safetensors, params)."""
    model = formula.fill(models.build(name), formula.PARITY)
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    params = dict(model.named_parameters())
    factored = set(linear_weights(model))
    recorder = FactorRecorder(model)
    criterion = models.loss_fn()

    out = {"input": x, "target": y}
    logits = model(x)
    loss = criterion(logits, y)
    loss.backward()
    out["logits"] = logits.detach().clone()
    out["loss"] = loss.detach().clone()  # 0-dim: shape []
    for k, p in params.items():
        if k in factored:
            continue
        out[f"grad.{k}"] = p.grad.detach().clone()
    out.update(recorder.tensors(1))
    for w in factored:
        np.testing.assert_allclose(rebuild_grad(out, w, 1), params[w].grad.double().numpy(), rtol=1e-5, atol=1e-7)

    # The SGD run starts again from the initial parameters; the gradient above is cleared by the
    # optimiser's zero_grad, so step 1 recomputes exactly the same loss and gradient.
    opt = models.optimizer(model)
    sgd, losses = {}, []
    for step in range(1, STEPS + 1):
        opt.zero_grad()
        step_loss = criterion(model(x), y)
        step_loss.backward()
        opt.step()
        losses.append(step_loss.item())
        sgd.update(recorder.tensors(step))
    sgd["losses3"] = torch.tensor(losses, dtype=torch.float32)
    for k, p in params.items():
        if k in factored:
            after, buf = rebuild_sgd(sgd, k, initial[k].numpy())
            np.testing.assert_allclose(after, p.detach().double().numpy(), rtol=1e-5, atol=1e-7)
            np.testing.assert_allclose(buf, opt.state[p]["momentum_buffer"].double().numpy(), rtol=1e-5, atol=1e-7)
            continue
        sgd[f"after3.{k}"] = p.detach().clone()
        sgd[f"momentum.{k}"] = opt.state[p]["momentum_buffer"].clone()
    shapes = [[k, list(v.shape)] for k, v in initial.items()]
    return out, sgd, shapes


def state_dict_model(name):
    """The model whose state_dict is saved: PyTorch's init (seed 1), or the formula for big ones."""
    torch.manual_seed(STATE_DICT_SEED)
    model = models.build(name)
    if name in FORMULA_STATE_DICTS:
        formula.fill(model, formula.STATE_DICT)
    return model.eval()


def state_dict_tensors(name, x):
    """Return (state_dict sorted by name, {"input", "logits"}) for the interop fixture."""
    model = state_dict_model(name)
    with torch.no_grad():
        logits = model(x)
    state = {k: v.detach().clone() for k, v in sorted(model.state_dict().items())}
    return state, {"input": x, "logits": logits}


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


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
        parity, sgd, shapes = parity_tensors(name, x, y)
        path = args.out / f"torch_{name}.safetensors"
        meta = dict(
            common,
            params=json.dumps(shapes, separators=(",", ":")),
            init=f"formula.py stream {formula.PARITY}",
            input="mnist t10k images 0..4, (x/255-0.1307)/0.3081",
            loss="CrossEntropyLoss mean",
        )
        safetensors_io.save(path, parity, meta)
        print(f"{path}: loss {parity['loss'].item():.6f}")
        path = args.out / f"torch_{name}_sgd.safetensors"
        meta = dict(common, lr=repr(models.LR), momentum=repr(models.MOMENTUM), steps=str(STEPS))
        safetensors_io.save(path, sgd, meta)
        print(f"{path}: losses3 {sgd['losses3'].tolist()}")

        state, check = state_dict_tensors(name, x_sd)
        path = args.out / f"torch_{name}_state_dict.safetensors"
        if name in FORMULA_STATE_DICTS:
            meta = dict(common, input="mnist t10k images 5..9")
            # Written to a temporary folder only: the tests rebuild these bytes from the formula.
            with tempfile.TemporaryDirectory() as tmp:
                tmp_path = Path(tmp) / path.name
                safetensors_io.save(tmp_path, state, {"format": "pt"})
                meta.update(init=f"formula.py stream {formula.STATE_DICT}", state_dict_sha256=sha256(tmp_path),
                            state_dict_bytes=str(tmp_path.stat().st_size))
            if path.exists():
                path.unlink()
            print(f"{path}: {len(state)} tensors, not kept: sha256 {meta['state_dict_sha256']}")
        else:
            safetensors_io.save(path, state, {"format": "pt"})
            meta = dict(common, seed=str(STATE_DICT_SEED), input="mnist t10k images 5..9")
            print(f"{path}: {len(state)} tensors")
        path = args.out / f"torch_{name}_state_dict_logits.safetensors"
        safetensors_io.save(path, check, meta)
        print(f"{path}: logits argmax {check['logits'].argmax(1).tolist()}")


if __name__ == "__main__":
    sys.exit(main())
