package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

const customYAML = `model: custom
name: small-bn
network:
  - conv: {out: 4, kernel: 3, padding: 1}
  - batchnorm
  - relu
  - maxpool: 2
  - flatten
  - dropout: 0.25
  - linear: 10
`

func TestCustomNetworkParsesAndMarshals(t *testing.T) {
	cfg, err := Parse("c.yaml", []byte(customYAML))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Model != Custom || cfg.Name != "small-bn" || cfg.Network == nil || len(cfg.Network.Layers) != 7 {
		t.Fatalf("got model %q name %q network %+v", cfg.Model, cfg.Name, cfg.Network)
	}
	back, err := Parse("back.yaml", cfg.Marshal())
	if err != nil {
		t.Fatalf("%v\n%s", err, cfg.Marshal())
	}
	if live, restart := Diff(cfg, back); len(live)+len(restart) > 0 {
		t.Errorf("Marshal reads back with %v %v changed:\n%s", live, restart, cfg.Marshal())
	}
	other := strings.Replace(customYAML, "out: 4", "out: 5", 1)
	changed, err := Parse("c.yaml", []byte(other))
	if err != nil {
		t.Fatal(err)
	}
	if _, restart := Diff(cfg, changed); len(restart) != 1 || restart[0] != "network" {
		t.Errorf("a wider conv is a change of %v, want [network]", restart)
	}
}

func TestCustomNetworkErrors(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"custom without network", "model: custom\n", "c.yaml:1:1: network: model custom needs its layers under network:"},
		{"unknown model lists custom", "model: cnnn\n", "must be one of custom, linear, cnn"},
		{"layer error keeps its position", "model: custom\nnetwork:\n  - flatten\n  - linaer: 10\n", "c.yaml:4:5: network: layer 1: unknown layer \"linaer\"; did you mean linear?"},
		{"shape error keeps its position", "network:\n  - conv: {out: 4, kernel: 3}\n  - linear: 10\n", "c.yaml:3:5: network: layer 1 (linear): needs features"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(c.src))
			var cerr *Error
			if !errors.As(err, &cerr) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want an *Error containing %q", err, c.want)
			}
		})
	}
}

// The editor writes live changes back with Update: a file with a network keeps it, comments
// and layout included, and the changed value reads back.
func TestUpdateKeepsTheNetwork(t *testing.T) {
	src := customYAML + "learning_rate: 0.01 # slow\n"
	out, err := Update("c.yaml", []byte(src), map[string]any{"learning_rate": 0.05, "name": "wider"})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(strings.Replace(src, "0.01 # slow", "0.05 # slow", 1), "name: small-bn", "name: wider", 1)
	if string(out) != want {
		t.Errorf("Update wrote\n%s\nwant\n%s", out, want)
	}
	if _, err := Update("c.yaml", []byte(src), map[string]any{"network": "relu"}); err == nil {
		t.Error("Update set network from a value")
	}
}

// A network with a built-in model is kept but noted as unused: model: custom forgotten.
func TestNetworkUnused(t *testing.T) {
	for _, c := range []struct {
		src    string
		unused bool
	}{
		{"network:\n  - flatten\n  - linear: 10\n", true},
		{"model: linear\nnetwork:\n  - flatten\n  - linear: 10\n", true},
		{"model: custom\nnetwork:\n  - flatten\n  - linear: 10\n", false},
		{"model: cnn\nnetwork: []\n", false},
	} {
		cfg, err := Parse("c.yaml", []byte(c.src))
		if err != nil {
			t.Fatal(err)
		}
		note := cfg.NetworkUnused()
		if (note != "") != c.unused || c.unused && !strings.Contains(note, "set model: custom") {
			t.Errorf("%q: note %q, want one: %v", c.src, note, c.unused)
		}
	}
}

// Runs that share a network's name but not its layers are told apart in their cells: by
// parameter count, or where that is shared too, by the network's number.
func TestCellsTellNetworksApart(t *testing.T) {
	parse := func(name, layers string) Config {
		t.Helper()
		c, err := Parse("c.yaml", []byte("model: custom\nname: "+name+"\nnetwork:\n"+layers))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	wide := "  - flatten\n  - dropout: 0.25\n  - linear: 10\n"
	other := "  - flatten\n  - dropout: 0.5\n  - linear: 10\n" // the same parameters
	small := "  - maxpool: 2\n  - flatten\n  - linear: 10\n"
	cfgs := []Config{parse("net", wide), parse("net", small), parse("net", other), parse("net", wide), parse("solo", small)}
	want := []string{"net #1", "net 1,970 params", "net #3", "net #1", "solo"}
	if got := Cells(cfgs, "model"); !slices.Equal(got, want) {
		t.Errorf("Cells = %q, want %q", got, want)
	}
	same := []Config{parse("net", wide), parse("net", wide)}
	if got := Cells(same, "model"); !slices.Equal(got, []string{"net", "net"}) {
		t.Errorf("one network twice: %q, want its name alone", got)
	}
	if got := Cells(cfgs[:2], "learning_rate"); !slices.Equal(got, []string{"0.01", "0.01"}) {
		t.Errorf("learning_rate cells %q", got)
	}
}
