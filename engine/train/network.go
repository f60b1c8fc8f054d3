package train

import (
	"mnist-tui/engine"
	"mnist-tui/engine/config"
)

// newNet builds the network cfg asks for: a built-in model, or with model custom the network
// cfg declares under network:.
func newNet(cfg config.Config) (*engine.Net, error) {
	if cfg.Model == config.Custom {
		return engine.NewCustomNet(cfg.Network, cfg.Seed, cfg.Threads)
	}
	return engine.NewNet(cfg.Model, cfg.Seed, cfg.Threads)
}
