package dataset

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// A Source is a place the compressed files of a data set can be copied
// from. Whatever it returns is verified before use, so a source need not
// be trusted.
type Source interface {
	// String names the source in logs and errors.
	String() string
	// Open starts reading one file, e.g. "train-images-idx3-ubyte.gz".
	// size is -1 when unknown. A missing file is reported with an error
	// that wraps fs.ErrNotExist, so the caller can keep using the source
	// for the other files.
	Open(ctx context.Context, file string) (rc io.ReadCloser, size int64, err error)
}

// DirSource reads the files from a local folder, e.g. the one a Debian
// package installs.
func DirSource(dir string) Source { return dirSource{dir: dir} }

type dirSource struct{ dir string }

func (s dirSource) String() string { return "folder " + s.dir }

func (s dirSource) Open(_ context.Context, file string) (io.ReadCloser, int64, error) {
	f, err := os.Open(filepath.Join(s.dir, file))
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// HTTPSource downloads the files from baseURL (ending in "/"). A nil client
// uses one with short connect timeouts, so an unreachable mirror fails fast
// and the next source gets its turn.
func HTTPSource(baseURL string, client *http.Client) Source {
	if client == nil {
		client = defaultHTTPClient()
	}
	return httpSource{base: baseURL, client: client}
}

// downloadTimeout bounds one file's whole download, so a stalled server
// cannot hang a run forever; the largest file is about 26 MB.
const downloadTimeout = 10 * time.Minute

func defaultHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}}
}

type httpSource struct {
	base   string
	client *http.Client
}

func (s httpSource) String() string { return s.base }

func (s httpSource) Open(ctx context.Context, file string) (io.ReadCloser, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, downloadTimeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+file, nil)
	if err != nil {
		cancel()
		return nil, 0, err
	}
	// The file is gzip already; a transport that decompressed it on the fly
	// would make the cached copy raw data under a .gz name.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := s.client.Do(req)
	if err != nil {
		cancel()
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		err := fmt.Errorf("GET %s: %s", req.URL, resp.Status)
		if resp.StatusCode == http.StatusNotFound {
			err = fmt.Errorf("%w (%w)", err, fs.ErrNotExist)
		}
		return nil, 0, err
	}
	return &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}, resp.ContentLength, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// GoModuleSource takes the files from the data/ folder of a Go module,
// fetched through the Go module proxy by the go tool (`go mod download`),
// which must be on PATH. The module is downloaded once per source value.
func GoModuleSource(module, version string) Source {
	return &goModuleSource{module: module, version: version, goTool: "go"}
}

type goModuleSource struct {
	module, version string
	goTool          string // tests substitute a fake

	mu  sync.Mutex
	dir string // module's folder once downloaded
}

func (s *goModuleSource) String() string {
	return "Go module " + s.module + "@" + s.version
}

func (s *goModuleSource) Open(ctx context.Context, file string) (io.ReadCloser, int64, error) {
	dir, err := s.download(ctx)
	if err != nil {
		return nil, 0, err
	}
	return dirSource{dir: filepath.Join(dir, "data")}.Open(ctx, file)
}

// download runs `go mod download -json` and returns the module's folder in
// the module cache. Only success is remembered: a cancelled or failed run
// may succeed next time.
func (s *goModuleSource) download(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir != "" {
		return s.dir, nil
	}

	// Run in a throwaway module of our own, so the go tool never edits the
	// go.mod or go.sum of whatever folder the program was started in.
	work, err := os.MkdirTemp("", "mnist-tui-gomod-")
	if err != nil {
		return "", fmt.Errorf("go mod download: %w", err)
	}
	defer os.RemoveAll(work)
	if err := os.WriteFile(filepath.Join(work, "go.mod"), []byte("module mnisttuifetch\n"), 0o644); err != nil {
		return "", fmt.Errorf("go mod download: %w", err)
	}

	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, s.goTool, "mod", "download", "-json", s.module+"@"+s.version)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "GOWORK=off")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	if errors.Is(runErr, exec.ErrNotFound) {
		return "", fmt.Errorf("the go tool (%q) is not on PATH: %w", s.goTool, runErr)
	}

	// The go tool reports a failed download in the JSON's Error field and
	// exits 1, so read the JSON before looking at the exit status.
	var result struct{ Dir, Error string }
	jsonErr := json.Unmarshal(stdout.Bytes(), &result)
	switch {
	case jsonErr == nil && result.Error != "":
		return "", fmt.Errorf("go mod download: %s", result.Error)
	case runErr != nil:
		return "", fmt.Errorf("go mod download: %w: %s", runErr, strings.TrimSpace(stderr.String()))
	case jsonErr != nil:
		return "", fmt.Errorf("go mod download: unreadable output %q: %w", stdout.String(), jsonErr)
	case result.Dir == "":
		return "", errors.New("go mod download: the output names no module folder (Dir)")
	}
	s.dir = result.Dir
	return s.dir, nil
}
