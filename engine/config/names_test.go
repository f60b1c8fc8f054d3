package config

import (
	"strings"
	"testing"

	"mnist-tui/dataset"
	"mnist-tui/engine"
)

// A config accepts exactly the models the engine can build and the data
// sets the dataset package can load, and says which when it refuses one.
func TestNamesAreTheEngineAndDatasetLists(t *testing.T) {
	for _, model := range engine.Models() {
		c := Defaults()
		c.Model = model
		if err := c.Validate(); err != nil {
			t.Errorf("model %q, which the engine builds: %v", model, err)
		}
	}
	for _, name := range dataset.Names() {
		if _, err := dataset.Lookup(name); err != nil {
			t.Errorf("dataset.Names lists %q but Lookup refuses it: %v", name, err)
		}
		c := Defaults()
		c.Dataset = name
		if err := c.Validate(); err != nil {
			t.Errorf("data set %q, which the dataset package loads: %v", name, err)
		}
	}

	c := Defaults()
	c.Model = "vgg"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), strings.Join(engine.Models(), ", ")) {
		t.Errorf("unknown model: err = %v, want the engine's list of models", err)
	}
	c = Defaults()
	c.Dataset = "cifar"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), strings.Join(dataset.Names(), ", ")) {
		t.Errorf("unknown data set: err = %v, want the dataset package's list", err)
	}
}
