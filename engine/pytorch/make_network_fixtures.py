"""Write the PyTorch parity fixtures of the network format's layers and of one whole network.

Run by hand (CI has no torch), from anywhere:
    /usr/bin/python3 engine/pytorch/make_network_fixtures.py [--out engine/testdata]

As make_fixtures.py, no input or weight is stored that formula.py can give: both sides compute
them from the formula, here stream NETWORK_LAYERS (4) for the layers and NETWORK (5) for the whole
network. Everything runs on one thread.

torch_network_layers.safetensors  one case per layer and setting (metadata `cases`, a JSON list):
    each case c names its layer (kind and settings as in config.yaml), the batch B and one image's
    input shape `in`, and the formula indices of its input x, of the gradient dy fed back at its
    output, and of its parameters (all with fan_in 1 but conv and linear weights and biases, which
    use the layer's). The forward runs in training mode; the fixture holds
        c.y, c.dx             output, and gradient of sum(y*dy) with respect to x
        c.grad.weight, c.grad.bias   the parameters' gradients, if any
        c.running_mean, c.running_var, c.y_eval   BatchNorm: running statistics after the
                                                  forward, and the evaluation-mode output after it
        c.mask                dropout: the mask PyTorch drew (1 kept, 0 dropped), read back from
                              its output, which the Go side injects

torch_network.safetensors  the network of metadata `network` (the config.yaml list, as YAML) with
    parameters from the formula and buffers at PyTorch's defaults, on MNIST test images 0..4
    (`input`, `target`):
        logits_eval          evaluation-mode logits of the initial network
        logits, loss, grad.<name>   step 1's training-mode forward and backward
        losses3              the loss of each of 3 steps of zero_grad/forward/backward/SGD step
        after3.<name>, momentum.<name>   parameters and momentum buffers after them
        buffer.<name>        BatchNorm running statistics after them (num_batches_tracked is the
                             metadata `tracked`)
        mask<s>.<path>       dropout masks of step s, injected into both sides
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import yaml
from torch import nn

import formula
import mnist
import network
import safetensors_io

NETWORK_LAYERS = 4
NETWORK = 5
LR, MOMENTUM, STEPS, BATCH = 0.01, 0.5, 3, 5
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "testdata"

# Each case: a config.yaml layer item, a batch size and one image's input shape.
CASES = [
    ("conv_s2p1", {"conv": {"out": 4, "kernel": 3, "stride": 2, "padding": 1}}, 2, [3, 9, 9]),
    ("conv_s1p1_nobias", {"conv": {"out": 4, "kernel": 3, "padding": 1, "bias": False}}, 2, [3, 7, 7]),
    ("conv_k4s3p2", {"conv": {"out": 3, "kernel": 4, "stride": 3, "padding": 2}}, 2, [2, 10, 10]),
    ("conv_1x1", {"conv": {"out": 5, "kernel": 1}}, 2, [3, 4, 4]),
    ("maxpool_2", {"maxpool": 2}, 2, [3, 9, 9]),
    ("maxpool_k3s2p1", {"maxpool": {"kernel": 3, "stride": 2, "padding": 1}}, 2, [3, 9, 9]),
    ("avgpool_k3s2p1", {"avgpool": {"kernel": 3, "stride": 2, "padding": 1}}, 2, [3, 9, 9]),
    ("avgpool_k3s1p1", {"avgpool": {"kernel": 3, "stride": 1, "padding": 1}}, 2, [2, 5, 6]),
    ("global_avgpool", "global_avgpool", 2, [3, 5, 5]),
    ("relu", "relu", 2, [3, 4, 4]),
    ("leaky_relu", {"leaky_relu": 0.1}, 2, [3, 4, 4]),
    ("tanh", "tanh", 2, [3, 4, 4]),
    ("sigmoid", "sigmoid", 2, [3, 4, 4]),
    ("gelu", "gelu", 2, [3, 4, 4]),
    ("batchnorm2d", "batchnorm", 4, [3, 5, 5]),
    ("batchnorm1d", "batchnorm", 6, [5]),
    ("dropout", {"dropout": 0.3}, 2, [3, 4, 4]),
    ("flatten", "flatten", 2, [3, 2, 2]),
    ("linear_nobias", {"linear": {"out": 5, "bias": False}}, 3, [7]),
    ("linear", {"linear": 4}, 3, [6]),
]

# The whole network: every block, BatchNorm after a conv and after a linear, dropout, strides.
NETWORK_YAML = """\
- conv: {out: 4, kernel: 3, stride: 2, padding: 1}
- batchnorm
- relu
- residual:
    - conv: {out: 4, kernel: 3, padding: 1}
    - batchnorm
    - relu
    - conv: {out: 4, kernel: 3, padding: 1, bias: false}
- branches:
    - - conv: {out: 3, kernel: 1}
    - - maxpool: {kernel: 3, stride: 1, padding: 1}
      - conv: {out: 3, kernel: 3, padding: 1}
      - tanh
