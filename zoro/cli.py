"""The `zoro` command."""

from __future__ import annotations

import argparse
import sys

from zoro import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zoro", description="Zoro-DB vector database")
    parser.add_argument("--version", action="version", version=f"zoro-db {__version__}")
    parser.parse_args(argv)
    print(f"zoro-db {__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
