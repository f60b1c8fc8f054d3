"""Summarise a sidebyside.sh file: mnist-tui against PyTorch, pair by pair.

    /usr/bin/python3 engine/pytorch/summarize_sidebyside.py engine/pytorch/results/FILE.txt [FILE...]

A pair is one model measured on both sides back to back in one round; each side counts its best
over 1 and 2 threads. Per model it prints the median of the pairs' ratios with their range and how
many pairs reach the target, the ratio of the two sides' bests over all rounds, and the same for
AVX-512 against AVX2 and for inference (the example network's benchmark times training only);
the training ratios at 1 and at 2 threads alone, with what 2 threads gain over 1 on each side; then
the same as the rows of the README's speed table.
"""

import json
import re
import statistics
import sys
from collections import defaultdict

MODELS = ["linear", "cnn", "residual", "inception", "example"]
TRAIN_TARGET = {"linear": 1.5, "cnn": 4.0, "residual": 2.0, "inception": 2.0, "example": 2.0}
INFER_TARGET = 2.0
AVX512_TARGET = 1.4  # over avx2, cnn, residual and inception

HEADER = re.compile(r"== round (\d+) \S+ load (\S+) stolen (-?\d+) (\S+) (\S+)(?: (\S+))?")
PROBE = re.compile(r"BenchmarkConvDirect/\S+\s+\d+\s+\d+ ns/op\s+(\S+) GFLOP/s")
GO_BENCH = re.compile(r"BenchmarkCustomTrainStep/\S+/threads=(\d+)\S*\s+\d+\s+\d+ ns/op\s+\S+ images/cpu-s\s+(\S+) images/s")


def read(paths):
    """best[(side, model, metric)][(file, round)] = images/s, the best of that round's lines
    (metric "train", "infer", or "train@T" for T threads alone); the ticks stolen in each block;
    the probe's GFLOP/s in each round."""
    best = defaultdict(dict)
    stolen, probes = [], []
    for i, path in enumerate(paths):
        read_file(path, i, best, stolen, probes)
    return best, stolen, probes


def read_file(path, i, best, stolen, probes):
    """Adds file i's lines to read's results; a block's lines count for the model and side of the
    "== round" line above them."""
    block = None
    with open(path) as f:
        for line in f:
            m = HEADER.match(line)
            if m:
                r, load, ticks, model, side, kernels = m.groups()
                stolen.append(int(ticks))
                block = ((i, int(r)), model, side if side == "pytorch" else f"ours-{kernels}")
                continue
            if block is None:
                continue
            r, model, side = block
            values = {}
            if line.startswith("{"):
                j = json.loads(line)
                values = {"train": j["train_img_s"], "infer": j["infer_img_s"], f"train@{j['threads']}": j["train_img_s"]}
            elif g := GO_BENCH.search(line):
                values = {"train": float(g.group(2)), f"train@{g.group(1)}": float(g.group(2))}
            elif g := PROBE.search(line):
                probes.append(float(g.group(1)))
            for metric, v in values.items():
                d = best[(side, model, metric)]
                d[r] = max(d.get(r, 0.0), v)


def compare(ours, base):
    """(median of pair ratios, min, max, ratios, ratio of bests), or None without pairs."""
    rounds = sorted(set(ours) & set(base))
    if not rounds:
        return None
    ratios = [ours[r] / base[r] for r in rounds]
    return statistics.median(ratios), min(ratios), max(ratios), ratios, max(ours.values()) / max(base.values())


def line(name, c, target):
    med, lo, hi, ratios, bests = c
    met = sum(x >= target for x in ratios)
    return f"{name} median {med:.2f}x ({lo:.2f}-{hi:.2f}), {met}/{len(ratios)} pairs >= {target}x, bests {bests:.2f}x"


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: summarize_sidebyside.py FILE [FILE...]   (files that sidebyside.sh wrote)")
    best, stolen, probes = read(sys.argv[1:])
    if not stolen:
        sys.exit(f"{', '.join(sys.argv[1:])}: no '== round' lines; is this a file sidebyside.sh wrote?")
    print(f"stolen ticks per block: median {statistics.median(stolen)}, max {max(stolen)}")
    if probes:
        print("probe GFLOP/s by round: " + ", ".join(f"{p:.0f}" for p in probes))
    for model in MODELS:
        pt, fast, avx2 = (best[(s, model, "train")] for s in ("pytorch", "ours-avx512", "ours-avx2"))
        if not pt or not fast:
            continue
        print(f"{model}: PyTorch best {max(pt.values()):,.0f}, ours best {max(fast.values()):,.0f} img/s")
        print("  " + line("train", compare(fast, pt), TRAIN_TARGET[model]))
        if model not in ("linear", "example") and avx2:
            print("  " + line("avx512/avx2", compare(fast, avx2), AVX512_TARGET))
        c = compare(best[("ours-avx512", model, "infer")], best[("pytorch", model, "infer")])
        if c:
            print("  " + line("infer", c, INFER_TARGET))
        print("  " + by_threads(best, model))
    print()
    for model in MODELS:
        print(row(best, model))


def by_threads(best, model):
    """The median training ratio at 1 and at 2 threads, and each side's median gain from 1 to 2."""
    def on(side, threads):
        return best[(side, model, f"train@{threads}")]

    parts = []
    for threads in (1, 2):
        c = compare(on("ours-avx512", threads), on("pytorch", threads))
        if c:
            parts.append(f"{threads} thread(s) median {c[0]:.2f}x")
    for side, name in (("ours-avx512", "ours"), ("pytorch", "PyTorch")):
        c = compare(on(side, 2), on(side, 1))
        if c:
            parts.append(f"{name} 2/1 threads {c[0]:.2f}x")
    return "train by threads: " + ", ".join(parts)


def row(best, model):
    """The README's speed table row of model: bests, and the pairs' median ratios with their range."""
    def cells(side, metric):
        d = best[(side, model, metric)]
        return f"{max(d.values()):,.0f}" if d else "-"

    def ratio(ours, base, metric):
        c = compare(best[(ours, model, metric)], best[(base, model, metric)])
        return f"{c[0]:.2f}x ({c[1]:.2f}-{c[2]:.2f})" if c else "-"

    train = compare(best[("ours-avx512", model, "train")], best[("pytorch", model, "train")])
    met = f"{sum(x >= TRAIN_TARGET[model] for x in train[3])}/{len(train[3])}" if train else "-"
    return " | ".join([
        "| Xeon (AVX-512), 2 vCPUs", model, "1.13, OpenBLAS, oneDNN (AVX-512)",
        cells("pytorch", "train"), cells("ours-avx512", "train"),
        ratio("ours-avx512", "pytorch", "train"), f"{TRAIN_TARGET[model]:g}x: {met}",
        cells("ours-avx2", "train"), ratio("ours-avx512", "ours-avx2", "train"),
        cells("pytorch", "infer"), cells("ours-avx512", "infer"),
        ratio("ours-avx512", "pytorch", "infer") + " |",
    ])


if __name__ == "__main__":
    main()
