"""Look for personal identifiers where research data hides them: metadata, file names, HDF5/NeXus
attributes and string datasets, TIFF tags, CSV/text headers and DICOM tags.

Every finding says *where* (file, place) and *what kind* — never the identifier. Reading is bounded
(headers, attributes, strings up to a size), so the guard costs little next to hashing the bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halric.privacy.identifiers import KINDS, find, iter_strings, mask, may_hold

TEXT_HEAD = 64 * 1024  # bytes of a text/CSV file read for headers and the first rows
MAX_STRING_ELEMENTS = 10_000  # of an HDF5 string dataset
TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".dat", ".log", ".json", ".xml", ".yaml", ".yml", ".ini", ".md"}
DICOM_NAMES = {".dcm", ".dicom", ".ima"}


@dataclass(frozen=True)
class Finding:
    """An identifier of ``kind`` at ``place`` in ``file`` (None: the dataset's own metadata)."""

    kind: str
    place: str
    file: str | None = None

    def describe(self) -> str:
        where = f"{self.file}: {self.place}" if self.file else self.place
        return f"{where}: {KINDS.get(self.kind, self.kind)}"

    def as_dict(self) -> dict[str, str | None]:
        return {"file": self.file, "place": self.place, "kind": self.kind}


def scan_text(text: str, place: str, context: str = "", file: str | None = None) -> list[Finding]:
    return [Finding(kind, place, file) for kind in dict.fromkeys(m.kind for m in find(text, context))]


def scan_metadata(metadata: Any, prefix: str = "metadata", file: str | None = None) -> list[Finding]:
    """Findings in nested metadata (keys and values); each value is judged with its key as context."""
    out: list[Finding] = []
    for place, text in iter_strings(metadata):
        key = place.rsplit(".", 1)[-1]
        out.extend(scan_text(text, f"{prefix}.{place}" if place else prefix, key, file))
    return out


def scan_name(rel_path: str) -> list[Finding]:
    """Identifiers in a file's name or the folders above it (relative to the ingested folder)."""
    return scan_text(rel_path, "file name", "", mask(rel_path))


def is_dicom(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            fh.seek(128)
            return fh.read(4) == b"DICM"
    except OSError:
        return False


def scan_file(path: Path, rel: str, kind: str | None = None) -> list[Finding]:
    """Everything the guard looks at in one file; ``kind`` is the ingest's sniffed format if known."""
    found = scan_name(rel)
    rel = mask(rel)  # a report names the file without the identifier its name may hold
    if kind is None:
        kind = _sniff(path)
    if kind in ("hdf5", "nexus"):
        found += _hdf5(path, rel)
    elif path.suffix.lower() in DICOM_NAMES or is_dicom(path):  # before TIFF: a DICOM preamble may be TIFF's
        found += scan_dicom(path, rel)
    elif kind == "tiff":
        found += _tiff(path, rel)
    elif path.suffix.lower() in TEXT_SUFFIXES or _looks_like_text(path):
        found += _text(path, rel)
    return _unique(found)


def _sniff(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return "plain"
    if head == b"\x89HDF\r\n\x1a\n":
        return "hdf5"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    return "plain"


def _unique(found: Iterable[Finding]) -> list[Finding]:
    return list(dict.fromkeys(found))


def _decode(v: Any) -> str | None:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, str):
        return v
    return None


def _strings(value: Any) -> Iterator[str]:
    """Strings in an HDF5 attribute or dataset value (scalars, arrays of bytes/str)."""
    s = _decode(value)
    if s is not None:
        yield s
        return
    try:
        import numpy as np

        arr = np.asarray(value)
    except Exception:
        return
    if arr.dtype.kind in ("S", "U", "O"):
        for item in arr.ravel()[:MAX_STRING_ELEMENTS]:
            s = _decode(item)
            if s is not None:
                yield s
    elif arr.dtype.kind in ("i", "u") and arr.size == 1 and int(arr.ravel()[0]) >= 10**9:
        yield str(int(arr.ravel()[0]))


def _hdf5(path: Path, rel: str) -> list[Finding]:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return scan_hdf5(f, rel)
    except (OSError, RuntimeError, KeyError):
        return []  # unreadable parts are reported by the ingest itself


def _hdf5_attrs(items: Iterable[tuple[str, Any]], where: str, rel: str, out: list[Finding]) -> None:
    for name, value in items:
        # the elements of one attribute share its name as context: one look at all of them; the place
        # names the attribute without an identifier its name may hold (as file names are masked)
        shown = mask(name)
        out.extend(scan_text("\n".join(_strings(value)), f"HDF5 attribute {where}@{shown}", name, rel))
        out.extend(scan_text(name, f"HDF5 attribute name {where}@{shown}", "", rel))


def _hdf5_object(name: str, obj: Any, items: Iterable[tuple[str, Any]], rel: str, out: list[Finding]) -> None:
    """The guard's look at one object met at ``name`` (relative to the root): its name, the attributes
    ``items`` (name, value) and, for string or large-integer scalar datasets, the value."""
    import h5py

    where = "/" + mask(name)  # a report names the object without an identifier its path may hold
    out.extend(scan_text(name.rsplit("/", 1)[-1], f"HDF5 object name {where}", "", rel))
    _hdf5_attrs(items, where, rel, out)
    if isinstance(obj, h5py.Dataset) and obj.dtype.kind in ("S", "U", "O") and obj.size:
        if obj.size > MAX_STRING_ELEMENTS or (obj.dtype.kind == "O" and obj.ndim > 1):
            return
        label = name.rsplit("/", 1)[-1]
        out.extend(scan_text("\n".join(_strings(obj[()])), f"HDF5 dataset {where}", label, rel))
    elif isinstance(obj, h5py.Dataset) and obj.dtype.kind in ("i", "u") and obj.size == 1:
        for s in _strings(obj[()]):
            out.extend(scan_text(s, f"HDF5 dataset {where}", name.rsplit("/", 1)[-1], rel))


def scan_hdf5(f: Any, rel: str) -> list[Finding]:
    """Findings in an open ``h5py.File``: the guard's own walk (``visititems``), for callers that do not
    walk the file themselves. Ingest feeds :class:`Hdf5Scan` from its metadata walk instead."""
    out: list[Finding] = []

    def visit(name: str, obj: Any) -> None:
        _hdf5_object(name, obj, obj.attrs.items(), rel, out)

    try:
        _hdf5_attrs(f.attrs.items(), "/", rel, out)
        f.visititems(visit)
    except (OSError, RuntimeError, KeyError):
        pass  # unreadable parts are reported by the ingest itself
    return out


class Hdf5Scan:
    """The guard fed by another walk of the same file (ingest's metadata walk), so each object is opened
    and each attribute read once. The walk calls :meth:`root` with the root's attributes and
    :meth:`visit` for every object it opens; :meth:`findings` then gives exactly what :func:`scan_hdf5`
    gives. When the walk did not meet exactly the objects ``visititems`` meets (a truncated or damaged
    tree, an error in the guard's reads), :meth:`findings` runs :func:`scan_hdf5` itself."""

    def __init__(self, rel: str) -> None:
        self.rel = rel
        self.failed = False
        self.walked_again = False  # findings() had to run scan_hdf5's own walk
        self._root: list[Finding] = []
        self._found: dict[str, list[Finding]] = {}

    def root(self, items: list[tuple[str, Any]]) -> None:
        try:
            _hdf5_attrs(items, "/", self.rel, self._root)
        except Exception:
            self.failed = True

    def visit(self, name: str, obj: Any) -> list[tuple[str, Any]] | None:
        """Look at the object met at ``name``; returns its attributes (name, value) as read, or None."""
        if self.failed:
            return None
        try:
            items = list(obj.attrs.items())
            out: list[Finding] = []
            _hdf5_object(name, obj, items, self.rel, out)
        except Exception:
            self.failed = True  # scan_hdf5 stops or raises here: findings() lets it
            return None
        if name in self._found:
            self.failed = True  # met twice: visititems meets each object once
        self._found[name] = out
        return items

    def findings(self, f: Any) -> list[Finding]:
        if not self.failed:
            names: list[str] = []
            try:
                f.visit(names.append)  # names only, in visititems' order: no object is opened
            except Exception:
                names = []
                self.failed = True
            if not self.failed and len(names) == len(self._found) and all(n in self._found for n in names):
                return self._root + [x for n in names for x in self._found[n]]
        self.walked_again = True
        return scan_hdf5(f, self.rel)


def _tiff(path: Path, rel: str) -> list[Finding]:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            return scan_tiff(tif, rel)
    except Exception:
        return []


def scan_tiff(tif: Any, rel: str) -> list[Finding]:
    """Findings in the text tags of an open ``tifffile.TiffFile``'s first page."""
    return scan_tiff_tags(((tag.name, tag.value) for tag in tif.pages.first.tags.values()), rel)


def scan_tiff_tags(tags: Iterable[tuple[str, Any]], rel: str) -> list[Finding]:
    """Findings in a TIFF page's tags, given as (name, value): text values are looked at, numbers not
    (ingest reads plain TIFF headers itself, see ``halric.ingest.formats.read_tiff_header``)."""
    out: list[Finding] = []
    for name, value in tags:
        s = _decode(value)
        if s:
            out.extend(scan_text(s, f"TIFF tag {name}", name, rel))
    return out


def _looks_like_text(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4  # a character cut at the end of the sample
    return True


def _text(path: Path, rel: str) -> list[Finding]:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(TEXT_HEAD)
    except OSError:
        return []
    text = raw.decode("utf-8", "replace")
    lines = text.splitlines()
    if len(raw) == TEXT_HEAD and lines:
        lines = lines[:-1]  # the last line may be cut
    if not lines:
        return []
    if not may_hold(text):  # nothing that could be a number in the whole head: no need to look line by line
        return []
    out: list[Finding] = []
    dialect = _csv_dialect(lines[0])
    if dialect is not None:
        rows = list(csv.reader(io.StringIO("\n".join(lines)), dialect))
        header = rows[0] if rows else []
        for i, name in enumerate(header):
            out.extend(scan_text(name, f"column {i + 1} header", "", rel))
        for r, row in enumerate(rows[1:], start=2):
            for i, cell in enumerate(row):
                column = header[i] if i < len(header) else ""
                out.extend(scan_text(cell, f"line {r}, column {column or i + 1}", column, rel))
        return out
    for n, line in enumerate(lines, start=1):
        out.extend(scan_text(line, f"line {n}", "", rel))
    return out


def _csv_dialect(first_line: str) -> type[csv.Dialect] | None:
    for sep in (",", ";", "\t", "|"):
        if first_line.count(sep) >= 1:
            try:
                return csv.Sniffer().sniff(first_line, delimiters=sep)
            except csv.Error:
                continue
    return None


# DICOM: every non-empty attribute of the Patient module (group 0010) is personal data by itself; other
# text attributes (referring physician, institution, comments …) are searched for national numbers.
PATIENT_GROUP = 0x0010


def scan_dicom(path: Path, rel: str) -> list[Finding]:
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, OSError, ValueError, TypeError, AttributeError):
        return []
    return dicom_findings(ds, rel)


def dicom_findings(ds: Any, rel: str) -> list[Finding]:
    """Patient attributes (unless the file says its identity was removed) and national numbers anywhere."""
    out: list[Finding] = []
    removed = str(getattr(ds, "PatientIdentityRemoved", "")).upper() == "YES"
    for elem in ds.iterall():
        tag = elem.tag
        if elem.VR == "SQ" or (tag.is_private and elem.VR not in ("LO", "SH", "LT", "ST", "UT", "PN")):
            continue
        label = elem.keyword or f"({tag.group:04X},{tag.element:04X})"
        place = f"DICOM ({tag.group:04X},{tag.element:04X}) {label}"
        value = elem.value
        text = str(value) if value not in (None, b"", "") else ""
        if tag.group == PATIENT_GROUP and not removed and text.strip() and label not in _HARMLESS_PATIENT:
            out.append(Finding("dicom-patient", place, rel))
            continue
        if elem.VR in ("LO", "SH", "LT", "ST", "UT", "PN", "CS", "DS", "IS", "UC") and text:
            out.extend(scan_text(text, place, label, rel))
    return out


# Patient-module attributes a de-identified file keeps (PS3.15 Table E.1-1 keeps or replaces these).
# Sex, age, size and weight describe without identifying (the profile's "retain patient characteristics").
_HARMLESS_PATIENT = {
    "PatientIdentityRemoved",
    "DeidentificationMethod",
    "TypeOfPatientID",
    "PatientSex",
    "PatientAge",
    "PatientSize",
    "PatientWeight",
    "PatientSpeciesDescription",
}
