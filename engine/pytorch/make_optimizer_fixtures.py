"""Writes engine/testdata/torch_optimizers.json: five steps of torch.optim.SGD, Adam and AdamW.

Two small parameters ("w" [3, 4] and "b" [4]) start from formula.py stream 20; the gradient of
step s (0-based) is stream 21 + s. The Go test (engine/optimizer_parity_test.go) builds the same
tensors from engine/internal/fixture and compares the parameters after every step and the
optimizer's state at the end. The learning rate changes at step 3, as a schedule would change it.

    /usr/bin/python3 engine/pytorch/make_optimizer_fixtures.py
"""

import torch

import formula
import json_fixture

STEPS = 5
SHAPES = [("w", (3, 4)), ("b", (4,))]
PARAM_STREAM = 20
GRAD_STREAM = 21
LR_AT_3 = 0.5  # the learning rate is multiplied by this from step 3 on

CONFIGS = [
    {"name": "sgd", "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.0, "nesterov": False},
    {"name": "sgd_no_momentum", "optimizer": "sgd", "lr": 0.1, "momentum": 0.0, "weight_decay": 0.01, "nesterov": False},
    {"name": "sgd_weight_decay", "optimizer": "sgd", "lr": 0.05, "momentum": 0.5, "weight_decay": 0.1, "nesterov": False},
    {"name": "sgd_nesterov", "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.01, "nesterov": True},
    {"name": "adam", "optimizer": "adam", "lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0},
    {"name": "adam_weight_decay", "optimizer": "adam", "lr": 0.003, "betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.1},
    {"name": "adamw", "optimizer": "adamw", "lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.05},
    {"name": "adamw_large_eps", "optimizer": "adamw", "lr": 0.02, "betas": [0.5, 0.9], "eps": 0.01, "weight_decay": 0.5},
]


def make(cfg, params):
    if cfg["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=cfg["weight_decay"],
                               nesterov=cfg["nesterov"], dampening=0)
    cls = torch.optim.Adam if cfg["optimizer"] == "adam" else torch.optim.AdamW
    return cls(params, lr=cfg["lr"], betas=tuple(cfg["betas"]), eps=cfg["eps"], weight_decay=cfg["weight_decay"])


def floats(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def run(cfg):
    start = formula.state(PARAM_STREAM, SHAPES)
    params = [torch.nn.Parameter(torch.from_numpy(start[name].copy())) for name, _ in SHAPES]
    opt = make(cfg, params)
    steps = []
    for s in range(STEPS):
        grads = formula.state(GRAD_STREAM + s, SHAPES)
        for p, (name, _) in zip(params, SHAPES):
            p.grad = torch.from_numpy(grads[name].copy())
        if s == 3:
            for group in opt.param_groups:
                group["lr"] = cfg["lr"] * LR_AT_3
        opt.step()
        steps.append({name: floats(p) for p, (name, _) in zip(params, SHAPES)})
    state = {}
    for p, (name, _) in zip(params, SHAPES):
        for key, value in opt.state[p].items():
            if value is None:
                continue  # SGD without momentum keeps no buffer
            if key == "step":
                state["step"] = int(value.item())
            else:
                state[key + "." + name] = floats(value)
    return dict(cfg, steps=steps, state=state)


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    out = {
        "torch": torch.__version__,
        "shapes": [[name, list(shape)] for name, shape in SHAPES],
        "param_stream": PARAM_STREAM,
        "grad_stream": GRAD_STREAM,
        "lr_factor_from_step_3": LR_AT_3,
        "runs": [run(cfg) for cfg in CONFIGS],
    }
    json_fixture.write("torch_optimizers.json", out)


if __name__ == "__main__":
    main()
