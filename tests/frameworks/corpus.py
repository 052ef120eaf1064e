"""A small shared corpus: sixteen short texts in four topics, with metadata to filter on.

Small on purpose: far below Zoro's full-scan threshold, so both backends search exactly and
their answers can be compared point for point.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

_NS = uuid.UUID("6f0c1a52-3f0e-4d8e-9a53-0d1c2b7e9f10")


@dataclass(frozen=True)
class Doc:
    text: str
    topic: str
    year: int
    tags: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        """A stable UUID (both backends accept UUID strings as point ids)."""
        return str(uuid.uuid5(_NS, self.text))

    @property
    def metadata(self) -> dict[str, object]:
        return {"topic": self.topic, "year": self.year, "tags": self.tags}


DOCS = [
    Doc("the cat sat on the warm mat", "animals", 2019, ["pets"]),
    Doc("a small cat chased the mouse across the kitchen", "animals", 2020, ["pets"]),
    Doc("the dog barked at the cat all night", "animals", 2021, ["pets", "noise"]),
    Doc("wolves hunt in packs across the cold forest", "animals", 2018, ["wild"]),
    Doc("bake the bread in a hot oven for forty minutes", "cooking", 2020, ["baking"]),
    Doc("knead the dough and let the bread rise overnight", "cooking", 2021, ["baking"]),
    Doc("simmer the tomato sauce with garlic and basil", "cooking", 2019, ["sauce"]),
    Doc("a sharp knife makes chopping onions easier", "cooking", 2022, ["tools"]),
    Doc("the rocket launched toward the moon at dawn", "space", 2019, ["launch"]),
    Doc("astronauts walked on the moon in the cold vacuum", "space", 2018, ["moon"]),
    Doc("the telescope found a new planet near a distant star", "space", 2022, ["planets"]),
    Doc("mars has the tallest volcano in the solar system", "space", 2021, ["planets"]),
    Doc("python lists grow when you append items", "code", 2020, ["python"]),
    Doc("a python dict maps keys to values in constant time", "code", 2022, ["python"]),
    Doc("rust borrows check ownership of values at compile time", "code", 2021, ["rust"]),
    Doc("the compiler rejected the program with a type error", "code", 2019, ["errors"]),
]

QUERIES = ["cat on a mat", "bread in the oven", "walking on the moon", "python dict keys"]