- maxpool: 2
- flatten
- dropout: 0.25
- linear: 16
- batchnorm
- gelu
- linear: 10
"""


def layer_cases(out):
    cases, index = [], 0

    def values(shape, fan_in=1):
        nonlocal index
        index += 1
        return index - 1, torch.from_numpy(formula.values(NETWORK_LAYERS, index - 1, shape, fan_in))

    for name, item, batch, shape in CASES:
        x_dummy = torch.zeros([batch] + shape)
        module = network._layer(item, x_dummy)
        module.train()
        case = {"name": name, "layer": item, "B": batch, "in": shape}
        xi, x = values([batch] + shape)
        x.requires_grad_(True)
        case["x"] = xi
        params = {}
        for pname, p in module.named_parameters():
            fan_in = int(np.prod(module.weight.shape[1:])) if isinstance(module, (nn.Conv2d, nn.Linear)) else 1
            pi, v = values(list(p.shape), fan_in)
            params[pname] = (pi, fan_in)
            with torch.no_grad():
                p.copy_(v)
        case["params"] = {k: {"index": i, "fan_in": f} for k, (i, f) in params.items()}
        if name == "dropout":
            torch.manual_seed(0)
        y = module(x)
        di, dy = values(list(y.shape))
        case["dy"] = di
        (y * dy).sum().backward()
        out[f"{name}.y"] = y.detach()
        out[f"{name}.dx"] = x.grad
        for pname, p in module.named_parameters():
            out[f"{name}.grad.{pname}"] = p.grad
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            out[f"{name}.running_mean"] = module.running_mean.clone()
            out[f"{name}.running_var"] = module.running_var.clone()
            module.eval()
            with torch.no_grad():
                out[f"{name}.y_eval"] = module(x)
        if name == "dropout":
            out[f"{name}.mask"] = ((y.detach() != 0) | (x.grad != 0)).float()
        cases.append(case)
    return cases


class MaskedDropout(nn.Dropout):
    """nn.Dropout with the mask set from outside (the masks the fixture stores)."""

    mask = None

    def forward(self, x):
        return x * self.mask / (1 - self.p) if self.training else x


def whole_network(out, meta):
    layers = yaml.safe_load(NETWORK_YAML)
    model = network.build(layers)
    drops = {}
    for path, m in list(model.named_modules()):
        if isinstance(m, nn.Dropout):
            parent, _, child = path.rpartition(".")
            md = MaskedDropout(m.p)
            setattr(model.get_submodule(parent) if parent else model, child, md)
            drops[path] = md
    named = list(model.named_parameters())
    shapes = [(n, list(p.shape)) for n, p in named]
    start = formula.state(NETWORK, shapes)
    with torch.no_grad():
        for n, p in named:
            p.copy_(torch.from_numpy(start[n]))
    meta["network"] = NETWORK_YAML
    meta["params"] = json.dumps(shapes)
    meta["lr"], meta["momentum"] = str(LR), str(MOMENTUM)

    images, labels = mnist.load_raw("test")
    x = torch.from_numpy(mnist.normalise(images[:BATCH]))
    y = torch.from_numpy(labels[:BATCH].astype("int64"))
    out["input"], out["target"] = x, y

    model.eval()
    with torch.no_grad():
        out["logits_eval"] = model(x)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(7)
    losses = []
    for step in range(1, STEPS + 1):
        for path, md in drops.items():
            shape = (BATCH, md_width(model, path))
            md.mask = (torch.rand(shape, generator=gen) >= md.p).float()
            out[f"mask{step}.{path}"] = md.mask
        opt.zero_grad()
        logits = model(x)
        loss = loss_fn(logits, y)
        loss.backward()
        if step == 1:
            out["logits"], out["loss"] = logits.detach(), loss.detach()
            for n, p in named:
                out[f"grad.{n}"] = p.grad.clone()
        losses.append(loss.item())
        opt.step()
    out["losses3"] = torch.tensor(losses, dtype=torch.float32)
    for n, p in named:
        out[f"after3.{n}"] = p.detach().clone()
        out[f"momentum.{n}"] = opt.state[p]["momentum_buffer"].clone()
    tracked = {}
    for n, b in model.named_buffers():
        if n.endswith("num_batches_tracked"):
            tracked[n] = int(b.item())
        else:
            out[f"buffer.{n}"] = b.clone()
    meta["tracked"] = json.dumps(tracked)


def md_width(model, path):
    """The features going into the dropout at path (it follows a flatten here)."""
    x = torch.zeros(1, 1, 28, 28)
    model.eval()
    with torch.no_grad():
        for p, m in model.named_children():
            if p == path:
                break
            x = m(x)
    model.train()
    return x.reshape(1, -1).shape[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)

    tensors = {}
    cases = layer_cases(tensors)
    safetensors_io.save(args.out / "torch_network_layers.safetensors", tensors, {"cases": json.dumps(cases), "stream": str(NETWORK_LAYERS)})

    tensors, meta = {}, {"stream": str(NETWORK)}
    whole_network(tensors, meta)
    safetensors_io.save(args.out / "torch_network.safetensors", tensors, meta)


if __name__ == "__main__":
    main()
