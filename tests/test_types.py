import uuid

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zoro.types import KEY_DTYPE, U64_MAX, Distance, id_of, ids_of, int_keys, key_of, keys_of

point_ids = st.one_of(st.integers(0, U64_MAX), st.uuids())


@given(st.lists(point_ids, max_size=50))
def test_ids_round_trip_through_keys(ids: list[int | uuid.UUID]) -> None:
    assert ids_of(keys_of(ids)) == ids


@given(st.lists(point_ids, min_size=1, max_size=50))
def test_keys_sort_ints_first_then_uuids_in_value_order(ids: list[int | uuid.UUID]) -> None:
    ordered = ids_of(np.sort(keys_of(ids)))
    ints = sorted(i for i in ids if isinstance(i, int))
    uuids = sorted((i for i in ids if isinstance(i, uuid.UUID)), key=lambda u: u.int)
    assert ordered == ints + uuids


def test_int_keys_match_key_of_at_the_edges() -> None:
    edges = [0, 1, 255, 256, 2**63, U64_MAX]
    fast = int_keys(np.array(edges, dtype=np.uint64))
    assert fast.dtype == KEY_DTYPE
    assert [bytes(k).ljust(17, b"\0") for k in fast] == [key_of(i) for i in edges]


@pytest.mark.parametrize("bad", [-1, U64_MAX + 1, 1.5, "7", True, None])
def test_key_of_rejects_what_qdrant_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="point id"):
        key_of(bad)  # type: ignore[arg-type]


def test_keys_of_names_the_bad_id_in_an_int_list() -> None:
    with pytest.raises(ValueError, match="-5"):
        keys_of([1, 2, -5])


def test_id_of_pads_keys_numpy_stripped() -> None:
    keys = keys_of([256])  # ends in a NUL byte that numpy scalars drop
    assert id_of(keys[0]) == 256


def test_distance_direction() -> None:
    assert Distance.COSINE.higher_is_better
    assert Distance.DOT.higher_is_better
    assert not Distance.EUCLID.higher_is_better
    assert not Distance.MANHATTAN.higher_is_better
