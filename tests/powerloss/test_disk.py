"""The disk model alone (no FUSE): what each cut mode can and cannot leave behind."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.powerloss.disk import PAGE, Disk, Inode


def new_file(disk: Disk, path: str, data: bytes) -> Inode:
    """A file whose data and name are durable."""
    node = disk.create(path, 0o644, exclusive=True)
    disk.write(node, data, 0)
    disk.fsync(node)
    disk.fsync(disk.lookup("/"))
    return node


def contents(disk: Disk, path: str) -> bytes | None:
    try:
        return bytes(disk.lookup(path).data)
    except FileNotFoundError:
        return None


def test_a_clean_cut_keeps_exactly_the_durable_state() -> None:
    disk = Disk()
    node = new_file(disk, "/f", b"durable")
    disk.write(node, b"X", 0)
    disk.truncate(node, 3)
    disk.create("/g", 0o644, exclusive=True)
    disk.rename("/f", "/h")
    after = disk.cut("clean", 0)
    assert after.readdir("/") == ["f"]
    assert contents(after, "/f") == b"durable"
    assert contents(disk, "/h") == b"Xur"  # the disk that was cut is left as it was


def test_random_cuts_keep_an_unsynced_name_with_any_size_and_data() -> None:
    outcomes = set()
    for seed in range(60):
        disk = Disk()
        disk.write(disk.create("/f", 0o644, exclusive=True), b"x" * 10, 0)
        outcomes.add(contents(disk.cut("random", seed), "/f"))
    # gone; named but empty; whole; or the size without the data (zeros)
    assert outcomes == {None, b"", b"x" * 10, bytes(10)}


def test_random_cuts_keep_a_prefix_of_each_directory_s_changes() -> None:
    seen = set()
    for seed in range(60):
        disk = Disk()
        for name in "abc":
            disk.create(f"/{name}", 0o644, exclusive=True)
        seen.add(tuple(disk.cut("random", seed).readdir("/")))
    assert seen == {(), ("a",), ("a", "b"), ("a", "b", "c")}


def test_a_rename_within_a_directory_is_all_or_nothing() -> None:
    for seed in range(30):
        disk = Disk()
        new_file(disk, "/meta", b"old")
        tmp = disk.create("/meta.tmp", 0o644, exclusive=True)
        disk.write(tmp, b"new", 0)
        disk.fsync(tmp)
        disk.rename("/meta.tmp", "/meta")
        after = disk.cut("random", seed)
        assert contents(after, "/meta") in (b"old", b"new")


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("w"), st.integers(0, 5 * PAGE), st.integers(1, 2 * PAGE)),
            st.tuples(st.just("t"), st.integers(0, 6 * PAGE), st.just(0)),
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_each_page_survives_as_of_some_moment_since_the_last_sync(
    seed: int, ops: list[tuple[str, int, int]]
) -> None:
    """A page never mixes bytes of two moments; the size is that of some moment."""
    disk = Disk()
    node = new_file(disk, "/f", bytes(range(256)) * 20)
    versions = [bytes(node.data)]
    for i, (kind, at, length) in enumerate(ops):
        if kind == "w":
            disk.write(node, bytes([i + 1]) * length, at)
        else:
            disk.truncate(node, at)
        versions.append(bytes(node.data))
    after = contents(disk.cut("random", seed), "/f")
    assert after is not None
    assert len(after) in {len(v) for v in versions}
    for page in range(0, len(after), PAGE):
        got = after[page : page + PAGE]
        padded = [(v + bytes(len(after)))[page : page + len(got)] for v in versions]
        assert got in padded, f"page {page // PAGE} is no version of itself"


def test_fsync_makes_everything_so_far_durable() -> None:
    rng = random.Random(5)
    disk = Disk()
    node = new_file(disk, "/f", b"")
    for _ in range(50):
        if rng.random() < 0.7:
            disk.write(node, rng.randbytes(rng.randint(1, 3 * PAGE)), rng.randint(0, 4 * PAGE))
        else:
            disk.truncate(node, rng.randint(0, 5 * PAGE))
    disk.fsync(node)
    for mode in ("clean", "random"):
        assert contents(disk.cut(mode, 1), "/f") == bytes(node.data)
