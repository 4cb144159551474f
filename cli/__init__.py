"""The command line: the Hydra apps, the store's CLI, settings checked before work. Nothing imports it."""
