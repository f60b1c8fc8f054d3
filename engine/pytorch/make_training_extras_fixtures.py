"""Writes engine/testdata/torch_training_extras.json: five steps each of gradient clipping,
OneCycleLR's momentum cycling as the optimizer applies it, and an exponential moving average of
the weights, all from formula.py values; and test-time augmentation's probabilities.

Two parameters ("w" [3, 4] and "b" [4]) start from stream 40; the gradient of step s (0-based)
is stream 41 + s. engine/clip_ema_parity_test.go builds the same tensors from
engine/internal/fixture and compares every step.

- "clip": torch.nn.utils.clip_grad_norm_(params, max_norm) between the gradients and
  optimizer.step(); "norms" is the norm it returned at each step, "steps" the parameters after.
- "cycle": OneCycleLR(cycle_momentum=True, total_steps=5) stepped after every optimizer step,
  so that SGD's momentum or Adam's beta1 changes every step: the parameters after each step.
- "ema": torch.optim.swa_utils.AveragedModel(module, avg_fn=decay*avg + (1-decay)*w,
  use_buffers=True) updated after every SGD step. The module's two float buffers
  ("running_mean", "running_var" [4], a BatchNorm's statistics) are set to stream 50 + s before
  the update, as a training forward pass would change them. "steps" are the averaged parameters
  and buffers after each update.
- "tta": test-time augmentation (tta_shift) of the cnn with formula.py's stream 0 weights (as
  torch_cnn.safetensors has them) on a few made-up images: each image as it is and moved SHIFT
  pixels up, down, left and right (view pixel (y, x) is the image's (y+dy, x+dx), 0 outside),
  normalised, and the mean of the five softmax outputs; "plain" is the first view's alone.

    /usr/bin/python3 engine/pytorch/make_training_extras_fixtures.py
"""

import numpy as np
import torch

import formula
import json_fixture
import mnist
import models

STEPS = 5
SHAPES = [("w", (3, 4)), ("b", (4,))]
BUFFER_SHAPES = [("running_mean", (4,)), ("running_var", (4,))]
PARAM_STREAM = 40
GRAD_STREAM = 41
BUFFER_STREAM = 50

