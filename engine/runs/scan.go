package runs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Scanner scans one runs folder again and again cheaply: a folder whose
// files have not changed since the last scan is not read again. It is safe
// for use by several goroutines.
type Scanner struct {
	dir string
	now func() time.Time // tests fix the clock

	mu    sync.Mutex
	cache map[string]cached // by folder name
}

// cached is a parsed folder with what its parse depended on.
type cached struct {
	stamp  stamp
	folder folder
}

// stamp identifies the version of a folder's files: when none of these
// change, neither did the files (the trainer only appends to metrics.jsonl
// and replaces config.yaml by rename).
type stamp struct {
	dirMod     time.Time
	metricsMod time.Time
	metricsLen int64
	configMod  time.Time
}

// NewScanner prepares to scan dir.
func NewScanner(dir string) *Scanner {
	return &Scanner{dir: dir, now: time.Now, cache: map[string]cached{}}
}

// Dir is the runs folder the scanner reads.
func (s *Scanner) Dir() string { return s.dir }

// Scan reads every run folder in the runs folder, newest first. A missing
// folder is no runs yet; only one that exists and cannot be listed is an
// error.
func (s *Scanner) Scan() ([]Run, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("runs folder %s: %w", s.dir, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	seen := make(map[string]bool, len(entries))
	var out []Run
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue // temporary files of atomic writes, editors' leftovers
		}
		path := filepath.Join(s.dir, name)
		info, err := os.Stat(path) // follows a symlinked run folder
		if err != nil {
			if e.Type()&fs.ModeSymlink != 0 {
				out = append(out, Run{ID: name, Dir: path, State: Damaged, Problem: "broken link: " + err.Error(),
					Started: startTime(name, time.Time{})})
			}
			continue // vanished since the listing
		}
		if !info.IsDir() {
			continue // compare-*.md, plots and other files
		}
		seen[name] = true
		st := stampOf(path, info)
		c, ok := s.cache[name]
		if !ok || c.stamp != st {
			c = cached{stamp: st, folder: readFolder(path, info.ModTime())}
			s.cache[name] = c
		}
		out = append(out, c.folder.settle(now))
	}
	for name := range s.cache {
		if !seen[name] {
			delete(s.cache, name)
		}
	}
	sortNewestFirst(out)
	return out, nil
}

func stampOf(dir string, info fs.FileInfo) stamp {
	st := stamp{dirMod: info.ModTime()}
	if m, err := os.Stat(filepath.Join(dir, MetricsFile)); err == nil {
		st.metricsMod, st.metricsLen = m.ModTime(), m.Size()
	}
	if c, err := os.Stat(filepath.Join(dir, ConfigFile)); err == nil {
		st.configMod = c.ModTime()
	}
	return st
}

// sortNewestFirst orders runs by start time, newest first; runs started in
// the same second are told apart by their ids ("...-cnn-2" came after
// "...-cnn").
func sortNewestFirst(rs []Run) {
	slices.SortStableFunc(rs, func(a, b Run) int {
		if c := b.Started.Compare(a.Started); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
}
