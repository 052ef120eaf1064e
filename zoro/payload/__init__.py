"""Payload filtering: the filter language, payload indexes, and turning a filter into slots.

Plain synchronous code with no trio in it, like zoro.storage and zoro.ann: the collection actor
decides what runs on its event loop (index upkeep on apply, `prepare`) and what goes to a worker
thread (`scan` of many payloads, `build_index`, writing index files).
"""

from zoro.payload.conditions import (
    Condition,
    Filter,
    GeoBoundingBox,
    GeoPolygon,
    GeoRadius,
    HasId,
    IsEmpty,
    IsNull,
    KeyPath,
    Match,
    MinShould,
    Nested,
    Range,
    TextMatch,
    ValuesCount,
    matches,
    parse_key,
    text_match,
)
from zoro.payload.field_index import FieldIndex
from zoro.payload.indexes import SCHEMAS, FieldInfo, PayloadIndexes, build_index, index_slots
from zoro.payload.select import Prepared, apply_scan, prepare, scan
from zoro.payload.text_index import TextIndex
from zoro.payload.tokenize import TextParams, Tokenizer, parse_params

__all__ = [
    "SCHEMAS",
    "Condition",
    "FieldIndex",
    "FieldInfo",
    "Filter",
    "GeoBoundingBox",
    "GeoPolygon",
    "GeoRadius",
    "HasId",
    "IsEmpty",
    "IsNull",
    "KeyPath",
    "Match",
    "MinShould",
    "Nested",
    "PayloadIndexes",
    "Prepared",
    "Range",
    "TextIndex",
    "TextMatch",
    "TextParams",
    "Tokenizer",
    "ValuesCount",
    "apply_scan",
    "build_index",
    "index_slots",
    "matches",
    "parse_key",
    "parse_params",
    "prepare",
    "scan",
    "text_match",
]
