"""Append-only write-ahead log: record codec with CRC, segment files, batch writer, replay."""
