package config

import (
	"slices"
	"testing"
)

func parseTest(t *testing.T, text string) Config {
	t.Helper()
	c, err := Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDifferingListsTheSettingsThatTellRunsApart(t *testing.T) {
	a := Defaults()
	b := a
	b.LearningRate, b.BatchSize, b.LogInterval, b.RunsDir = 0.1, 128, 7, "elsewhere"
	if got, want := Differing([]Config{a, b, a}), []string{"batch_size", "learning_rate"}; !slices.Equal(got, want) {
		t.Errorf("Differing = %v, want %v (file order; log_interval and runs_dir do not count)", got, want)
	}
	if got := Differing([]Config{a, a}); got != nil {
		t.Errorf("the same configuration twice: Differing = %v, want none", got)
	}
	if got := Differing([]Config{a}); got != nil {
		t.Errorf("one configuration: Differing = %v, want none", got)
	}

	net := "model: custom\nnetwork:\n  - flatten\n  - linear: 10\n"
	wide := parseTest(t, net)
	wider := parseTest(t, "model: custom\nnetwork:\n  - flatten\n  - linear: 32\n  - relu\n  - linear: 10\n")
	named := parseTest(t, "name: tiny\n"+net)
	for _, c := range []struct {
		name string
		a, b Config
		want []string
	}{
		{"two layouts", wide, wider, []string{"model"}},
		{"a name", wide, named, []string{"model"}},
		{"custom and cnn", wide, a, []string{"model"}},
		{"the same network", wide, parseTest(t, net), nil},
	} {
		if got := Differing([]Config{c.a, c.b}); !slices.Equal(got, c.want) {
			t.Errorf("%s: Differing = %v, want %v", c.name, got, c.want)
		}
	}
	if named.Label() != "tiny" || wide.Label() != "custom" || a.Label() != "cnn" {
		t.Errorf("labels %q %q %q, want tiny custom cnn", named.Label(), wide.Label(), a.Label())
	}
}

func TestSettingIsShortText(t *testing.T) {
	c := Defaults()
	c.LearningRate, c.Momentum = 0.003, 0.9
	for key, want := range map[string]string{"learning_rate": "0.003", "momentum": "0.9", "batch_size": "64", "seed": "1", "model": "cnn", "dataset": "mnist", "nope": ""} {
		if got := c.Setting(key); got != want {
			t.Errorf("Setting(%q) = %q, want %q", key, got, want)
		}
	}
	if ShortKey("learning_rate") != "lr" || ShortKey("momentum") != "momentum" {
		t.Errorf("ShortKey: %q %q", ShortKey("learning_rate"), ShortKey("momentum"))
	}
}
