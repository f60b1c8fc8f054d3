"""Writes engine/testdata/torch_schedules.json: the learning rate of every step of whole runs
under torch.optim.lr_scheduler, stepped after every batch as mnist-tui steps its schedules.

Each case names the config.yaml settings (schedule, learning_rate, warmup_steps, ...) and the
run's length in steps; "lrs" is param_groups[0]["lr"] before each optimizer step. Warmup is
LinearLR(start_factor=1/(warmup+1), total_iters=warmup) followed by the schedule in SequentialLR
(for constant, LinearLR alone). OneCycleLR runs with cycle_momentum=False unless a case sets
cycle_momentum; then "momentums" is the optimizer's momentum (SGD) or betas[0] (Adam) before each
step. engine/schedule/schedule_test.go compares them with schedule.Rate and schedule.Momentum.

    /usr/bin/python3 engine/pytorch/make_schedule_fixtures.py
"""

import torch
from torch.optim import lr_scheduler

import json_fixture

EPOCH = 938  # steps in an epoch of MNIST at batch 64

CASES = [
    {"name": "constant", "schedule": "constant", "learning_rate": 0.01, "steps": EPOCH},
    {"name": "constant_warmup", "schedule": "constant", "learning_rate": 0.01, "warmup_steps": 100, "steps": 400},
    {"name": "step_per_epoch", "schedule": "step", "learning_rate": 1.0, "step_size": EPOCH, "gamma": 0.7, "steps": 3 * EPOCH},
    {"name": "step_small", "schedule": "step", "learning_rate": 0.1, "step_size": 7, "gamma": 0.5, "steps": 200},
    {"name": "step_warmup", "schedule": "step", "learning_rate": 0.05, "step_size": 300, "gamma": 0.1, "warmup_steps": 50, "steps": 1500},
    {"name": "cosine_run", "schedule": "cosine", "learning_rate": 0.01, "t_max": 3 * EPOCH, "eta_min": 0.0, "steps": 3 * EPOCH},
    {"name": "cosine_eta_min_past_t_max", "schedule": "cosine", "learning_rate": 0.1, "t_max": 500, "eta_min": 0.001, "steps": 1600},
    {"name": "cosine_warmup", "schedule": "cosine", "learning_rate": 0.003, "t_max": 2000, "eta_min": 1e-5, "warmup_steps": 200, "steps": 2200},
    {"name": "onecycle_run", "schedule": "onecycle", "learning_rate": 0.01, "max_lr": 0.1, "t_max": 2 * EPOCH,
     "pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4, "steps": 2 * EPOCH},
    {"name": "onecycle_short_climb", "schedule": "onecycle", "learning_rate": 0.004, "max_lr": 0.004, "t_max": 1000,
     "pct_start": 0.05, "div_factor": 10.0, "final_div_factor": 100.0, "steps": 1000},
    {"name": "onecycle_cycle_momentum_sgd", "schedule": "onecycle", "learning_rate": 0.05, "max_lr": 0.05, "t_max": 600,
     "pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4, "steps": 600,
     "optimizer": "sgd", "cycle_momentum": True, "base_momentum": 0.85, "max_momentum": 0.95},
    {"name": "onecycle_cycle_beta1_adam", "schedule": "onecycle", "learning_rate": 0.001, "max_lr": 0.004, "t_max": 500,
     "pct_start": 0.25, "div_factor": 10.0, "final_div_factor": 100.0, "steps": 500,
     "optimizer": "adam", "cycle_momentum": True, "base_momentum": 0.8, "max_momentum": 0.9},
]


def scheduler(case, opt):
    warmup = case.get("warmup_steps", 0)
    kind = case["schedule"]
    if kind == "constant":
        main = None
    elif kind == "step":
        main = lr_scheduler.StepLR(opt, step_size=case["step_size"], gamma=case["gamma"])
    elif kind == "cosine":
        main = lr_scheduler.CosineAnnealingLR(opt, T_max=case["t_max"], eta_min=case["eta_min"])
    elif kind == "onecycle":
        assert warmup == 0
        return lr_scheduler.OneCycleLR(opt, max_lr=case["max_lr"], total_steps=case["t_max"], pct_start=case["pct_start"],
                                       anneal_strategy="cos", div_factor=case["div_factor"],
                                       final_div_factor=case["final_div_factor"],
                                       cycle_momentum=case.get("cycle_momentum", False),
                                       base_momentum=case.get("base_momentum", 0.85),
                                       max_momentum=case.get("max_momentum", 0.95))
    else:
        raise ValueError(kind)
    if warmup == 0:
        return main
    # Built before the schedule it precedes: each scheduler sets the rate when it is made, and
    # SequentialLR restarts from the first one's.
    warm = lr_scheduler.LinearLR(opt, start_factor=1 / (warmup + 1), end_factor=1.0, total_iters=warmup)
    if main is None:
        return warm
    return lr_scheduler.SequentialLR(opt, schedulers=[warm, main], milestones=[warmup])


def run(case):
    param = torch.nn.Parameter(torch.zeros(1))
    if case.get("optimizer") == "adam":
        opt = torch.optim.Adam([param], lr=case["learning_rate"])
    else:
        # Momentum 0.5, as the tutorial's; cycle_momentum replaces it.
        opt = torch.optim.SGD([param], lr=case["learning_rate"], momentum=0.5)
    sched = scheduler(case, opt)
    lrs, momentums = [], []
    for _ in range(case["steps"]):
        group = opt.param_groups[0]
        lrs.append(group["lr"])
        momentums.append(group["betas"][0] if "betas" in group else group["momentum"])
        param.grad = torch.zeros(1)
        opt.step()
        if sched is not None:
            sched.step()
    # 12 significant digits (a relative rounding of at most 5e-12, far below the test's 1e-7)
    # keep the file small.
    out = dict(case, lrs=[float("%.12g" % lr) for lr in lrs])
    if case.get("cycle_momentum"):
        out["momentums"] = [float("%.12g" % m) for m in momentums]
    return out


def main():
    import warnings
    warnings.simplefilter("ignore")  # SequentialLR's deprecated step(epoch) call inside PyTorch
    out = {"torch": torch.__version__, "cases": [run(c) for c in CASES]}
    json_fixture.write("torch_schedules.json", out, compact=True)


if __name__ == "__main__":
    main()
