"""Inference: one decode path (text -> ids -> thought -> search -> text) behind `Translator`,
`plugmt-export`'s SavedModel, and the adapters between two encoders' thought spaces."""
