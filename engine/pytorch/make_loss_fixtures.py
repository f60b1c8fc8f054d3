"""Writes engine/testdata/torch_label_smoothing.json: torch.nn.CrossEntropyLoss(label_smoothing=s)
on a batch of 6 logits rows, its mean loss and its gradient with respect to the logits.

The logits are formula.py stream 30 ([6, 10], fan-in 10, so in [-1/4, 1/4)) times 16, exact in
float32; engine/loss_test.go builds the same ones from engine/internal/fixture.

    /usr/bin/python3 engine/pytorch/make_loss_fixtures.py
"""

import torch

import formula
import json_fixture

STREAM = 30
SCALE = 16.0
LABELS = [3, 7, 0, 9, 1, 5]
SMOOTHINGS = [0.0, 0.1, 0.3, 1.0]


def main():
    torch.set_num_threads(1)
    base = torch.from_numpy(formula.values(STREAM, 0, (6, 10), 10) * SCALE)
    target = torch.tensor(LABELS)
    cases = []
    for s in SMOOTHINGS:
        logits = base.clone().requires_grad_(True)
        loss = torch.nn.CrossEntropyLoss(label_smoothing=s)(logits, target)
        loss.backward()
        cases.append({"label_smoothing": s, "loss": float(loss.item()),
                      "grad": [float(v) for v in logits.grad.reshape(-1).tolist()]})
    out = {"torch": torch.__version__, "stream": STREAM, "scale": SCALE, "labels": LABELS, "cases": cases}
    json_fixture.write("torch_label_smoothing.json", out)


if __name__ == "__main__":
    main()
