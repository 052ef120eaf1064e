"""How long the server takes to refuse an oversized body, in process: `zoro.wire.check` on the
hostile bodies that once cost seconds to describe, beside `is_valid` alone (the least any
refusal costs) in the same run.

    .venv/bin/python -m bench.wire_refusals [--points N] [--json PATH]

Bodies: a batch update whose one upsert holds max_batch_points + 1 points (refused by maxItems
inside a `oneOf`), and the same points as a plain upsert. Each is checked 3 times; the figure
is the median.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from bench.scratch import write_json
from zoro.errors import BadRequest
from zoro.settings import LimitSettings
from zoro.wire.check import _compiled, check


def _timed(route: str, body: dict[str, Any], limits: LimitSettings) -> dict[str, Any]:
    _, validator = _compiled(route, limits)
    checks, valid = [], []
    said = ""
    for _ in range(3):
        started = time.perf_counter()
        validator.is_valid(body)
        valid.append(time.perf_counter() - started)
        started = time.perf_counter()
        try:
            check(route, body, limits)
        except BadRequest as exc:
            said = exc.message
        checks.append(time.perf_counter() - started)
    return {
        "check_s": statistics.median(checks),
        "is_valid_s": statistics.median(valid),
        "message": said,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    limits = LimitSettings()
    points = [
        {"id": i, "vector": [0.1, 0.2, 0.3, 0.4], "payload": {"a": 1}}
        for i in range(limits.max_batch_points + 1)
    ]
    figures = {
        "batch_update": _timed(
            "batch_update", {"operations": [{"upsert": {"points": points}}]}, limits
        ),
        "upsert_points": _timed("upsert_points", {"points": points}, limits),
    }
    for route, got in figures.items():
        print(
            f"{route:<14} check {got['check_s'] * 1e3:8.1f} ms   is_valid "
            f"{got['is_valid_s'] * 1e6:6.1f} us   {got['message']}"
        )
    write_json(args.json, figures)


if __name__ == "__main__":
    main()
