"""The golden directory holds exactly the files it was committed with, byte for byte.

The other golden tests say what the files mean; this one makes any change to them loud: golden
files are never regenerated or edited (tests/formats/golden/README.md). A file that no longer
matches here was changed by hand, by a checkout that converted it, or by a regeneration.
"""

from __future__ import annotations

import hashlib

from tests.formats import golden_v1 as story

# (collection or None for the data directory itself, path) -> (size, first 16 hex of SHA-256)
FILES: dict[tuple[str | None, str], tuple[int, str]] = {
    (None, "catalog"): (1001, "44763d9a8795bee8"),
    ("golden", "ann/manifest"): (270, "397b18c58f1f8403"),
    ("golden", "ann/seg-0000000001.zann"): (1107, "59f3af49d1c10fa0"),
    ("golden", "index/points.00000001"): (199, "ba5bbf868d4e8a03"),
    ("golden", "index/slots"): (306, "ae27633eb3f5dc1d"),
    ("golden", "meta"): (318, "fda6d382cc746a1a"),
    ("golden", "payload/f0.npz"): (1973, "862b68172d022e88"),
    ("golden", "payload/f1.npz"): (1461, "396eef7371b36518"),
    ("golden", "payload/schema"): (244, "9255b821ff133b97"),
    ("golden", "source/payloads"): (534, "e240942b2a8f2fe1"),
    ("golden", "source/vectors"): (192, "1fb9be5a69ecd371"),
    ("golden", "wal/00000000000000000001.log"): (1030, "4993d1e4034263f5"),
    ("golden", "wal/00000000000000000004.log"): (325, "000fa86e4d013d31"),
    ("flat", "ann/manifest"): (269, "17c382d75576db2c"),
    ("flat", "ann/seg-0000000001.zann"): (186, "ecf4a5a764dfd499"),
    ("flat", "index/points.00000001"): (74, "218ad30deb52ad77"),
    ("flat", "index/slots"): (103, "e25ebac4440e63ec"),
    ("flat", "meta"): (315, "d75f32c162f0af2b"),
    ("flat", "source/payloads"): (77, "069f6227a82036f7"),
    ("flat", "source/vectors"): (68, "b4e79d1f7b6ec684"),
    ("flat", "wal/00000000000000000001.log"): (302, "2dfc192a58aa55b7"),
    ("doomed", "ann/manifest"): (133, "e4b7b3596b2d844e"),
    ("doomed", "index/points.00000000"): (24, "c7f331f814ab0b37"),
    ("doomed", "index/slots"): (16, "79550c01944789ae"),
    ("doomed", "meta"): (307, "f8d183cea3e27c67"),
    ("doomed", "source/payloads"): (16, "7731f99a2ec1da9c"),
    ("doomed", "source/vectors"): (32, "f07cf203cf1e1513"),
    ("doomed", "wal/00000000000000000001.log"): (20, "1d1b0cefcb4688a2"),
}


def _root(collection: str | None) -> str:
    return "" if collection is None else f"collections/{story.COLLECTION_IDS[collection]}/"


def test_the_golden_directory_holds_exactly_the_committed_files() -> None:
    on_disk = sorted(str(p.relative_to(story.DATA)) for p in story.DATA.rglob("*") if p.is_file())
    assert on_disk == sorted(_root(c) + path for c, path in FILES)
    for (collection, path), (size, digest) in FILES.items():
        raw = (story.DATA / (_root(collection) + path)).read_bytes()
        assert (len(raw), hashlib.sha256(raw).hexdigest()[:16]) == (size, digest), path
