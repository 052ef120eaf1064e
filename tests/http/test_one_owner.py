"""One owner per data directory, and a port clash found before any file is touched.

A second `zoro serve` on a directory that a running server owns, or on a port that is taken,
exits at once with a message naming the cause, and leaves every byte of the data directory as
it was: it must not replay, repair or cut the owner's WAL.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import httpx

from zoro.testing import ServerProcess, free_port

VECTOR = {"vectors": {"size": 2, "distance": "Dot"}}


def _serve(data_dir: Path, port: int) -> subprocess.CompletedProcess[str]:
    """Run `zoro serve` expecting it to refuse; returns once it has exited."""
    command = [sys.executable, "-m", "zoro.cli", "serve", "--data-dir", str(data_dir)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def _fingerprint(data_dir: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under the data directory: size, modification time and content hash."""
    found = {}
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[str(path.relative_to(data_dir))] = (stat.st_size, stat.st_mtime_ns, digest)
    return found


def _upsert(url: str, ids: range) -> None:
    points = [{"id": i, "vector": [float(i), 1.0]} for i in ids]
    r = httpx.put(f"{url}/collections/c/points", params={"wait": "true"}, json={"points": points})
    assert r.status_code == 200, r.text


def _count(url: str) -> int:
    r = httpx.post(f"{url}/collections/c/points/count", json={"exact": True})
    assert r.status_code == 200, r.text
    count: int = r.json()["result"]["count"]
    return count


def test_a_second_server_on_an_owned_directory_refuses_and_touches_nothing(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    owner = ServerProcess(data).start()
    try:
        assert httpx.put(f"{owner.url}/collections/c", json=VECTOR).status_code == 200
        _upsert(owner.url, range(30))  # in the WAL, not checkpointed: a replay would be seen
        before = _fingerprint(data)
        refused = _serve(data, free_port())
        assert refused.returncode == 1
        assert owner.process is not None
        assert f"{data} is in use by process {owner.process.pid}" in refused.stderr
        assert _fingerprint(data) == before
        _upsert(owner.url, range(30, 60))  # the owner goes on serving
        owner.kill()
        owner.start()  # the kernel freed the lock of the killed owner: no stale lock
        owner.wait_ready()
        assert _count(owner.url) == 60
    finally:
        owner.kill()


def test_a_port_clash_fails_before_the_data_directory_is_opened(tmp_path: Path) -> None:
    first = ServerProcess(tmp_path / "first").start()
    try:
        # a directory left by a crash, with a torn tail on its WAL that any open would cut
        other = tmp_path / "other"
        with ServerProcess(other) as proc:
            assert httpx.put(f"{proc.url}/collections/c", json=VECTOR).status_code == 200
            _upsert(proc.url, range(10))
            proc.kill()
        (segment,) = other.glob("collections/*/wal/*.log")
        with segment.open("ab") as torn:
            torn.write(b"\x01torn record")
        before = _fingerprint(other)

        refused = _serve(other, first.port)
        assert refused.returncode == 1
        assert f"cannot listen on 127.0.0.1:{first.port}: address already in use" in (
            refused.stderr
        )
        assert _fingerprint(other) == before
        refused = _serve(tmp_path / "new", first.port)
        assert refused.returncode == 1
        assert not (tmp_path / "new").exists()

        with ServerProcess(other) as proc:  # a server that does start cuts the tail: the
            proc.wait_ready()  # check above would have seen it
            assert _count(proc.url) == 10
        assert _fingerprint(other) != before
    finally:
        first.kill()
