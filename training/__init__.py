"""Training: settings, losses, the compiled step (single-device or distributed), the loop, checkpoints,
validation, and the stages (joint, plug-in) that put trained modules into a store."""
