"""Recognise detector file formats by their first bytes, and read the headers of the simple ones.

HDF5/NeXus is handled in :mod:`halric.ingest.nexus`. TIFF (classic and BigTIFF), CBF (Pilatus, EIGER
in CBF mode), ESRF EDF and MRC (electron microscopy) get their header metadata here. Anything else is a
plain file: it is checksummed and catalogued, with no metadata.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
CBF_BINARY_START = b"\x0c\x1a\x04\xd5"
MAX_HEADER = 64 * 1024


def sniff(path: str | Path) -> str:
    """``hdf5``, ``tiff``, ``cbf``, ``edf``, ``mrc`` or ``plain`` (by content; the name decides nothing)."""
    fd = os.open(path, os.O_RDONLY)  # unbuffered reads at offsets: a dozen per file, for every file
    try:
        head = os.pread(fd, 1024, 0)
        if head.startswith(HDF5_SIGNATURE):
            return "hdf5"
        # HDF5 may have a user block of 512, 1024, 2048 … bytes before the superblock.
        offset = 512
        size = os.fstat(fd).st_size
        while offset < min(size, 1 << 24):
            if os.pread(fd, 8, offset) == HDF5_SIGNATURE:
                return "hdf5"
            offset *= 2
    finally:
        os.close(fd)
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


# Baseline tags of a plain greyscale TIFF (tifffile's names): a first IFD with only these is read by
# read_tiff_header; anything else goes to tifffile.
_TIFF_TAGS = {
    254: "NewSubfileType", 255: "SubfileType", 256: "ImageWidth", 257: "ImageLength", 258: "BitsPerSample",
    259: "Compression", 262: "PhotometricInterpretation", 266: "FillOrder", 269: "DocumentName",
    270: "ImageDescription", 271: "Make", 272: "Model", 273: "StripOffsets", 274: "Orientation",
    277: "SamplesPerPixel", 278: "RowsPerStrip", 279: "StripByteCounts", 282: "XResolution",
    283: "YResolution", 284: "PlanarConfiguration", 285: "PageName", 296: "ResolutionUnit",
    305: "Software", 306: "DateTime", 315: "Artist", 316: "HostComputer", 339: "SampleFormat",
}  # fmt: skip
_TIFF_TYPES = {2: ("s", 1), 3: ("H", 2), 4: ("I", 4), 5: ("I", 8)}  # ASCII, SHORT, LONG, RATIONAL
_TIFF_DTYPES = {
    (1, 8): "uint8", (1, 16): "uint16", (1, 32): "uint32", (1, 64): "uint64",
    (2, 8): "int8", (2, 16): "int16", (2, 32): "int32", (2, 64): "int64",
    (3, 16): "float16", (3, 32): "float32", (3, 64): "float64",
}  # fmt: skip
_TIFF_TEXT = ("ImageDescription", "Software", "DateTime", "Make", "Model", "Artist")


@dataclass(frozen=True)
class TiffHeader:
    """What the catalog and the patient-data guard need of a plain TIFF: ``tiff_metadata``'s answer and
    the text tags of the first page as (tifffile's tag name, value)."""

    metadata: dict[str, Any]
    text_tags: list[tuple[str, str]]


def read_tiff_header(fh: BinaryIO) -> TiffHeader | None:
    """The first IFD of a plain TIFF, read with a few ``struct`` calls instead of tifffile (which costs
    ten times as much per file: it counts for folders of many small images).

    Only the common case is read here — classic TIFF, one page, one uncompressed greyscale sample of a
    whole number of bytes, baseline tags only, ASCII tags in UTF-8 — and gives exactly what tifffile
    gives; anything else (BigTIFF, several pages, compression, colour, other tags, odd values) answers
    None: read it with tifffile. ``fh`` is an open binary file; its position is left anywhere."""
    try:
        return _tiff_header(fh)
    except (struct.error, ValueError, OverflowError, KeyError, IndexError):
        return None


def _tiff_header(fh: BinaryIO) -> TiffHeader | None:
    fh.seek(0)
    head = fh.read(4096)  # writers put the first IFD and its values here, or right after the pixels

    def at(offset: int, nbytes: int) -> bytes:
        if offset + nbytes <= len(head):
            return head[offset : offset + nbytes]
        fh.seek(offset)
        return fh.read(nbytes)

    if head[:4] == b"II*\x00":
        e = "<"
    elif head[:4] == b"MM\x00*":
        e = ">"
    else:
        return None  # BigTIFF or not TIFF
    (offset,) = struct.unpack(e + "I", head[4:8])
    (n,) = struct.unpack(e + "H", at(offset, 2))
    if not 0 < n <= len(_TIFF_TAGS):
        return None
    ifd = at(offset + 2, n * 12 + 4)
    if len(ifd) != n * 12 + 4 or struct.unpack(e + "I", ifd[-4:])[0] != 0:
        return None  # truncated, or more than one page
    values: dict[int, Any] = {}
    texts: list[tuple[str, str]] = []
    for code, typ, count, inline in struct.iter_unpack(e + "HHI4s", ifd[:-4]):
        if code not in _TIFF_TAGS or typ not in _TIFF_TYPES or count == 0:
            return None
        if code in values and typ != 2:  # text tags may repeat (tifffile writes two descriptions)
            return None
        fmt, size = _TIFF_TYPES[typ]
        nbytes = count * size
        if nbytes > MAX_HEADER:
            return None
        if nbytes <= 4:
            data = inline[:nbytes]
        else:
            data = at(struct.unpack(e + "I", inline)[0], nbytes)
            if len(data) != nbytes:
                return None
        if typ == 2:  # as tifffile: NULs at the end removed, UTF-8, surrounding white space removed
            try:
                text = data.rstrip(b"\x00").decode("utf-8").strip()
            except UnicodeDecodeError:
                return None
            values[code] = text
            texts.append((_TIFF_TAGS[code], text))
        else:
            values[code] = struct.unpack(f"{e}{count * (2 if typ == 5 else 1)}{fmt}", data)
    if {256, 257, 258, 259, 262, 273, 277, 279, 339} & {c for c, v in values.items() if isinstance(v, str)}:
        return None  # a number given as text
    width, length = values.get(256, (0,)), values.get(257, (0,))
    bits = values.get(258, (1,))
    if len(width) != 1 or len(length) != 1 or width[0] < 1 or length[0] < 1 or len(bits) != 1:
        return None
    if values.get(277, (1,)) != (1,) or values.get(259, (1,)) != (1,) or values.get(262) not in ((0,), (1,)):
        return None  # colour, several samples, compressed, or no photometric interpretation
    sample_format = values.get(339, (1,))
    dtype = _TIFF_DTYPES.get((sample_format[0], bits[0])) if len(sample_format) == 1 else None
    strips, counts = values.get(273), values.get(279)
    if dtype is None or not strips or not counts or len(strips) != len(counts):
        return None
    metadata: dict[str, Any] = {
        "format": "tiff",
        "bigtiff": False,
        "pages": 1,
        "frame_shape": [length[0], width[0]],
        "dtype": dtype,
        "compression": "none",
        "bits_per_sample": bits[0],
    }
    by_name = {name: value for name, value in reversed(texts)}  # the first of a name, as tifffile
    for tag in _TIFF_TEXT:
        if tag in by_name:
            metadata[tag[0].lower() + tag[1:]] = by_name[tag][:2000]
    return TiffHeader(metadata, texts)


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
