"""Training speed of a custom network, mnist-tui's engine against PyTorch, in alternating rounds.

    go test -c -o /tmp/engine.test ./engine/
    /usr/bin/python3 engine/pytorch/bench_network.py --go after=/tmp/engine.test [--go before=/tmp/old.test] \
        [--rounds 3] >> engine/pytorch/results/network.jsonl

Each round runs every --go test binary's BenchmarkCustomTrainStep (issue 15's example network,
engine/testdata/example_network.yaml, batch 64, 1 and 2 threads) and bench.py --network on the same
file (PyTorch with OpenBLAS, 1 and 2 threads), the order reversed every other round, so that a change
in the machine's load falls on both sides. Prints one JSON object per measurement: images/s by the wall
clock and per CPU-second of the process (steadier when other processes share the cores), the round, the
load average. Compare ranges over the rounds, not single numbers.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINE = os.path.dirname(HERE)
NETWORK = os.path.join(ENGINE, "testdata", "example_network.yaml")
OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-openmp"

# BenchmarkCustomTrainStep/example/threads=1-2  60  28285316 ns/op  2388 images/cpu-s  2263 images/s  0 B/op  0 allocs/op
GO_LINE = re.compile(
    r"^BenchmarkCustomTrainStep/example/threads=(\d+)\S*\s+(\d+)\s+([\d.]+) ns/op\s+([\d.]+) images/cpu-s"
    r"\s+([\d.]+) images/s\s+(\d+) B/op\s+(\d+) allocs/op"
)


def stamp(record, rnd):
    record.update(round=rnd, time_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  loadavg_1m=round(os.getloadavg()[0], 2))
    print(json.dumps(record), flush=True)


def run_go(name, binary, steps, rnd):
    out = subprocess.run(
        [binary, "-test.run", "^$", "-test.bench", "CustomTrainStep", "-test.benchtime", f"{steps}x"],
        cwd=ENGINE, capture_output=True, text=True, check=True,
    ).stdout
    for line in out.splitlines():
        m = GO_LINE.match(line)
        if m:
            stamp({"impl": f"mnist-tui {name}", "model": "example", "threads": int(m[1]), "train_batch": 64,
                   "train_steps": int(m[2]), "train_ms_per_step": round(float(m[3]) / 1e6, 3),
                   "train_img_cpu_s": float(m[4]), "train_img_s": float(m[5]),
                   "bytes_per_step": int(m[6]), "allocs_per_step": int(m[7])}, rnd)


def run_torch(steps, rnd):
    env = dict(os.environ, LD_LIBRARY_PATH=OPENBLAS)
    out = subprocess.run(
        [sys.executable, os.path.join(HERE, "bench.py"), "--network", NETWORK, "--threads", "1,2",
         "--batches", str(steps), "--repeat", "2"],
        cwd=HERE, env=env, capture_output=True, text=True, check=True,
    ).stdout
    for line in out.splitlines():
        record = json.loads(line)
        record["impl"] = "pytorch"
        stamp(record, rnd)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--go", action="append", default=[], metavar="NAME=BINARY",
                        help="an engine test binary (go test -c ./engine/) to time; repeatable")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=60, help="training steps per measurement")
    args = parser.parse_args()
    binaries = []
    for spec in args.go:
        name, sep, path = spec.partition("=")
        if not sep or not os.access(path, os.X_OK):
            raise SystemExit(f"--go {spec}: want NAME=BINARY, an executable from go test -c ./engine/")
        binaries.append((name, os.path.abspath(path)))
    if not binaries or args.rounds < 1 or args.steps < 1:
        raise SystemExit("give at least one --go NAME=BINARY, and --rounds and --steps of at least 1")
    for rnd in range(1, args.rounds + 1):
        sides = [lambda name=n, b=b: run_go(name, b, args.steps, rnd) for n, b in binaries]
        sides.append(lambda: run_torch(args.steps, rnd))
        for side in sides if rnd % 2 else reversed(sides):
            side()


if __name__ == "__main__":
    sys.exit(main())
