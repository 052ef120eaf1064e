"""Changing a payload in place: Qdrant's set_payload (merge, optionally at a nested path) and
delete_payload (remove keys by path). Plain functions on decoded JSON objects.

A path is Qdrant's JSON path: keys joined by dots (`a.b`), a quoted key for any characters
(`"a.b"`), and after a key any number of `[n]` (one element of an array) or `[]` (every
element). Merging follows Qdrant's `merge_map`: each key of the new object replaces the old
value, and a null removes the key.

    set_at(payload, path, value)   merge `value` into the object `path` names, making the
                                   objects on the way (a value that is not an object there is
                                   replaced by one; an array step into a non-array makes it [])
    delete_at(payload, path)       remove what `path` names; a path ending in `[n]` does nothing
                                   (not idempotent, so Qdrant refuses to), one ending in `[]`
                                   empties the array
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Final

U64_MAX: Final = 2**64 - 1
_KEY: Final = re.compile(r"[A-Za-z0-9_-]+")
_BRACKET: Final = re.compile(r"\[(\d*)\]")


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a path: a key, an array index, or every element (`index` None, `key` None)."""

    key: str | None = None
    index: int | None = None

    @property
    def every(self) -> bool:
        return self.key is None and self.index is None


Path = tuple[Step, ...]


def parse_path(text: str) -> Path:
    """`a.b[0][]."c d"` -> steps. Raises ValueError naming what is wrong."""
    steps: list[Step] = []
    rest = text
    while True:
        if rest.startswith('"'):
            end = rest.find('"', 1)
            if end < 0:
                raise ValueError(f"path {text!r}: unclosed quote")
            steps.append(Step(key=rest[1:end]))
            rest = rest[end + 1 :]
        else:
            found = _KEY.match(rest)
            if found is None or not found.group().isascii():
                raise ValueError(f"path {text!r}: expected a key at {rest!r}")
            steps.append(Step(key=found.group()))
            rest = rest[found.end() :]
        while (bracket := _BRACKET.match(rest)) is not None:
            digits = bracket.group(1)
            if digits and int(digits) > U64_MAX:
                raise ValueError(f"path {text!r}: index {digits} is too large")
            steps.append(Step(index=int(digits)) if digits else Step())
            rest = rest[bracket.end() :]
        if not rest:
            return tuple(steps)
        if not rest.startswith(".") or len(rest) == 1:
            raise ValueError(f"path {text!r}: unexpected {rest!r}")
        rest = rest[1:]


def merge(into: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Each key of `values` replaces the one in `into`; a null removes it. Returns `into`."""
    for key, value in values.items():
        if value is None:
            into.pop(key, None)
        else:  # each point its own copy of a container: a later edit by path changes one
            into[key] = copy.deepcopy(value) if isinstance(value, dict | list) else value
    return into


def set_at(payload: dict[str, Any], path: Path, values: dict[str, Any]) -> None:
    """Merge `values` into the object at `path` in `payload` (see the module docstring)."""
    _set(payload, path, values, None)


def _set(data: Any, path: Path, values: dict[str, Any], put: _Put | None) -> None:
    """`put`: replaces `data` in its parent (None at the top, where data is the payload)."""
    step, rest = path[0], path[1:]
    if step.key is not None:
        if not isinstance(data, dict):
            assert put is not None, "a payload is an object"
            data = put({})
        if not rest:
            child = data.get(step.key)
            data[step.key] = merge(child if isinstance(child, dict) else {}, values)
            return
        data.setdefault(step.key, {})
        _set(data[step.key], rest, values, _Put(data, step.key))
        return
    if not isinstance(data, list):
        if put is not None:
            put([])  # Qdrant leaves an empty array where an array step met something else
        return
    for i in _positions(step, data):
        if not rest:
            data[i] = merge(data[i] if isinstance(data[i], dict) else {}, values)
        else:
            _set(data[i], rest, values, _Put(data, i))


def _positions(step: Step, data: list[Any]) -> range:
    """The elements of `data` an array step names (none for an index past the end)."""
    if step.index is None:
        return range(len(data))
    return range(step.index, min(step.index + 1, len(data)))


@dataclass(frozen=True, slots=True)
class _Put:
    """Where a value sits in its parent, to replace it."""

    parent: Any
    at: str | int

    def __call__(self, value: Any) -> Any:
        self.parent[self.at] = value
        return value


def delete_at(payload: dict[str, Any], path: Path) -> None:
    """Remove what `path` names in `payload` (see the module docstring); nothing if absent."""
    _delete(payload, path)


def _delete(data: Any, path: Path) -> None:
    step, rest = path[0], path[1:]
    if not rest:
        if step.key is not None and isinstance(data, dict):
            data.pop(step.key, None)
        elif step.every and isinstance(data, list):
            data.clear()
        return
    if step.key is not None:
        if isinstance(data, dict) and step.key in data:
            _delete(data[step.key], rest)
    elif isinstance(data, list):
        for i in _positions(step, data):
            _delete(data[i], rest)
