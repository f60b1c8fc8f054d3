"""PyTorch's CPU training and inference speed on the four models: the baseline the Go engine must beat.

    /usr/bin/python3 engine/pytorch/bench.py [--model all] [--threads 1,2] [--batches 100]
    /usr/bin/python3 engine/pytorch/bench.py --network engine/testdata/example_network.yaml

--network times a network of config.yaml's format (a file with a network: key, built by
network.py) instead of the built-in models; its JSON lines name it by the file's name: key.

Inputs are random images, normalised like MNIST and preloaded, so only the model is timed.
Training: batch 64, a few warm-up steps, then --batches timed steps of
zero_grad + forward + cross-entropy + backward + SGD(lr 0.01, momentum 0.5).step().
Inference: eval() under torch.no_grad() over 10000 images in batches of 1000, after one warm-up batch.
Each is timed --repeat times and the fastest run is reported: on a shared machine the slow runs measure
the neighbours, not the model.
Prints one JSON object per model and thread count. The numbers move with machine load: the load
average at the start of each measurement is included, and so is the BLAS library in use (to measure
with OpenBLAS instead of Debian's default reference BLAS, install libopenblas0-openmp and run with
LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp).
"""

import argparse
import json
import os
import sys
import time

import torch

import mnist
import models
import network

TRAIN_BATCH = 64
TRAIN_POOL = 16  # distinct preloaded batches, cycled, so the timed loop never builds inputs
WARMUP_STEPS = 5
INFER_IMAGES = 10000
INFER_BATCH = 1000


def loaded_blas():
    """Return the path of the BLAS library this process uses, or None.

    PyTorch's Linear layers go through whatever libblas.so.3 the dynamic loader finds (Debian's torch is
    built against the generic interface), and that choice moves the numbers a lot: netlib's reference
    BLAS is several times slower than OpenBLAS. Convolutions use oneDNN either way.
    """
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.rsplit("/", 1)[-1]}
    except OSError:
        return None
    return ", ".join(sorted(paths)) or None


def random_images(n, generator):
    """Random pixels normalised like MNIST, so activations have the usual scale."""
    pixels = torch.rand(n, 1, 28, 28, generator=generator)
    return (pixels - mnist.MEAN) / mnist.STD


def bench_train(model, steps, repeats, generator):
    """Return seconds per training step, by the wall clock and in CPU time of the whole process, each
    the best of `repeats` timed runs of `steps` steps."""
    xs = random_images(TRAIN_POOL * TRAIN_BATCH, generator).split(TRAIN_BATCH)
    ys = torch.randint(0, 10, (TRAIN_POOL * TRAIN_BATCH,), generator=generator).split(TRAIN_BATCH)
    criterion = models.loss_fn()
    opt = models.optimizer(model)
    model.train()

    def step(i):
        opt.zero_grad()
        loss = criterion(model(xs[i % TRAIN_POOL]), ys[i % TRAIN_POOL])
        loss.backward()
        opt.step()

    for i in range(WARMUP_STEPS):
        step(i)
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(steps):
            step(i)
        best = min(best, (time.perf_counter() - t0) / steps)
        best_cpu = min(best_cpu, (time.process_time() - c0) / steps)
    return best, best_cpu


def bench_infer(model, repeats, generator):
    """Return seconds for one pass over INFER_IMAGES images, by the wall clock and in CPU time, each the
    best of `repeats` passes."""
    batches = random_images(INFER_IMAGES, generator).split(INFER_BATCH)
    model.eval()
    with torch.no_grad():
        model(batches[0])
        best, best_cpu = float("inf"), float("inf")
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            for x in batches:
                model(x)
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        return best, best_cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="all", help="linear, cnn, inception, residual, a comma list, or all")
    parser.add_argument("--threads", default="1,2", help="comma list of torch.set_num_threads values")
    parser.add_argument("--batches", type=int, default=100, help="timed training steps per repeat")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each measurement; the best counts")
    parser.add_argument("--network", help="a YAML file with a network: key, timed instead of --model")
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    if args.batches < 1 or args.repeat < 1 or any(t < 1 for t in threads):
        raise SystemExit("--batches, --repeat and every --threads value must be at least 1")

    if args.network:
        import yaml

        with open(args.network) as f:
            doc = yaml.safe_load(f)
        if not isinstance(doc, dict) or not isinstance(doc.get("network"), list):
            raise SystemExit(f"{args.network}: no network: list; write one as in config.yaml")
        names = [doc.get("name") or os.path.basename(args.network)]
        build = lambda _: network.build(doc["network"])  # noqa: E731
    else:
        names = models.model_names(args.model)
        build = models.build
    for name in names:
        for t in threads:
            torch.set_num_threads(t)
            torch.manual_seed(0)
            generator = torch.Generator().manual_seed(0)
            model = build(name)
            load = os.getloadavg()[0]
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            step_s, step_cpu_s = bench_train(model, args.batches, args.repeat, generator)
            infer_s, infer_cpu_s = bench_infer(model, args.repeat, generator)
            print(
                json.dumps(
                    {
                        "model": name,
                        "threads": t,
                        "train_batch": TRAIN_BATCH,
                        "train_steps": args.batches,
                        "repeats": args.repeat,
                        "train_ms_per_step": round(step_s * 1e3, 3),
                        "train_img_s": round(TRAIN_BATCH / step_s, 1),
                        "infer_batch": INFER_BATCH,
                        "infer_img_s": round(INFER_IMAGES / infer_s, 1),
                        # Per second of the process's CPU time (all its threads): steadier than the
                        # wall clock when other processes share the cores.
                        "train_img_cpu_s": round(TRAIN_BATCH / step_cpu_s, 1),
                        "infer_img_cpu_s": round(INFER_IMAGES / infer_cpu_s, 1),
                        "allocs_per_step": None,  # not measurable from Python; the Go side reports its own
                        "torch": torch.__version__,
                        "blas": loaded_blas(),
                        "time_utc": when,
                        "loadavg_1m": round(load, 2),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    sys.exit(main())
