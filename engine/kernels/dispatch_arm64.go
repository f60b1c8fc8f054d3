//go:build arm64 && !purego

package kernels

import "os"

// KernelsEnv names the environment variable that forces a kernel set: "neon" or "go"
// ("" or "auto": neon, which every arm64 CPU runs).
const KernelsEnv = "MNIST_TUI_KERNELS"

// active and activeElem are the kernels Sgemm and the elementwise functions run, chosen once
// at start-up.
var active, activeElem = armSet(os.Getenv(KernelsEnv))

// armSet is the kernel set named by name; anything but "go" is NEON.
func armSet(name string) (kernel, elemOps) {
	if name == "go" {
		return goKernel, goElem
	}
	return neonKernel, neonElem
}
