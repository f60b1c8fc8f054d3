package cli

import (
	"mnist-tui/engine"
	"mnist-tui/engine/checkpoint"
	"mnist-tui/engine/config"
)

// newCheckpointNet builds the net for a checkpoint's weights: model's, or for a custom
// network's checkpoint the network its config declares.
func newCheckpointNet(ck *checkpoint.Checkpoint, model string, threads int) (*engine.Net, error) {
	if model == config.Custom && ck.Network() != nil {
		return engine.NewCustomNet(ck.Network(), 1, threads)
	}
	return engine.NewNet(model, 1, threads)
}
