package train

import (
	"mnist-tui/dataset/augment"
	"mnist-tui/engine/config"
)

// augmentSettings are the augment_* keys as package augment takes them.
func augmentSettings(cfg config.Config) augment.Settings {
	return augment.Settings{
		Rotate:    cfg.AugmentRotate,
		Translate: cfg.AugmentTranslate,
		ScaleMin:  cfg.AugmentScaleMin,
		ScaleMax:  cfg.AugmentScaleMax,
	}
}
