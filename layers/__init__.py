"""Building blocks both halves use: attention, feed-forward, positions, the Transformer stack."""
