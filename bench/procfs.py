"""CPU time of a server and its worker processes, read from /proc (Linux)."""

from __future__ import annotations

import os
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state is [0], ppid [1])."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text.rpartition(")")[2].split()


def process_tree(pid: int) -> list[int]:
    """pid and its live descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of pid and its descendants: the live ones' own, plus what the
    exited children that were waited for used (cutime + cstime). So a `zoro serve --workers N`
    supervisor counts its workers, and PostgreSQL's postmaster the backends that pgbench's
    disconnect ended."""
    return sum(cpu_by_process_s(pid).values())


def cpu_by_process_s(pid: int) -> dict[str, float]:
    """CPU seconds of pid and each live descendant, named by role: a `zoro serve --workers N`
    worker as "worker <index>" (0 is the owner), anything else by its pid; pid itself as
    "server"."""
    out: dict[str, float] = {}
    for p in process_tree(pid):
        fields = _stat_fields(p)
        if fields is None:
            continue
        name = "server" if p == pid else _worker_name(p)
        ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        out[name] = out.get(name, 0.0) + ticks / CLK_TCK
    return out


def cpu_split_since(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Per process, the CPU seconds between two cpu_by_process_s readings (the live ones)."""
    return {name: after[name] - before.get(name, 0.0) for name in sorted(after)}


def _worker_name(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError):
        return str(pid)
    if b"--worker-index" in argv[:-1]:
        return f"worker {argv[argv.index(b'--worker-index') + 1].decode()}"
    return str(pid)
