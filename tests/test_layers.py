"""The import arrows of ARCHITECTURE.md: http -> services -> actors -> (wal, storage, ann,
payload).

zoro/payload (filtering and payload indexes) sits beside wal, storage and ann; zoro/sparse and
zoro/multi (the sparse and multivector indexes) too. Their row files belong to storage."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "zoro"

# what each package may import from zoro (besides the shared domain modules)
# (the filter language, its text tokenization, and sparse vectors are vocabulary every layer
# speaks, like the domain types)
SHARED = {
    "zoro",
    "zoro.types",
    "zoro.errors",
    "zoro.settings",
    "zoro.fsutil",
    "zoro.memory",
    "zoro.dirlock",
    "zoro.checked_json",
    "zoro.payload.conditions",
    "zoro.payload.tokenize",  # a text index's params are part of that language
    "zoro.payload.edits",
    "zoro.sparse.vectors",
}
ALLOWED = {
    "wal": set(),
    "storage": set(),
    "ann": set(),
    "payload": set(),
    "sparse": set(),
    "multi": set(),
    "actors": {"wal", "storage", "ann", "payload", "sparse", "multi"},
    "wire": set(),  # the wire's shapes: services validate with them, http documents them
    "dashboard": set(),  # the web dashboard's static files; http serves them
    "services": {"actors", "wire"},
    "http": {"services", "wire", "dashboard"},
    "client": set(),
}
NO_TRIO = {"wal", "storage", "ann", "payload", "sparse", "multi", "wire", "dashboard"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_one_way(package: str) -> None:
    for path in (ROOT / package).rglob("*.py"):
        for name in _imports(path):
            if name == "trio" or name.startswith("trio."):
                assert package not in NO_TRIO, f"{path} imports trio"
            if not name.startswith("zoro.") or name in SHARED:
                continue
            target = name.split(".")[1]
            if package == "client":
                assert target == "client", f"{path}: the client imports nothing from the server"
                continue
            assert target == package or target in ALLOWED[package], f"{path} imports {name}"
