"""Corpora: where parallel text comes from, how it is tokenised, how training batches are drawn."""
