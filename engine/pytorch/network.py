"""A network of config.yaml's `network:` format as a PyTorch module.

The modules and their names follow engine/network (spec.go): the network is an nn.Sequential,
a `residual` block a Residual (an nn.Sequential whose forward adds its input), a `branches` block
a Branches (an nn.ModuleList of nn.Sequential, concatenated on channels). So the state_dict names
are index paths, "0.weight", "3.1.running_mean", "5.2.0.bias", as the Go engine names them.
"""

import torch
from torch import nn


class Residual(nn.Sequential):
    """x + layers(x)."""

    def forward(self, x):
        return x + super().forward(x)


class Branches(nn.ModuleList):
    """Each branch on the same input, the outputs concatenated on channels (dim 1)."""

    def forward(self, x):
        return torch.cat([branch(x) for branch in self], 1)


def _settings(value, short, defaults):
    out = dict(defaults)
    if isinstance(value, dict):
        out.update(value)
    elif value is not None:
        out[short] = value
    return out


def _layer(item, x):
    """The module for one list item, given a dummy input x of the right shape (batch of 1)."""
    if isinstance(item, str):
        name, value = item, None
    else:
        ((name, value),) = item.items()
    if name == "conv":
        s = _settings(value, None, {"stride": 1, "padding": 0, "bias": True})
        return nn.Conv2d(x.shape[1], s["out"], s["kernel"], stride=s["stride"], padding=s["padding"], bias=s["bias"])
    if name in ("maxpool", "avgpool"):
        s = _settings(value, "kernel", {"padding": 0})
        cls = nn.MaxPool2d if name == "maxpool" else nn.AvgPool2d
        return cls(s["kernel"], stride=s.get("stride", s["kernel"]), padding=s["padding"])
    if name == "global_avgpool":
        return nn.AdaptiveAvgPool2d(1)
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(_settings(value, "slope", {"slope": 0.01})["slope"])
    if name == "tanh":
        return nn.Tanh()
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "gelu":
        return nn.GELU()
    if name == "batchnorm":
        return nn.BatchNorm2d(x.shape[1]) if x.dim() == 4 else nn.BatchNorm1d(x.shape[1])
    if name == "dropout":
        return nn.Dropout(_settings(value, "p", {"p": 0.5})["p"])
    if name == "flatten":
        return nn.Flatten()
    if name == "linear":
        s = _settings(value, "out", {"bias": True})
        return nn.Linear(x.shape[1], s["out"], bias=s["bias"])
    if name == "residual":
        return Residual(*_layers(value, x))
    if name == "branches":
        return Branches([nn.Sequential(*_layers(b, x)) for b in value])
    raise ValueError(f"unknown layer {name!r}")


def _layers(items, x):
    modules = []
    for item in items:
        m = _layer(item, x)
        m.eval()  # shape inference only: BatchNorm must not count this dummy batch
        with torch.no_grad():
            x = m(x)
        modules.append(m)
    return modules


def build(layers):
    """An nn.Sequential for `layers`, the parsed `network:` list, with PyTorch's default init."""
    x = torch.zeros(2, 1, 28, 28)
    model = nn.Sequential(*_layers(layers, x))
    model.train()
    return model
