"""ANN search: the engine interface, FAISS flat and HNSW engines, segments and their merging."""