CLIPS = [
    {"name": "sgd_clipped", "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.01, "max_norm": 0.5},
    {"name": "adam_clipped", "optimizer": "adam", "lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0, "max_norm": 0.25},
    {"name": "sgd_not_clipped", "optimizer": "sgd", "lr": 0.1, "momentum": 0.5, "weight_decay": 0.0, "max_norm": 100.0},
]

CYCLES = [
    {"name": "sgd_momentum", "optimizer": "sgd", "lr": 0.1, "momentum": 0.5, "weight_decay": 0.0,
     "max_lr": 0.2, "pct_start": 0.4, "div_factor": 4.0, "final_div_factor": 10.0, "base_momentum": 0.6, "max_momentum": 0.95},
    {"name": "adam_beta1", "optimizer": "adam", "lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
     "max_lr": 0.02, "pct_start": 0.4, "div_factor": 4.0, "final_div_factor": 10.0, "base_momentum": 0.5, "max_momentum": 0.9},
]

EMAS = [
    {"name": "ema_0.8", "decay": 0.8, "lr": 0.1, "momentum": 0.9},
    {"name": "ema_0.999", "decay": 0.999, "lr": 0.1, "momentum": 0.9},
]


def floats(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def parameters():
    start = formula.state(PARAM_STREAM, SHAPES)
    return [torch.nn.Parameter(torch.from_numpy(start[name].copy())) for name, _ in SHAPES]


def set_grads(params, step):
    grads = formula.state(GRAD_STREAM + step, SHAPES)
    for p, (name, _) in zip(params, SHAPES):
        p.grad = torch.from_numpy(grads[name].copy())


def optimizer(cfg, params):
    if cfg["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=cfg["weight_decay"])
    return torch.optim.Adam(params, lr=cfg["lr"], betas=tuple(cfg["betas"]), eps=cfg["eps"], weight_decay=cfg["weight_decay"])


def named(params):
    return {name: floats(p) for p, (name, _) in zip(params, SHAPES)}


def clip_run(cfg):
    params = parameters()
    opt = optimizer(cfg, params)
    steps, norms = [], []
    for s in range(STEPS):
        set_grads(params, s)
        norms.append(float(torch.nn.utils.clip_grad_norm_(params, cfg["max_norm"])))
        opt.step()
        steps.append(named(params))
    return dict(cfg, norms=norms, steps=steps)


def cycle_run(cfg):
    params = parameters()
    opt = optimizer(cfg, params)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg["max_lr"], total_steps=STEPS, pct_start=cfg["pct_start"], anneal_strategy="cos",
        cycle_momentum=True, base_momentum=cfg["base_momentum"], max_momentum=cfg["max_momentum"],
        div_factor=cfg["div_factor"], final_div_factor=cfg["final_div_factor"])
    steps = []
    for s in range(STEPS):
        set_grads(params, s)
        opt.step()
        sched.step()
        steps.append(named(params))
    return dict(cfg, steps=steps)


class Module(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w, self.b = parameters()
        for name, shape in BUFFER_SHAPES:
            self.register_buffer(name, torch.zeros(shape))


def ema_run(cfg):
    module = Module()
    decay = cfg["decay"]
    averaged = torch.optim.swa_utils.AveragedModel(
        module, avg_fn=lambda avg, w, n: decay * avg + (1 - decay) * w, use_buffers=True)
    opt = torch.optim.SGD(module.parameters(), lr=cfg["lr"], momentum=cfg["momentum"])
    params = [module.w, module.b]
    steps = []
    for s in range(STEPS):
        set_grads(params, s)
        opt.step()
        bufs = formula.state(BUFFER_STREAM + s, BUFFER_SHAPES)
        for name, _ in BUFFER_SHAPES:
            getattr(module, name).copy_(torch.from_numpy(bufs[name].copy()))
        averaged.update_parameters(module)
        avg = averaged.module
        steps.append({name: floats(getattr(avg, name)) for name, _ in SHAPES + BUFFER_SHAPES})
    return dict(cfg, steps=steps)


TTA_SHIFT = 2
TTA_IMAGES = 4
TTA_VIEWS = [(0, 0), (TTA_SHIFT, 0), (-TTA_SHIFT, 0), (0, TTA_SHIFT), (0, -TTA_SHIFT)]  # (dy, dx)


def tta_image(k):
    """A made-up 28x28 image: a bright ring with a stroke, placed by k, on a blank background."""
    img = np.zeros((28, 28), dtype=np.uint8)
    for y in range(28):
        for x in range(28):
            r2 = (y - 12 - k) ** 2 + (x - 11 - 2 * k) ** 2
            if 16 <= r2 <= 40 or (x == 14 + k and 4 <= y <= 24):
                img[y, x] = (97 * (y + 3 * x + k)) % 200 + 55
    return img


def shifted(img, dy, dx):
    out = np.zeros_like(img)
    out[max(0, -dy):min(28, 28 - dy), max(0, -dx):min(28, 28 - dx)] = \
        img[max(0, dy):min(28, 28 + dy), max(0, dx):min(28, 28 + dx)]
    return out


def tta_run():
    model = formula.fill(models.build("cnn"), formula.PARITY).eval()
    images = np.stack([tta_image(k) for k in range(TTA_IMAGES)])
    probs = []
    with torch.no_grad():
        for dy, dx in TTA_VIEWS:
            x = torch.from_numpy(mnist.normalise(np.stack([shifted(img, dy, dx) for img in images])))
            probs.append(torch.softmax(model(x), dim=1))
    mean = torch.stack(probs).mean(0)
    return {"shift": TTA_SHIFT, "images": [img.reshape(-1).tolist() for img in images],
            "probs": [floats(p) for p in mean], "plain": [floats(p) for p in probs[0]]}


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    out = {
        "torch": torch.__version__,
        "shapes": [[name, list(shape)] for name, shape in SHAPES],
        "buffer_shapes": [[name, list(shape)] for name, shape in BUFFER_SHAPES],
        "param_stream": PARAM_STREAM,
        "grad_stream": GRAD_STREAM,
        "buffer_stream": BUFFER_STREAM,
        "clip": [clip_run(c) for c in CLIPS],
        "cycle": [cycle_run(c) for c in CYCLES],
        "ema": [ema_run(c) for c in EMAS],
        "tta": tta_run(),
    }
    json_fixture.write("torch_training_extras.json", out)


if __name__ == "__main__":
    main()
