"""Lossless codecs for detector data, measured on this machine, and the advice that follows.

Each codec is an HDF5 filter (hdf5plugin, or h5py's own gzip). Measurements run the real HDF5 filter
pipeline on an in-memory HDF5 file: one chunk written (compressed) and read back (decompressed) per
sample, with the chunk cache off so every access goes through the filter.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halric.core.errors import InvalidInput, Unprocessable

CODECS: dict[str, str] = {
    "bslz4": "bitshuffle + LZ4",
    "bszstd": "bitshuffle + Zstd (level 3)",
    "blosc2": "Blosc2 Zstd (level 5) with bit shuffle",
    "blosc2-lz4": "Blosc2 LZ4 (level 5) with byte shuffle",
    "gzip": "gzip (deflate level 6)",
    "none": "no compression",
}
CHOICES = ("auto", *CODECS)
DEFAULT_RATE = 100e6  # bytes/s `auto` must keep up with on one core (about 3 h per TB per core)
MIN_GAIN = 1.05  # "none" is only chosen when no codec saves at least 5 %
SAMPLE_CHUNKS = 6
SAMPLE_BYTES = 48 << 20  # at most this much data sampled per dataset (at least one chunk)
MIN_DATASET_BYTES = 256 << 10
# Bitshuffle block size in elements (256 KiB of 32-bit pixels). hdf5plugin's default (0: 8 KiB blocks) gives
# LZ4 too little to match in sparse detector frames; larger blocks raised the ratio on simulated EIGER
# frames from 12.6 to 17.1 (0.93× to 1.26× gzip-6) at the same speed (bench/data.py, docs/data-handling.md).
# Readers need nothing special: the block size is stored with the filter in each HDF5 dataset.
BITSHUFFLE_BLOCK = 65536


def check_codec(name: str, *, allow_auto: bool = True) -> str:
    n = name.lower()
    if n not in CODECS and not (allow_auto and n == "auto"):
        choices = CHOICES if allow_auto else tuple(CODECS)
        raise InvalidInput(f"codec: {name!r} is not known; use one of {', '.join(choices)}", field="codec")
    return n


def filter_kwargs(name: str, *, bitshuffle_block: int = BITSHUFFLE_BLOCK) -> dict[str, Any]:
    """Keyword arguments for ``h5py.Group.create_dataset`` that apply the codec."""
    if name == "none":
        return {}
    if name == "gzip":
        return {"compression": "gzip", "compression_opts": 6}
    import hdf5plugin

    if name == "bslz4":
        return dict(hdf5plugin.Bitshuffle(nelems=bitshuffle_block, cname="lz4"))
    if name == "bszstd":
        return dict(hdf5plugin.Bitshuffle(nelems=bitshuffle_block, cname="zstd", clevel=3))
    if name == "blosc2":
        return dict(hdf5plugin.Blosc2(cname="zstd", clevel=5, filters=hdf5plugin.Blosc2.BITSHUFFLE))
    if name == "blosc2-lz4":
        return dict(hdf5plugin.Blosc2(cname="lz4", clevel=5, filters=hdf5plugin.Blosc2.SHUFFLE))
    raise InvalidInput(f"codec: {name!r} is not known", field="codec")


@dataclass
class Measurement:
    codec: str
    ratio: float  # uncompressed / compressed
    compress_bps: float  # uncompressed bytes per second, one core
    decompress_bps: float
    bits_per_value: float
    nbytes: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "codec": self.codec,
            "description": CODECS[self.codec],
            "ratio": round(self.ratio, 3),
            "compress_mb_s": round(self.compress_bps / 1e6, 1),
            "decompress_mb_s": round(self.decompress_bps / 1e6, 1),
            "bits_per_value": round(self.bits_per_value, 3),
            "sample_bytes": self.nbytes,
        }


def measure(
    samples: list[Any], codec: str, *, min_seconds: float = 0.15, bitshuffle_block: int = BITSHUFFLE_BLOCK
) -> Measurement:
    """Ratio and one-core throughput of one codec on same-shaped chunks (numpy arrays)."""
    import h5py
    import numpy as np

    if not samples:
        raise Unprocessable("codecs: no data to measure")
    kw = filter_kwargs(codec, bitshuffle_block=bitshuffle_block)
    shape, dtype = samples[0].shape, samples[0].dtype
    nbytes = sum(s.nbytes for s in samples)
    buf = np.empty(shape, dtype)
    best_c = best_d = math.inf
    stored = 0
    reps = 0
    spent = 0.0
    while reps < 1 or (spent < min_seconds and reps < 20):
        name = f"/tmp/halric-codec-{os.getpid()}-{reps}.h5"
        with h5py.File(name, "w", driver="core", backing_store=False, rdcc_nbytes=0) as f:
            ds = f.create_dataset("d", shape=(len(samples), *shape), dtype=dtype, chunks=(1, *shape), **kw)
            t = time.perf_counter()
            for i, s in enumerate(samples):
                ds.write_direct(np.ascontiguousarray(s), dest_sel=np.s_[i])
            f.flush()
            tc = time.perf_counter() - t
            stored = ds.id.get_storage_size()
            t = time.perf_counter()
            for i in range(len(samples)):
                ds.read_direct(buf, source_sel=np.s_[i])
            td = time.perf_counter() - t
        best_c, best_d = min(best_c, tc), min(best_d, td)
        spent += tc + td
        reps += 1
    values = sum(s.size for s in samples)
    return Measurement(
        codec=codec,
        ratio=nbytes / stored if stored else math.inf,
        compress_bps=nbytes / best_c,
        decompress_bps=nbytes / best_d,
        bits_per_value=8 * stored / values,
        nbytes=nbytes,
    )


def entropy_bits(samples: list[Any]) -> float:
    """Shannon entropy of the value distribution, in bits per value (i.i.d. lower bound)."""
    import numpy as np

    values, counts = np.unique(np.concatenate([np.asarray(s).ravel() for s in samples]), return_counts=True)
    p = counts / counts.sum()
    del values
    return float(-(p * np.log2(p)).sum())


# --- sampling a file ----------------------------------------------------------------------------------


def _chunk_slices(shape: tuple[int, ...], chunks: tuple[int, ...], n: int) -> list[tuple[slice, ...]]:
    grid = [math.ceil(s / c) for s, c in zip(shape, chunks, strict=True)]
    total = math.prod(grid)
    picks = sorted({int(i * total / n) for i in range(n)}) if total > n else range(total)
    out = []
    for flat in picks:
        idx = []
        for g in reversed(grid):
            idx.append(flat % g)
            flat //= g
        idx.reverse()
        out.append(
            tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(idx, chunks, shape, strict=True))
        )
    return out


def sample_chunks(path: Path, per_dataset: int = SAMPLE_CHUNKS) -> list[dict[str, Any]]:
    """For each large numeric dataset (external links followed): a few evenly spaced full chunks."""
    import h5py
    import numpy as np

    found: list[dict[str, Any]] = []
    seen: set[int] = set()

    def visit(group: Any, prefix: str) -> None:
        for name in group:
            try:
                obj = group[name]
            except Exception:  # unresolvable link: nothing to sample
                continue
            if hash(obj.id) in seen:
                continue
            seen.add(hash(obj.id))
            if isinstance(obj, h5py.Group):
                visit(obj, f"{prefix}/{name}")
            elif (
                isinstance(obj, h5py.Dataset)
                and obj.shape
                and obj.dtype.kind in "iuf"
                and obj.size * obj.dtype.itemsize >= MIN_DATASET_BYTES
            ):
                chunks = obj.chunks or _frame_chunks(obj.shape, obj.dtype.itemsize)
                chunk_bytes = math.prod(chunks) * obj.dtype.itemsize
                n = max(1, min(per_dataset, SAMPLE_BYTES // max(1, chunk_bytes)))
                samples = [np.asarray(obj[s]) for s in _chunk_slices(obj.shape, chunks, n)]
                full = [s for s in samples if s.shape == samples[0].shape]
                found.append(
                    {"path": f"{prefix}/{name}", "shape": list(obj.shape), "dtype": str(obj.dtype),
                     "chunks": list(chunks), "nbytes": int(obj.size * obj.dtype.itemsize), "samples": full}
                )  # fmt: skip

    with h5py.File(path, "r") as f:
        visit(f, "")
    return found


def _frame_chunks(shape: tuple[int, ...], itemsize: int, target: int = 4 << 20) -> tuple[int, ...]:
    """A chunk shape of whole frames along the first axis, about ``target`` bytes (at least one frame)."""
    if len(shape) >= 3:
        frame = math.prod(shape[1:]) * itemsize
        return (max(1, min(shape[0], target // max(1, frame))), *shape[1:])
    if len(shape) == 2:
        rows = max(1, min(shape[0], target // max(1, shape[1] * itemsize)))
        return (rows, shape[1])
    return (max(1, min(shape[0], target // itemsize)),)


def advise(path: Path, codecs: list[str] | None = None, per_dataset: int = SAMPLE_CHUNKS) -> dict[str, Any]:
    """Measure every codec on samples of every large dataset of an HDF5 file."""
    import h5py

    if not h5py.is_hdf5(path):
        raise InvalidInput(f"file: {path} is not an HDF5 file", field="file")
    codecs = codecs or list(CODECS)
    datasets = sample_chunks(path, per_dataset)
    if not datasets:
        raise Unprocessable(
            f"file: {path} has no numeric dataset of at least {MIN_DATASET_BYTES >> 10} KiB to measure"
        )
    out_ds = []
    total: dict[str, dict[str, float]] = {
        c: {"stored": 0.0, "tc": 0.0, "td": 0.0, "raw": 0.0} for c in codecs
    }
    for d in datasets:
        rows = [measure(d["samples"], c) for c in codecs]
        weight = d["nbytes"]
        for m in rows:
            t = total[m.codec]
            t["raw"] += weight
            t["stored"] += weight / m.ratio
            t["tc"] += weight / m.compress_bps
            t["td"] += weight / m.decompress_bps
        out_ds.append(
            {
                "path": d["path"], "shape": d["shape"], "dtype": d["dtype"], "chunks": d["chunks"],
                "nbytes": d["nbytes"], "sampled_chunks": len(d["samples"]),
                "entropy_bits": round(entropy_bits(d["samples"]), 3), "codecs": [m.as_dict() for m in rows],
            }
        )  # fmt: skip
    overall = [
        {
            "codec": c,
            "description": CODECS[c],
            "ratio": round(t["raw"] / t["stored"], 3),
            "compress_mb_s": round(t["raw"] / t["tc"] / 1e6, 1),
            "decompress_mb_s": round(t["raw"] / t["td"] / 1e6, 1),
        }
        for c, t in total.items()
    ]
    return {"file": str(path), "datasets": out_ds, "overall": overall, "cores_measured": 1}


def recommend(
    overall: list[dict[str, Any]],
    *,
    goal: str = "keep-up",
    rate: float = DEFAULT_RATE,
    cores: int = 1,
    budget_s: float | None = None,
    nbytes: float | None = None,
) -> dict[str, Any]:
    """Pick a codec for a goal.

    ``keep-up``: among the codecs whose compression on ``cores`` cores keeps up with ``rate`` bytes/s, the
    one with the best ratio (the fastest one when none keeps up). ``smallest``: the best ratio whose
    compression of ``nbytes`` on ``cores`` cores fits in ``budget_s`` seconds.
    """
    if goal not in ("keep-up", "smallest"):
        raise InvalidInput("goal: use keep-up or smallest", field="goal")
    if cores < 1:
        raise InvalidInput("cores: at least 1", field="cores")
    rows = sorted(overall, key=lambda r: (-r["ratio"], -r["compress_mb_s"]))
    if any(r["ratio"] >= MIN_GAIN for r in rows if r["codec"] != "none"):
        rows = [r for r in rows if r["codec"] != "none"]
    if goal == "keep-up":
        ok = [r for r in rows if r["compress_mb_s"] * 1e6 * cores >= rate]
        why = f"keeps up with {rate / 1e9:.3g} GB/s on {cores} core(s) and compresses best"
    else:
        if not budget_s or budget_s <= 0 or not nbytes:
            raise InvalidInput("budget: give a time budget in seconds (and the data size)", field="budget")
        ok = [r for r in rows if nbytes / (r["compress_mb_s"] * 1e6 * cores) <= budget_s]
        why = f"compresses {nbytes / 1e9:.3g} GB within {budget_s:g} s on {cores} core(s) and is smallest"
    if ok:
        return {"codec": ok[0]["codec"], "why": why, "met": True}
    fastest = max(rows, key=lambda r: r["compress_mb_s"])
    return {
        "codec": fastest["codec"],
        "why": "no codec meets the goal on this machine; this is the fastest",
        "met": False,
    }


def chart_svg(overall: list[dict[str, Any]], title: str = "Compression trade-off") -> str:
    """Ratio against one-core compression speed (log scale), as a small standalone SVG."""
    w, h, m = 560, 320, 50
    xs = [max(r["compress_mb_s"], 1.0) for r in overall]
    ys = [r["ratio"] for r in overall]
    x0, x1 = math.log10(min(xs)) - 0.2, math.log10(max(xs)) + 0.2
    y1 = max(ys) * 1.15

    def px(v: float) -> float:
        return m + (math.log10(v) - x0) / (x1 - x0) * (w - 2 * m)

    def py(v: float) -> float:
        return h - m - v / y1 * (h - 2 * m)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'font-family="sans-serif" font-size="11">',
        f'<text x="{w / 2}" y="18" text-anchor="middle" font-size="13">{title}</text>',
        f'<line x1="{m}" y1="{h - m}" x2="{w - m}" y2="{h - m}" stroke="#333"/>',
        f'<line x1="{m}" y1="{m}" x2="{m}" y2="{h - m}" stroke="#333"/>',
        f'<text x="{w / 2}" y="{h - 12}" text-anchor="middle">compression speed, MB/s per core (log)</text>',
        f'<text x="14" y="{h / 2}" transform="rotate(-90 14 {h / 2})" text-anchor="middle">ratio</text>',
    ]
    for k in range(math.floor(x0) + 1, math.ceil(x1) + 1):
        parts.append(f'<text x="{px(10**k):.1f}" y="{h - m + 14}" text-anchor="middle">{10**k:g}</text>')
    for r, x, y in zip(overall, xs, ys, strict=True):
        parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="5" fill="#1f6feb"/>')
        parts.append(f'<text x="{px(x) + 8:.1f}" y="{py(y) + 4:.1f}">{r["codec"]} ({y:.2f}×)</text>')
    parts.append("</svg>")
    return "\n".join(parts)
