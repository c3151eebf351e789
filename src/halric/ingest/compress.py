"""Rewrite an HDF5/NeXus file with a lossless codec, chunk by chunk, and prove nothing changed.

Every group, attribute, soft link, external link and hard link is kept. Large numeric datasets are
rewritten with the codec, one chunk at a time (memory stays at a few chunks whatever the file size);
small, non-numeric and virtual datasets are copied as they are (HDF5's own object copy). The output is
written to a temporary name beside the target, compared with the input — structure, attributes and
decoded data, chunk by chunk — and only then renamed to the target.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from halric.core.errors import Conflict, InvalidInput, Unprocessable
from halric.ingest.codecs import _frame_chunks, check_codec, filter_kwargs

RECOMPRESS_MIN_BYTES = 64 * 1024  # smaller datasets are copied unchanged
GOOD_CHUNK_BYTES = 1 << 20  # source chunks smaller than this are merged into frame-sized chunks


def _copy_attrs(src: Any, dst: Any) -> None:
    for k in src.attrs:
        aid = src.attrs.get_id(k)
        dst.attrs.create(k, src.attrs[k], shape=aid.shape, dtype=aid.dtype)


def _recompress(ds: Any) -> bool:
    return (
        not ds.is_virtual
        and ds.shape is not None
        and len(ds.shape) >= 1
        and ds.dtype.kind in "iufb"
        and ds.size * ds.dtype.itemsize >= RECOMPRESS_MIN_BYTES
    )


def _chunk_iter(ds: Any, chunks: tuple[int, ...]) -> Any:
    if ds.chunks:
        yield from ds.iter_chunks()
        return
    import itertools

    ranges = [range(0, s, c) for s, c in zip(ds.shape, chunks, strict=True)]
    for start in itertools.product(*ranges):
        yield tuple(slice(a, min(a + c, s)) for a, c, s in zip(start, chunks, ds.shape, strict=True))


class _Copier:
    def __init__(self, fin: Any, fout: Any, codec: str, progress: Callable[[int], None] | None) -> None:
        self.fin, self.fout, self.codec = fin, fout, codec
        self.kw = filter_kwargs(codec)
        self.progress = progress
        self.first_path: dict[int, str] = {}
        self.recompressed = 0
        self.copied = 0
        self.links = 0

    def group(self, gin: Any, gout: Any) -> None:
        import h5py

        for name in gin:
            link = gin.get(name, getlink=True)
            if isinstance(link, h5py.SoftLink):
                gout[name] = h5py.SoftLink(link.path)
                self.links += 1
                continue
            if isinstance(link, h5py.ExternalLink):
                gout[name] = h5py.ExternalLink(link.filename, link.path)
                self.links += 1
                continue
            obj = gin[name]
            key = hash(obj.id)
            if key in self.first_path:  # a second hard link to an object already copied
                gout[name] = gout.file[self.first_path[key]]
                self.links += 1
                continue
            target = f"{gout.name.rstrip('/')}/{name}"
            self.first_path[key] = target
            if isinstance(obj, h5py.Group):
                sub = gout.create_group(name)
                _copy_attrs(obj, sub)
                self.group(obj, sub)
            elif isinstance(obj, h5py.Dataset) and _recompress(obj):
                self.dataset(obj, gout, name)
            else:  # small or non-numeric datasets, virtual datasets, committed datatypes
                self.fin.copy(obj, gout, name)
                self.copied += 1

    def dataset(self, ds: Any, gout: Any, name: str) -> None:
        chunks = ds.chunks
        if not chunks or math.prod(chunks) * ds.dtype.itemsize < GOOD_CHUNK_BYTES:
            chunks = _frame_chunks(ds.shape, ds.dtype.itemsize)  # tiny chunks compress badly
        out = gout.create_dataset(
            name, shape=ds.shape, dtype=ds.dtype, chunks=chunks, maxshape=ds.maxshape,
            fillvalue=ds.fillvalue, **self.kw,
        )  # fmt: skip
        _copy_attrs(ds, out)
        for sl in _chunk_iter(out, chunks):
            block = ds[sl]
            out[sl] = block
            if self.progress:
                self.progress(block.nbytes)
        self.recompressed += 1


def _attrs_equal(a: Any, b: Any) -> str | None:
    import numpy as np

    if set(a.attrs) != set(b.attrs):
        return f"attributes differ: {sorted(set(a.attrs) ^ set(b.attrs))}"
    for k in a.attrs:
        va, vb = a.attrs[k], b.attrs[k]
        if isinstance(va, np.ndarray) or isinstance(vb, np.ndarray):
            if not np.array_equal(np.asarray(va), np.asarray(vb)):
                return f"attribute {k} differs"
        elif va != vb and not (va != va and vb != vb):  # NaN == NaN here
            return f"attribute {k} differs"
    return None


def verify_copy(src: Path, dst: Path, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Compare two HDF5 files: the same tree, links, attributes, and decoded data (chunk by chunk)."""
    import h5py
    import numpy as np

    checked = {"datasets": 0, "bytes": 0, "groups": 0, "links": 0}

    def fail(path: str, what: str) -> None:
        raise Unprocessable(f"verify: {path}: {what}; the output was not kept")

    def walk(a: Any, b: Any, path: str) -> None:
        if set(a) != set(b):
            fail(path or "/", f"members differ: {sorted(set(a) ^ set(b))}")
        msg = _attrs_equal(a, b)
        if msg:
            fail(path or "/", msg)
        for name in a:
            p = f"{path}/{name}"
            la, lb = a.get(name, getlink=True), b.get(name, getlink=True)
            if type(la) is not type(lb):
                fail(p, f"link kind differs ({type(la).__name__} vs {type(lb).__name__})")
            if isinstance(la, h5py.SoftLink):
                if la.path != lb.path:
                    fail(p, "soft link target differs")
                checked["links"] += 1
                continue
            if isinstance(la, h5py.ExternalLink):
                if (la.filename, la.path) != (lb.filename, lb.path):
                    fail(p, "external link target differs")
                checked["links"] += 1
                continue
            oa, ob = a[name], b[name]
            if isinstance(oa, h5py.Group):
                checked["groups"] += 1
                walk(oa, ob, p)
            elif isinstance(oa, h5py.Dataset):
                if not isinstance(ob, h5py.Dataset) or oa.shape != ob.shape or oa.dtype != ob.dtype:
                    fail(p, "shape or type differs")
                msg = _attrs_equal(oa, ob)
                if msg:
                    fail(p, msg)
                if oa.shape is None:
                    continue
                if not oa.shape or oa.size * oa.dtype.itemsize < RECOMPRESS_MIN_BYTES:
                    va, vb = oa[()], ob[()]
                    same = (
                        np.array_equal(np.asarray(va), np.asarray(vb))
                        if oa.dtype.kind in "iufb"
                        else bool(np.all(np.asarray(va) == np.asarray(vb)))
                    )
                    if not same:
                        fail(p, "data differ")
                    checked["datasets"] += 1
                    continue
                chunks = ob.chunks or _frame_chunks(oa.shape, oa.dtype.itemsize)
                for sl in _chunk_iter(ob, chunks):
                    xa, xb = oa[sl], ob[sl]
                    if xa.tobytes() != xb.tobytes():
                        fail(p, f"decoded data differ in chunk {sl}")
                    checked["bytes"] += xa.nbytes
                    if progress:
                        progress(xa.nbytes)
                checked["datasets"] += 1

    with h5py.File(src, "r") as fa, h5py.File(dst, "r") as fb:
        walk(fa, fb, "")
    return checked


