"""Datetime strings read as qdrant-client's local mode reads them (the server's layouts)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from qdrant_client.local.datetime_utils import parse as reference

from zoro.payload.datetimes import parse_datetime

# pieces that make valid layouts, near misses and junk when put together
_DATES = [
    "2024-01-01",
    "2024-1-1",
    "2024-02-30",
    "20240101",
    "2024-W01-1",
    "0099-12-31",
    "2024-13-01",
]
_SEPARATORS = ["T", "t", " ", "  ", "_", ""]
_TIMES = [
    "00:00",
    "1:2",
    "23:59:59",
    "00:00:60",
    "24:00:00",
    "12",
    "10:20:30.5",
    "10:20:30.1234567",
]
_OFFSETS = ["", "Z", "z", " Z", "+01", "+0130", "-05:30", " +01:00", " UTC", "UTC", "+24:00", "+5"]

strings = st.one_of(
    st.builds(
        lambda lead, d, sep, t, off: f"{lead}{d}{sep}{t}{off}",
        st.sampled_from(["", " ", "\t"]),
        st.sampled_from(_DATES),
        st.sampled_from(_SEPARATORS),
        st.sampled_from(_TIMES),
        st.sampled_from(_OFFSETS),
    ),
    st.builds(lambda d, off: d + off, st.sampled_from(_DATES), st.sampled_from(_OFFSETS)),
    st.text(alphabet="0123456789-:T .Z+", max_size=25),
)


@settings(max_examples=1500, deadline=None)
@given(strings)
def test_datetimes_read_as_the_reference_reads_them(text: str) -> None:
    want = reference(text)
    assert parse_datetime(text) == (None if want is None else want.timestamp()), text


def test_an_offset_shifts_the_instant() -> None:
    assert parse_datetime("2024-01-01T01:00:00+01:00") == parse_datetime("2024-01-01")
    assert parse_datetime("2024-01-01T00:00:00.250Z") == parse_datetime("2024-01-01") + 0.25  # type: ignore[operator]
    assert parse_datetime("2024-01-01T00:00:00 UTC") == parse_datetime("2024-01-01")
    for refused in ("20240101", "2024-01-01T00", "2024-01-01T00:00Z", "soon", ""):
        assert parse_datetime(refused) is None, refused
