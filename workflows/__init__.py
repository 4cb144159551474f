"""The workflows behind the commands: training, evaluation, translation, and their Hydra entry points."""
