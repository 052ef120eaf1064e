"""Zoro-DB: a crash-safe vector database server."""

__version__ = "0.1.0"
