package runs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func ids(rs []Run) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID+"="+string(r.State))
	}
	return strings.Join(out, " ")
}

func TestScanListsGoodPartialAndCorruptFoldersNewestFirst(t *testing.T) {
	runsDir := t.TempDir()
	done := jsonl(t, start("cnn", 1, 1, 0, 0), epochResult(1, 98, 30, 2000), end("done"))
	partial := jsonl(t, start("linear", 5, 1, 0, 0), epochResult(1, 91, 3, 20000))
	age(t, writeRun(t, runsDir, "20250101-100000-cnn", &done), time.Hour)
	age(t, writeRun(t, runsDir, "20250101-110000-linear", &partial), time.Hour)
	age(t, writeRun(t, runsDir, "20250101-120000-cnn", ptr("not json at all\n")), time.Hour)
	age(t, writeRun(t, runsDir, "20250101-120000-cnn-2", nil), time.Hour)
	// Not runs: files next to them, hidden folders.
	os.WriteFile(filepath.Join(runsDir, "compare-20250101-130000.md"), []byte("| model |"), 0o644)
	os.WriteFile(filepath.Join(runsDir, "compare-20250101-130000-accuracy.svg"), []byte("<svg/>"), 0o644)
	os.Mkdir(filepath.Join(runsDir, ".tmp-123"), 0o755)

	got, err := NewScanner(runsDir).Scan()
	if err != nil {
		t.Fatal(err)
	}
	want := "20250101-120000-cnn-2=damaged 20250101-120000-cnn=damaged 20250101-110000-linear=interrupted 20250101-100000-cnn=done"
	if ids(got) != want {
		t.Errorf("scan:\n got %s\nwant %s", ids(got), want)
	}
	if p := got[1].Problem; p != "metrics.jsonl line 1: invalid JSON" {
		t.Errorf("corrupt folder's problem %q", p)
	}
	if got[2].BestAcc != 91 || got[3].BestAcc != 98 {
		t.Errorf("best accuracies %v, %v", got[2].BestAcc, got[3].BestAcc)
	}
}

func TestScanWithoutIDTimesOrdersByModificationTime(t *testing.T) {
	runsDir := t.TempDir()
	m := jsonl(t, start("cnn", 1, 1, 0, 0), end("done"))
	age(t, writeRun(t, runsDir, "zebra", &m), 3*time.Hour)
	age(t, writeRun(t, runsDir, "apple", &m), 1*time.Hour)
	age(t, writeRun(t, runsDir, "mango", &m), 2*time.Hour)
	got, err := NewScanner(runsDir).Scan()
	if err != nil {
		t.Fatal(err)
	}
	if want := "apple=done mango=done zebra=done"; ids(got) != want {
		t.Errorf("got %s, want %s", ids(got), want)
	}
}

func TestScanOfAMissingFolderIsEmpty(t *testing.T) {
	got, err := NewScanner(filepath.Join(t.TempDir(), "runs")).Scan()
	if err != nil || len(got) != 0 {
		t.Errorf("got %v, %v; want no runs and no error", got, err)
	}
}

func TestScanOfAnUnreadableFolderFails(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "runs")
	os.WriteFile(notADir, []byte("x"), 0o644)
	if _, err := NewScanner(notADir).Scan(); err == nil || !strings.Contains(err.Error(), notADir) {
		t.Errorf("err %v, want one naming %s", err, notADir)
	}
}

func TestScanFollowsLinksAndReportsBrokenOnes(t *testing.T) {
	runsDir := t.TempDir()
	m := jsonl(t, start("cnn", 1, 1, 0, 0), end("done"))
	real := writeRun(t, t.TempDir(), "elsewhere", &m)
	if err := os.Symlink(real, filepath.Join(runsDir, "20250101-100000-cnn")); err != nil {
		t.Skip("no symlinks here:", err)
	}
	os.Symlink(filepath.Join(runsDir, "gone"), filepath.Join(runsDir, "20250101-110000-cnn"))
	got, err := NewScanner(runsDir).Scan()
	if err != nil {
		t.Fatal(err)
	}
	if want := "20250101-110000-cnn=damaged 20250101-100000-cnn=done"; ids(got) != want {
		t.Errorf("got %s, want %s", ids(got), want)
	}
}

// A rescan sees appended lines and new folders, and forgets removed ones;
// the clock alone turns a quiet run from running into interrupted.
func TestRescanFollowsChanges(t *testing.T) {
	runsDir := t.TempDir()
	now := time.Now()
	s := NewScanner(runsDir)
	s.now = func() time.Time { return now }

	m := jsonl(t, start("cnn", 2, 1, 0, 0), epochResult(1, 97, 30, 2000))
	dir := writeRun(t, runsDir, "20250101-100000-cnn", &m)
	got, _ := s.Scan()
	if ids(got) != "20250101-100000-cnn=running" || got[0].EpochsDone != 1 {
		t.Fatalf("first scan: %s, %d epochs", ids(got), got[0].EpochsDone)
	}

	f, err := os.OpenFile(filepath.Join(dir, MetricsFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(jsonl(t, epochResult(2, 98.5, 30, 2000)))
	f.Close()
	got, _ = s.Scan()
	if got[0].EpochsDone != 2 || got[0].BestAcc != 98.5 {
		t.Errorf("after an appended epoch: %d epochs, best %v", got[0].EpochsDone, got[0].BestAcc)
	}

	now = now.Add(RunningWindow + time.Minute)
	got, _ = s.Scan()
	if got[0].State != Interrupted {
		t.Errorf("quiet for longer than the window: %q, want interrupted", got[0].State)
	}

	other := jsonl(t, start("linear", 1, 1, 0, 0), end("done"))
	writeRun(t, runsDir, "20250101-110000-linear", &other)
	os.RemoveAll(dir)
	got, _ = s.Scan()
	if ids(got) != "20250101-110000-linear=done" {
		t.Errorf("after adding one and removing the other: %s", ids(got))
	}
	if len(s.cache) != 1 {
		t.Errorf("cache holds %d folders, want 1", len(s.cache))
	}
}

func BenchmarkRescanOfUnchangedRuns(b *testing.B) {
	runsDir := b.TempDir()
	lines := []line{start("cnn", 10, 1, 0, 0)}
	for e := 1; e <= 10; e++ {
		lines = append(lines, logAt(e, 300, int64(e*938-638), 0.5), logAt(e, 600, int64(e*938-338), 0.4), epochResult(e, 98, 30, 2000))
	}
	lines = append(lines, end("done"))
	m := jsonl(b, lines...)
	for i := range 50 {
		dir := filepath.Join(runsDir, time.Date(2025, 1, 1, 0, i, 0, 0, time.Local).Format("20060102-150405")+"-cnn")
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, MetricsFile), []byte(m), 0o644)
	}
	s := NewScanner(runsDir)
	s.Scan()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Scan(); err != nil {
			b.Fatal(err)
		}
	}
}
