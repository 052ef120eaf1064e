"""Disk storage: catalog, collection metadata, point index files, append-only source files."""
