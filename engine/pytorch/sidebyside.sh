#!/bin/sh
# sidebyside.sh: PyTorch and mnist-tui timed in pairs, model by model, so that the machine's drift
# (on a shared VM, +-30 % within minutes, as other tenants come and go) hits both sides of a pair
# alike. Each pair is one model on both sides back to back, each at 1 and 2 threads, best of
# --repeat runs; the side that goes first alternates from round to round. Every block is preceded
# by a "== round ..." line with the load average and the CPU time the hypervisor stole from this
# VM during the block before it, and each round starts with a probe of the machine's state: the
# AVX-512 forward-convolution kernel alone, on data in cache (BenchmarkConvDirect; about 140
# GFLOP/s on a quiet core of this project's Xeon). summarize_sidebyside.py reads the file.
#
# Usage, from the repository root, with nothing else running:
#   engine/pytorch/sidebyside.sh OUT [ROUNDS] [REPEAT]
# Needs PyTorch 1.13 and OpenBLAS (apt-get install python3-torch python3-torchvision
# libopenblas0-openmp); appends to OUT.
set -eu
if [ $# -lt 1 ] || [ $# -gt 3 ]; then
	echo "usage: engine/pytorch/sidebyside.sh OUT [ROUNDS] [REPEAT]   (from the repository root; appends to OUT)" >&2
	exit 2
fi
if [ ! -f engine/pytorch/bench.py ]; then
	echo "sidebyside.sh: run it from the repository root (no engine/pytorch/bench.py here)" >&2
	exit 2
fi
out=$1
rounds=${2:-6}
repeat=${3:-4}
openblas=/usr/lib/x86_64-linux-gnu/openblas-openmp
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/mnist-tui" .
go test -c -o "$bin/engine.test" ./engine/
go test -c -o "$bin/kernels.test" ./engine/kernels/

# steal prints the hypervisor's stolen CPU time so far, in clock ticks (/proc/stat, 8th field).
steal() { awk '/^cpu /{print $9}' /proc/stat; }
last=$(steal)
# mark starts a block: round, model, side, the load, and the ticks stolen since the last mark.
mark() {
	now=$(steal)
	echo "== round $1 $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg) stolen $((now - last)) $2 $3" >>"$out"
	last=$now
}

pytorch() { # model
	if [ "$1" = example ]; then
		set -- --network engine/testdata/example_network.yaml
	else
		set -- --model "$1"
	fi
	LD_LIBRARY_PATH=$openblas /usr/bin/python3 engine/pytorch/bench.py "$@" --threads 1,2 --batches 50 --repeat "$repeat" >>"$out" 2>&1
}

ours() { # model kernels
	if [ "$1" = example ]; then # bench times only the built-in models; the engine's benchmark times networks
		(cd engine && MNIST_TUI_KERNELS=$2 "$bin/engine.test" -test.run '^$' -test.bench 'CustomTrainStep/example/' \
			-test.benchtime 50x -test.count "$repeat") >>"$out" 2>&1
		return
	fi
	for threads in 1 2; do
		"$bin/mnist-tui" bench --json --model "$1" --kernels "$2" --batches 50 --repeat "$repeat" --threads "$threads" >>"$out" 2>&1
	done
}

echo "# commit $(git rev-parse --short HEAD), $(grep -m1 'model name' /proc/cpuinfo), repeat $repeat" >>"$out"
for r in $(seq 1 "$rounds"); do
	mark "$r" probe -
	(cd engine/kernels && "$bin/kernels.test" -test.run '^$' -test.bench 'ConvDirect/incep-5x5' -test.benchtime 300ms) >>"$out" 2>&1
	for model in linear cnn residual inception example; do
		sides="pytorch ours"
		[ $((r % 2)) -eq 0 ] && sides="ours pytorch"
		for side in $sides; do
			if [ "$side" = pytorch ]; then
				mark "$r" "$model" pytorch
				pytorch "$model"
			else
				for kernels in avx512 avx2; do
					mark "$r" "$model" "ours $kernels"
					ours "$model" "$kernels"
				done
			fi
		done
	done
done
mark end - -
