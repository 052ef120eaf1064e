"""What every service call needs: the collection manager and the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from zoro.actors import CollectionManager
from zoro.services.issues import IssueBoard

if TYPE_CHECKING:
    from pathlib import Path

    from zoro.dirlock import DataDirLock
    from zoro.settings import LimitSettings, Settings


@dataclass(frozen=True, slots=True)
class Context:
    manager: CollectionManager
    settings: Settings
    issues: IssueBoard = field(default_factory=IssueBoard)  # GET/DELETE /issues
    data_dir: Path | None = None  # where the collections' files are (their disk use)

    @classmethod
    def open(
        cls,
        data_dir: Path,
        settings: Settings,
        *,
        lock: DataDirLock | None = None,
        run_dir: Path | None = None,
        follow_run_dir: Path | None = None,
    ) -> Context:
        """A context over the data directory; run `manager.run` in a nursery to serve it.
        `run_dir`: an owner worker's, `follow_run_dir`: a follower worker's (CollectionManager,
        docs/workers.md)."""
        manager = CollectionManager(
            data_dir, settings, lock=lock, run_dir=run_dir, follow_run_dir=follow_run_dir
        )
        return cls(manager, settings, data_dir=data_dir)

    @property
    def limits(self) -> LimitSettings:
        return self.settings.limits
