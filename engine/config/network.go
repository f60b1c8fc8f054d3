package config

import (
	"errors"

	"github.com/goccy/go-yaml/ast"

	"mnist-tui/engine"
	"mnist-tui/engine/network"
)

// Custom is the model name that trains the network declared under network:.
const Custom = "custom"

// networkKey is read by network.Parse rather than as a scalar: its errors point at the layer
// inside the list.
const networkKey = "network"

// readNetwork parses the value of network: into cfg.Network, checking its shapes. An empty
// value or an empty list leaves it nil (no network).
func readNetwork(filename string, value ast.Node, cfg *Config) error {
	switch v := value.(type) {
	case *ast.NullNode:
		cfg.Network = nil
		return nil
	case *ast.SequenceNode:
		if len(v.Values) == 0 {
			cfg.Network = nil
			return nil
		}
	}
	n, err := network.Parse(filename, value)
	if err == nil {
		err = n.Check()
	}
	var nerr *network.Error
	if errors.As(err, &nerr) {
		msg := nerr.Where()[len("network: "):] + nerr.Msg
		return &Error{File: filename, Line: nerr.Line, Column: nerr.Column, Key: networkKey, Msg: msg}
	}
	if err != nil {
		return &Error{File: filename, Key: networkKey, Msg: err.Error()}
	}
	cfg.Network = n
	return nil
}

// NetworkUnused is a note for a configuration that declares a network but trains a built-in
// model, which happens when model: custom is forgotten; "" otherwise. It is a note, not an
// error: --model cnn on such a file, or compare --models, picks the built-in on purpose.
func (c Config) NetworkUnused() string {
	if c.Model == Custom || c.Network == nil {
		return ""
	}
	return "the network under network: is not used: model is " + c.Model + "; set model: custom to train it"
}

// checkModel is the rule of the model key: a built-in model, or custom (whose network
// checkNetwork asks for, once every key is read).
func checkModel(c Config) string {
	if c.Model == Custom {
		return ""
	}
	if msg := oneOf(c.Model, engine.Models()); msg != "" {
		return msg[:len("must be one of ")] + "custom, " + msg[len("must be one of "):]
	}
	return ""
}

// checkNetwork is the rule between model and network: custom needs a network.
func checkNetwork(c Config) string {
	if c.Model == Custom && c.Network == nil {
		return "model custom needs its layers under network:, like '- conv: {out: 16, kernel: 3}' (see the README)"
	}
	return ""
}

// checkCustom applies checkNetwork to a parsed document, pointing at its model key.
func checkCustom(filename string, doc *document) error {
	msg := checkNetwork(doc.cfg)
	if msg == "" {
		return nil
	}
	at := doc.keys["model"]
	return &Error{File: filename, Line: at.line, Column: at.col, Key: networkKey, Msg: msg}
}

// checkName is the rule of the name key, a label for a custom network.
func checkName(c Config) string {
	if len(c.Name) > 40 {
		return "must be at most 40 characters, it labels the network in the header and tables"
	}
	return ""
}
