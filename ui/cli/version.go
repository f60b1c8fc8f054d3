package cli

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// versionText describes the build: the program's Version, then from the
// Go tool's build info the module version (a pseudo-version or "(devel)"), the git revision it was
// built from and whether the tree had changes, and the Go version.
func versionText(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return "mnist-tui: no build information (not built by the go tool with module support)\n"
	}
	var b strings.Builder
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	// Version is what checkpoints record; the module version is the Go
	// tool's (a pseudo-version, or "(devel)" for a build from a checkout).
	fmt.Fprintf(&b, "mnist-tui %s\nmodule %s %s\n", Version, info.Main.Path, version)
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		fmt.Fprintf(&b, "revision %s", rev)
		if settings["vcs.modified"] == "true" {
			b.WriteString(" with uncommitted changes")
		}
		if t := settings["vcs.time"]; t != "" {
			fmt.Fprintf(&b, " (committed %s)", t)
		}
		b.WriteString("\n")
	} else {
		b.WriteString("revision unknown (built without version control information, e.g. by go run or from a copy without .git)\n")
	}
	fmt.Fprintf(&b, "built with %s", info.GoVersion)
	if goos, goarch := settings["GOOS"], settings["GOARCH"]; goos != "" && goarch != "" {
		fmt.Fprintf(&b, " for %s/%s", goos, goarch)
	}
	b.WriteString("\n")
	return b.String()
}
