"""Recognise detector file formats by their first bytes, and read the headers of the simple ones.

HDF5/NeXus is handled in :mod:`halric.ingest.nexus`. TIFF (classic and BigTIFF), CBF (Pilatus, EIGER
in CBF mode), ESRF EDF and MRC (electron microscopy) get their header metadata here. Anything else is a
plain file: it is checksummed and catalogued, with no metadata.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
CBF_BINARY_START = b"\x0c\x1a\x04\xd5"
MAX_HEADER = 64 * 1024


def sniff(path: str | Path) -> str:
    """``hdf5``, ``tiff``, ``cbf``, ``edf``, ``mrc`` or ``plain`` (by content; the name decides nothing)."""
    with open(path, "rb") as fh:
        head = fh.read(1024)
        if head.startswith(HDF5_SIGNATURE):
            return "hdf5"
        # HDF5 may have a user block of 512, 1024, 2048 … bytes before the superblock.
        offset = 512
        size = fh.seek(0, 2)
        while offset < min(size, 1 << 24):
            fh.seek(offset)
            if fh.read(8) == HDF5_SIGNATURE:
                return "hdf5"
            offset *= 2
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head.startswith(b"###CBF") or b"_array_data.data" in head[:1024]:
        return "cbf"
    if head.lstrip()[:1] == b"{" and (b"HeaderID" in head or b"EDF_" in head or b"ByteOrder" in head):
        return "edf"
    if len(head) >= 212 and head[208:212] == b"MAP ":
        return "mrc"
    return "plain"


def tiff_metadata(path: str | Path | Any) -> dict[str, Any]:
    """Pages, shape, dtype, compression and descriptive tags; pixel data is not read. ``path`` may be an
    open ``tifffile.TiffFile`` another reader shares."""
    import tifffile

    if isinstance(path, tifffile.TiffFile):
        return _tiff(path)
    with tifffile.TiffFile(path) as tif:
        return _tiff(tif)


def _tiff(tif: Any) -> dict[str, Any]:
    first = tif.pages.first
    pages = len(tif.pages)
    out: dict[str, Any] = {
        "format": "tiff",
        "bigtiff": tif.is_bigtiff,
        "pages": pages,
        "frame_shape": list(first.shape),
        "dtype": str(first.dtype),
        "compression": first.compression.name.lower(),
        "bits_per_sample": first.bitspersample,
    }
    for tag in ("ImageDescription", "Software", "DateTime", "Make", "Model", "Artist"):
        t = first.tags.get(tag)
        if t is not None and isinstance(t.value, str | bytes):
            value = t.value.decode("latin-1") if isinstance(t.value, bytes) else t.value
            out[tag[0].lower() + tag[1:]] = value[:2000]
    return out


def _header_bytes(path: str | Path, marker: bytes | None = None) -> bytes:
    with open(path, "rb") as fh:
        head = fh.read(MAX_HEADER)
    if marker and marker in head:
        head = head[: head.index(marker)]
    return head


_CBF_KEYS = {
    "X-Binary-Size-Fastest-Dimension": "width",
    "X-Binary-Size-Second-Dimension": "height",
    "X-Binary-Element-Type": "element_type",
    "conversions": "compression",
}


def cbf_metadata(path: str | Path) -> dict[str, Any]:
    """The mini-CIF header and the binary section's MIME header (Pilatus/EIGER style)."""
    text = _header_bytes(path, CBF_BINARY_START).decode("latin-1", "replace")
    out: dict[str, Any] = {"format": "cbf"}
    pilatus = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("# ") and len(line) > 2:
            m = re.match(r"#\s+([A-Za-z_][A-Za-z_ ]*?)[\s:]+(.*)$", line)
            if m and m.group(1) not in pilatus:
                pilatus[m.group(1).strip().replace(" ", "_").lower()] = m.group(2).strip()
        for key, name in _CBF_KEYS.items():
            if line.startswith(key):
                out[name] = (
                    line.split(":", 1)[1].strip().strip('"') if ":" in line else line.split("=", 1)[-1]
                )
    for k in ("width", "height"):
        if k in out:
            with contextlib.suppress(ValueError):
                out[k] = int(out[k])
    if pilatus:
        out["header"] = dict(list(pilatus.items())[:60])
    return out


def edf_metadata(path: str | Path) -> dict[str, Any]:
    """ESRF data format: the ``{ key = value ; }`` header of the first frame."""
    head = _header_bytes(path)
    end = head.find(b"}")
    text = head[: end if end > 0 else len(head)].decode("latin-1", "replace")
    header = {}
    for part in text.strip("{} \n").split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            header[k.strip()] = v.strip()
    out: dict[str, Any] = {"format": "edf", "header": dict(list(header.items())[:60])}
    for key, name in (
        ("Dim_1", "width"),
        ("Dim_2", "height"),
        ("DataType", "dtype"),
        ("Size", "frame_bytes"),
    ):
        if key in header:
            out[name] = header[key]
    return out


def mrc_metadata(path: str | Path) -> dict[str, Any]:
    """MRC2014 header: nx, ny, nz and the mode (data type)."""
    import struct

    head = _header_bytes(path)[:1024]
    nx, ny, nz, mode = struct.unpack("<4i", head[:16])
    modes = {0: "int8", 1: "int16", 2: "float32", 4: "complex64", 6: "uint16", 12: "float16"}
    return {"format": "mrc", "shape": [nz, ny, nx], "dtype": modes.get(mode, f"mode {mode}")}


def light_metadata(kind: str, path: str | Path | Any) -> dict[str, Any]:
    if kind == "tiff":
        return tiff_metadata(path)
    if kind == "cbf":
        return cbf_metadata(path)
    if kind == "edf":
        return edf_metadata(path)
    if kind == "mrc":
        return mrc_metadata(path)
    return {"format": kind}