def compress_file(
    src: Path,
    dst: Path,
    codec: str = "auto",
    *,
    force: bool = False,
    goal: dict[str, Any] | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Write ``dst`` as a verified, losslessly compressed copy of ``src``. Never touches ``src``."""
    import h5py

    codec = check_codec(codec)
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise InvalidInput(f"input: {src} is not a file", field="input")
    if not h5py.is_hdf5(src):
        raise InvalidInput(f"input: {src} is not an HDF5 file", field="input")
    if dst.resolve() == src.resolve() or (dst.exists() and os.path.samefile(src, dst)):
        raise InvalidInput("output: the output must not be the input; compress never overwrites its input",
                           field="output")  # fmt: skip
    if dst.exists() and not force:
        raise Conflict(
            f"output: {dst} exists; choose another name or pass --force to replace it", field="output"
        )
    if not dst.parent.is_dir():
        raise InvalidInput(f"output: folder {dst.parent} does not exist", field="output")
    advice = None
    if codec == "auto":
        from halric.ingest.codecs import advise, recommend

        report = advise(src, per_dataset=3)
        advice = recommend(report["overall"], **(goal or {}))
        codec = advice["codec"]
    tmp = dst.with_name(f".{dst.name}.partial-{os.getpid()}")
    t0 = time.perf_counter()
    try:
        with h5py.File(src, "r") as fin, h5py.File(tmp, "w") as fout:
            _copy_attrs(fin, fout)
            copier = _Copier(fin, fout, codec, (lambda n: progress("write", n)) if progress else None)
            copier.group(fin, fout)
        t_write = time.perf_counter() - t0
        checked = verify_copy(src, tmp, (lambda n: progress("verify", n)) if progress else None)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    in_bytes, out_bytes = src.stat().st_size, dst.stat().st_size
    return {
        "input": str(src),
        "output": str(dst),
        "codec": codec,
        "advice": advice,
        "input_bytes": in_bytes,
        "output_bytes": out_bytes,
        "ratio": round(in_bytes / out_bytes, 3) if out_bytes else None,
        "datasets_recompressed": copier.recompressed,
        "objects_copied": copier.copied,
        "links": copier.links,
        "verified": True,
        "verified_bytes": checked["bytes"],
        "write_s": round(t_write, 3),
        "total_s": round(time.perf_counter() - t0, 3),
    }
