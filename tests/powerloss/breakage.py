"""Deliberate breakages of the durability protocol, kept as precise textual substitutions.

Each file in breakages/ names one file of the `zoro` package, the exact text to replace (it
must occur exactly once: a breakage whose text drifted away from the code fails loudly, it
does not silently test the unbroken server) and what to put there. `broken_copy` makes a copy
of the package with one breakage applied, for the harness to run a server from.
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BREAKAGES = Path(__file__).with_name("breakages")


class StaleBreakage(RuntimeError):
    """The text a breakage replaces is not in the code (exactly once) any more."""


@dataclass(frozen=True)
class Breakage:
    name: str
    why: str
    file: str
    old: str
    new: str

    @classmethod
    def load(cls, path: Path) -> Breakage:
        spec = tomllib.loads(path.read_text())
        return cls(path.stem, spec["why"], spec["file"], spec["old"], spec["new"])

    def apply(self, root: Path) -> None:
        """Apply to the package copy under `root` (which holds zoro/). Raises StaleBreakage."""
        target = root / self.file
        text = target.read_text()
        found = text.count(self.old)
        if found != 1:
            raise StaleBreakage(
                f"breakage {self.name}: the text to replace occurs {found} times in "
                f"{self.file}, not once; bring breakages/{self.name}.toml up to date"
            )
        target.write_text(text.replace(self.old, self.new))


def all_breakages() -> list[Breakage]:
    return [Breakage.load(p) for p in sorted(BREAKAGES.glob("*.toml"))]


def broken_copy(breakage: Breakage, into: Path) -> Path:
    """A copy of the package with `breakage` applied; returns the directory to import it from."""
    shutil.copytree(ROOT / "zoro", into / "zoro", ignore=shutil.ignore_patterns("__pycache__"))
    breakage.apply(into)
    return into
