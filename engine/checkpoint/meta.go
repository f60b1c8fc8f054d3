package checkpoint

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"mnist-tui/engine"
)

// Meta is what a checkpoint records about the run besides the tensors. It is
// stored as safetensors metadata, one string per field.
type Meta struct {
	Model, Dataset string
	Epoch          int   // 1-based epoch the run is in
	Batch          int   // batches of that epoch already trained (0 = at the start of Epoch)
	Step           int64 // optimizer steps so far
	Seed           uint64
	Config         string // the full config YAML of the run
	// History is the metric history as JSON (the trainer decides its shape);
	// empty for none.
	History json.RawMessage
	Version string // program version
	RunID   string
}

// Metadata keys. Save writes all of them; Load requires all of them in a file
// whose "format" is Format, and ignores keys it does not know.
const (
	keyFormat  = "format"
	keyModel   = "model"
	keyDataset = "dataset"
	keyEpoch   = "epoch"
	keyBatch   = "batch"
	keyStep    = "step"
	keySeed    = "seed"
	keyConfig  = "config"
	keyHistory = "history"
	keyVersion = "version"
	keyRunID   = "run_id"
)

// check refuses a Meta that Load would refuse, so a bad one fails at Save
// rather than when someone tries to resume.
func (m Meta) check() error {
	switch {
	case !slices.Contains(engine.Models(), m.Model) && m.Model != customModel:
		return fmt.Errorf("metadata %q: unknown model %q: want one of %s or %s", keyModel, m.Model, strings.Join(engine.Models(), ", "), customModel)
	case m.Epoch < 1:
		return fmt.Errorf("metadata %q: %d; epochs count from 1", keyEpoch, m.Epoch)
	case m.Batch < 0:
		return fmt.Errorf("metadata %q: %d is negative", keyBatch, m.Batch)
	case m.Step < 0:
		return fmt.Errorf("metadata %q: %d is negative", keyStep, m.Step)
	case len(m.History) > 0 && !json.Valid(m.History):
		return fmt.Errorf("metadata %q: not valid JSON", keyHistory)
	}
	return nil
}

// encode turns m into safetensors metadata.
func (m Meta) encode() (map[string]string, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	return map[string]string{
		keyFormat:  Format,
		keyModel:   m.Model,
		keyDataset: m.Dataset,
		keyEpoch:   strconv.Itoa(m.Epoch),
		keyBatch:   strconv.Itoa(m.Batch),
		keyStep:    strconv.FormatInt(m.Step, 10),
		keySeed:    strconv.FormatUint(m.Seed, 10),
		keyConfig:  m.Config,
		keyHistory: string(m.History),
		keyVersion: m.Version,
		keyRunID:   m.RunID,
	}, nil
}

// decodeMeta reads the metadata of a file whose format is Format. Errors
// name the key and its value.
func decodeMeta(md map[string]string) (Meta, error) {
	d := metaDecoder{md: md}
	m := Meta{
		Model:   d.str(keyModel),
		Dataset: d.str(keyDataset),
		Epoch:   int(d.int(keyEpoch, strconv.IntSize)),
		Batch:   int(d.int(keyBatch, strconv.IntSize)),
		Step:    d.int(keyStep, 64),
		Config:  d.str(keyConfig),
		Version: d.str(keyVersion),
		RunID:   d.str(keyRunID),
	}
	if s := d.str(keySeed); d.err == nil {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			d.err = fmt.Errorf("metadata %q: %q is not an unsigned 64-bit integer", keySeed, s)
		}
		m.Seed = seed
	}
	if h := d.str(keyHistory); h != "" {
		m.History = json.RawMessage(h)
	}
	if d.err != nil {
		return Meta{}, d.err
	}
	if err := m.check(); err != nil {
		return Meta{}, err
	}
	return m, nil
}

// metaDecoder reads metadata values, keeping the first error.
type metaDecoder struct {
	md  map[string]string
	err error
}

func (d *metaDecoder) str(key string) string {
	v, ok := d.md[key]
	if !ok && d.err == nil {
		d.err = fmt.Errorf("metadata %q is missing (file says it is %s)", key, Format)
	}
	return v
}

func (d *metaDecoder) int(key string, bits int) int64 {
	s := d.str(key)
	if d.err != nil {
		return 0
	}
	v, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		d.err = fmt.Errorf("metadata %q: %q is not an integer", key, s)
	}
	return v
}
