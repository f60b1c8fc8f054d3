package config

import (
	"slices"
	"strconv"

	"mnist-tui/engine/network"
)

// Label is how a run's network is named on screen: the built-in model's
// name, or for a custom network its name: (or "custom" without one).
func (c Config) Label() string {
	if c.Model != Custom {
		return c.Model
	}
	if c.Name != "" {
		return c.Name
	}
	return Custom
}

// notCompared are the keys that say where files go or how often a line is
// printed: two runs that differ only in them trained the same way.
var notCompared = []string{"data_dir", "runs_dir", "log_interval"}

// modelKeys are shown together as one setting, the network's Label.
var modelKeys = []string{"model", "name", networkKey}

// Differing lists the settings whose values are not the same in every one
// of cfgs, in file order, so that runs shown side by side can be told
// apart. The model, name and network keys count as one setting, "model".
// Every key of the file takes part, so a key added later is compared too.
func Differing(cfgs []Config) []string {
	var keys []string
	for _, f := range fields {
		if slices.Contains(notCompared, f.key) || slices.Contains(modelKeys[1:], f.key) {
			continue
		}
		for i := 1; i < len(cfgs); i++ {
			if differs(f, cfgs[0], cfgs[i]) {
				keys = append(keys, f.key)
				break
			}
		}
	}
	return keys
}

// differs compares one setting of two configurations; for "model" that is
// the network itself, by its layers, and its name.
func differs(f field, a, b Config) bool {
	if f.key != "model" {
		return !sameValue(f.ptr(&a), f.ptr(&b))
	}
	if a.Model != b.Model || a.Model != Custom {
		return a.Model != b.Model
	}
	return a.Name != b.Name || a.Network.YAML() != b.Network.YAML()
}

// Setting is the value of a key of c as a table cell: short, as the
// command line spells numbers (0.01, not 1.0e-02), and for "model" the
// network's Label. An unknown key is "".
func (c Config) Setting(key string) string {
	if key == "model" {
		return c.Label()
	}
	f, ok := lookup(key)
	if !ok {
		return ""
	}
	switch p := f.ptr(&c).(type) {
	case *float64:
		return strconv.FormatFloat(*p, 'g', 4, 64)
	case *string:
		return *p
	default:
		return formatValue(p)
	}
}

// Cells are the Setting of key for each of cfgs, shown side by side. A network's label
// alone would not tell two of them apart when they share a name (or are both "custom")
// but not their layers: those labels get the network's parameter count, and where that is
// shared too, the network's number among the different ones (wide-bn 27,154 params,
// wide-bn 105,898 params; wide-bn #1, wide-bn #2).
func Cells(cfgs []Config, key string) []string {
	cells := make([]string, len(cfgs))
	for i, c := range cfgs {
		cells[i] = c.Setting(key)
	}
	if key != "model" {
		return cells
	}
	networks := map[string][]string{} // label: its different networks, in order
	for _, c := range cfgs {
		if c.Model == Custom && c.Network != nil && !slices.Contains(networks[c.Label()], c.Network.YAML()) {
			networks[c.Label()] = append(networks[c.Label()], c.Network.YAML())
		}
	}
	params := func(c Config) string {
		return network.Count(network.Summarize(c.Name, c.Network, 1).Params) + " params"
	}
	for i, c := range cfgs {
		shared := networks[c.Label()]
		if c.Model != Custom || c.Network == nil || len(shared) < 2 {
			continue
		}
		unique := true // no other network of this label has as many parameters
		for j, o := range cfgs {
			if j != i && o.Model == Custom && o.Network != nil && o.Label() == c.Label() &&
				o.Network.YAML() != c.Network.YAML() && params(o) == params(c) {
				unique = false
			}
		}
		if unique {
			cells[i] += " " + params(c)
		} else {
			cells[i] += " #" + strconv.Itoa(slices.Index(shared, c.Network.YAML())+1)
		}
	}
	return cells
}

// shortKeys are column titles for keys whose names are long.
var shortKeys = map[string]string{
	"learning_rate": "lr",
	"batch_size":    "batch",
	"weight_decay":  "decay",
}

// ShortKey is a key's name as a narrow column title.
func ShortKey(key string) string {
	if s, ok := shortKeys[key]; ok {
		return s
	}
	return key
}
