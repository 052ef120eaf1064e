"""Collection actors: one Trio task per collection owning its WAL, storage and ANN index."""
