package train

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"mnist-tui/engine/runs"
)

// earlier is what a run recorded before the checkpoint a resumed run starts from, as the
// health page and the doctor need it: the layers' health, the doctor's notes, and every
// record the doctor reads, in the order the trainer handed them to it.
type earlier struct {
	health []runs.Health
	notes  []runs.Note
	seen   []runs.Record // Health (before the Log of its step), Log, Epoch, Change
}

// readEarlier reads the metrics.jsonl of the run folder dir up to step, the checkpoint's
// position at the start of epoch epoch (batch batches into it). A resumption's start line
// drops what the run logged after its step, as the runs page reads it; a line that does not
// parse is skipped, since the history only adds to what the pages show. A missing file gives
// nothing.
func readEarlier(dir string, step int64, epoch int) (earlier, error) {
	path := filepath.Join(dir, runs.MetricsFile)
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return earlier{}, nil
	}
	if err != nil {
		return earlier{}, fmt.Errorf("the run's earlier layer health, %s: %w", path, err)
	}
	var recs []runs.Record
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 16<<20) // a health line of a large custom network is long
	for sc.Scan() {
		rec, err := runs.UnmarshalRecord(sc.Bytes())
		if err != nil {
			continue
		}
		if s, ok := rec.(runs.Start); ok {
			recs = keepUpTo(recs, s.Step, s.Epoch)
			continue
		}
		recs = append(recs, rec)
	}
	var e earlier
	for _, rec := range keepUpTo(recs, step, epoch) {
		switch r := rec.(type) {
		case runs.Health:
			e.health = append(e.health, r)
			// The trainer gives the doctor a step's health before its log line.
			if n := len(e.seen); n > 0 {
				if l, ok := e.seen[n-1].(runs.Log); ok && l.Step == r.Step {
					e.seen[n-1] = r
					e.seen = append(e.seen, l)
					continue
				}
			}
			e.seen = append(e.seen, r)
		case runs.Note:
			e.notes = append(e.notes, r)
		case runs.Log, runs.Epoch, runs.Change:
			e.seen = append(e.seen, r)
		}
	}
	return e, nil
}

// keepUpTo keeps the records of a run that resumes at step, in epoch: those of a step no
// later than it, and the results of the epochs before it.
func keepUpTo(recs []runs.Record, step int64, epoch int) []runs.Record {
	kept := recs[:0]
	for _, rec := range recs {
		keep := true
		switch r := rec.(type) {
		case runs.Log:
			keep = r.Step <= step
		case runs.Health:
			keep = r.Step <= step
		case runs.Change:
			keep = r.Step <= step
		case runs.Epoch:
			keep = r.Epoch < epoch
		case runs.Note:
			// An epoch's note (overfitting) has no step.
			keep = (r.Step > 0 && r.Step <= step) || (r.Step == 0 && r.Epoch < epoch)
		}
		if keep {
			kept = append(kept, rec)
		}
	}
	return kept
}
