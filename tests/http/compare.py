"""Comparing a Zoro answer with qdrant-client local mode's, the reference, in one place."""

from __future__ import annotations

import numpy as np
from qdrant_client import models


def same_hits(local: list[models.ScoredPoint], remote: list[models.ScoredPoint]) -> None:
    """The same ids in the same order, scores equal to float32 precision."""
    assert [p.id for p in remote] == [p.id for p in local]
    np.testing.assert_allclose(
        [p.score for p in remote], [p.score for p in local], rtol=1e-4, atol=1e-4
    )


def same_vectors(local: object, remote: object) -> None:
    """A point's `vector` field: bare, by name, sparse or a matrix, equal to float32 precision."""
    if isinstance(local, dict):
        assert isinstance(remote, dict), remote
        assert set(remote) == set(local)
        for key in local:
            same_vectors(local[key], remote[key])
    elif isinstance(local, models.SparseVector):
        assert isinstance(remote, models.SparseVector)
        assert remote.indices == local.indices
        np.testing.assert_allclose(remote.values, local.values, rtol=1e-6)
    else:
        np.testing.assert_allclose(remote, local, rtol=1e-5, atol=1e-6)  # type: ignore[arg-type]
