"""Bitmap: a packed set of slots, and the FAISS selector made from it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from zoro.ann import Bitmap


def test_set_clear_test_vectorised() -> None:
    bits = Bitmap()
    bits.set(np.array([0, 7, 8, 1000, 7], dtype=np.int64))
    got = bits.test(np.array([0, 1, 7, 8, 9, 1000, 10**9]))
    assert got.astype(int).tolist() == [1, 0, 1, 1, 0, 1, 0]
    assert 1000 in bits
    assert 999 not in bits
    assert -1 not in bits
    bits.clear(np.array([7, 5, 10**9], dtype=np.int64))  # clearing unknown slots is harmless
    assert bits.count() == 3
    assert bits.capacity >= 1001


def test_copy_is_a_snapshot() -> None:
    bits = Bitmap()
    bits.set(np.array([3]))
    snap = bits.copy()
    bits.set(np.array([4, 100_000]))
    snap.clear(np.array([3]))
    assert bits.test(np.array([3, 4, 100_000])).all()
    assert not snap.test(np.array([3, 4, 100_000])).any()


def test_negative_slots_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        Bitmap().set(np.array([-1]))


def test_selector_keeps_the_slots_not_set_and_survives_growth() -> None:
    bits = Bitmap(16)
    bits.set(np.array([2]))
    sel: Any = bits.selector()  # FAISS's stubs leave is_member off IDSelector
    assert not sel.is_member(2)
    assert sel.is_member(3)
    assert sel.is_member(10**6)
    bits.set(np.array([5_000]))  # grows: the old selector is replaced, not left dangling
    sel = bits.selector()
    assert not sel.is_member(5_000)
    assert not sel.is_member(2)
