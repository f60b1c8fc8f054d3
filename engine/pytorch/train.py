"""Train one model the way the classic PyTorch MNIST tutorial does, to set the accuracy targets.

    /usr/bin/python3 engine/pytorch/train.py --model cnn --epochs 10 [--seed 1] [--threads 1]

Data: the real MNIST files (see mnist.py), preloaded as tensors. Each epoch visits the 60000 training
images in a fresh random order in batches of 64, keeping the last partial batch (what
DataLoader(shuffle=True, batch_size=64) does). SGD lr 0.01 momentum 0.5, mean cross-entropy.

Prints the tutorial's lines, e.g.
    [1,   300]: loss: 0.820 , acc: 76.82 %        (running mean over the last 300 batches)
    [1 / 10]: Accuracy on test set: 96.65 %
then one JSON line with the per-epoch results, also written to results/<model>.json.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch

import mnist
import models

RESULTS = Path(__file__).resolve().parent / "results"
EVAL_BATCH = 1000


def evaluate(model, criterion, x, y):
    """Return (mean loss, accuracy %) over the whole set."""
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(x), EVAL_BATCH):
            out = model(x[start : start + EVAL_BATCH])
            target = y[start : start + EVAL_BATCH]
            loss_sum += criterion(out, target).item() * len(target)
            correct += (out.argmax(1) == target).sum().item()
    return loss_sum / len(x), 100.0 * correct / len(x)


def train_epoch(epoch, model, criterion, opt, x, y, args, generator):
    """One pass over the shuffled training set; returns (mean loss per image, accuracy %)."""
    model.train()
    order = torch.randperm(len(x), generator=generator)
    run_loss, run_correct, run_total = 0.0, 0, 0
    epoch_loss, epoch_correct = 0.0, 0
    for i, start in enumerate(range(0, len(x), args.batch)):
        idx = order[start : start + args.batch]
        inputs, target = x[idx], y[idx]
        opt.zero_grad()
        out = model(inputs)
        loss = criterion(out, target)
        loss.backward()
        opt.step()

        batch_loss = loss.item()
        batch_correct = (out.argmax(1) == target).sum().item()
        run_loss += batch_loss
        run_correct += batch_correct
        run_total += len(target)
        epoch_loss += batch_loss * len(target)
        epoch_correct += batch_correct
        if (i + 1) % args.log_interval == 0:
            print(
                "[%d, %5d]: loss: %.3f , acc: %.2f %%"
                % (epoch, i + 1, run_loss / args.log_interval, 100.0 * run_correct / run_total),
                flush=True,
            )
            run_loss, run_correct, run_total = 0.0, 0, 0
    return epoch_loss / len(x), 100.0 * epoch_correct / len(x)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, choices=list(models.MODELS))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--log-interval", type=int, default=300)
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for <model>.json")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_x, train_y = (torch.from_numpy(a) for a in mnist.load("train"))
    test_x, test_y = (torch.from_numpy(a) for a in mnist.load("test"))

    model = models.build(args.model)
    criterion = models.loss_fn()
    opt = models.optimizer(model)
    shuffle = torch.Generator().manual_seed(args.seed)

    started = time.time()
    epochs = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        train_loss, train_acc = train_epoch(epoch, model, criterion, opt, train_x, train_y, args, shuffle)
        seconds = time.perf_counter() - t0
        test_loss, test_acc = evaluate(model, criterion, test_x, test_y)
        print("[%d / %d]: Accuracy on test set: %.2f %%" % (epoch, args.epochs, test_acc), flush=True)
        epochs.append(
            {
                "epoch": epoch,
                "train_loss": round(train_loss, 5),
                "train_acc": round(train_acc, 3),
                "test_loss": round(test_loss, 5),
                "test_acc": round(test_acc, 2),
                "seconds": round(seconds, 2),
                "images_per_sec": round(len(train_x) / seconds, 1),
            }
        )

    result = {
        "model": args.model,
        "epochs": args.epochs,
        "seed": args.seed,
        "threads": args.threads,
        "batch": args.batch,
        "lr": models.LR,
        "momentum": models.MOMENTUM,
        "test_acc": [e["test_acc"] for e in epochs],
        "best_test_acc": max(e["test_acc"] for e in epochs),
        "final_test_acc": epochs[-1]["test_acc"],
        "wall_seconds": round(time.time() - started, 1),
        "per_epoch": epochs,
        "torch": torch.__version__,
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
    }
    line = json.dumps(result)
    print(line, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.model}.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
