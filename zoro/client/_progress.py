"""A one-line progress report on stderr for uploads and imports.

Why not tqdm: it would be one more dependency for one line of output, and a callback covers
those who want it (`progress=bar.update` takes each batch's point count). This line works when
the total is unknown (an iterator), redraws at most 4 times a second on a terminal, and writes
plain lines every few seconds when stderr is a file or a pipe, so logs stay readable.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from collections.abc import Callable


class ProgressLine:
    """Counts points as batches are acknowledged and redraws a short status line."""

    def __init__(self, total: int | None, *, stream: TextIO | None = None, label: str = "") -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.label = label
        self.done = 0
        self.started = time.monotonic()
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._every_s = 0.25 if self._tty else 5.0
        self._last = self.started

    def update(self, points: int) -> None:
        self.done += points
        now = time.monotonic()
        if now - self._last >= self._every_s:
            self._last = now
            self._write(self._status(now), final=False)

    def close(self, *, summary: bool = True) -> None:
        """The last line: how many points, how long, how fast (or, without the summary, just
        clear the status line for whoever prints next)."""
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        if summary:
            text = f"{self.done:,} points in {elapsed:.1f} s ({rate:,.0f} points/s)"
            self._write(self.label + text, final=True)
        elif self._tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    def _status(self, now: float) -> str:
        elapsed = now - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        if self.total:
            left = (self.total - self.done) / rate if rate > 0 else 0.0
            share = 100 * self.done / self.total
            return (
                f"{self.label}{self.done:,}/{self.total:,} points ({share:.0f}%)  "
                f"{rate:,.0f} points/s  ETA {left:.0f} s"
            )
        return f"{self.label}{self.done:,} points  {rate:,.0f} points/s"

    def _write(self, text: str, *, final: bool) -> None:
        if self._tty:
            self.stream.write("\r\x1b[K" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def reporter(
    progress: bool | Callable[[int], object], total: int | None, label: str = ""
) -> tuple[Callable[[int], object] | None, Callable[[], None]]:
    """(on_batch, on_finish) for upload(): nothing, the stderr line, or the caller's callback."""
    if progress is True:
        line = ProgressLine(total, label=label)
        return line.update, line.close
    if progress is False:
        return None, lambda: None
    return progress, lambda: None
