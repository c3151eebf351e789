"""Replace personal identifiers with keyed pseudonyms, on the hospital's side, before data reaches the hub.

A pseudonym is ``PSN`` + 16 base32 characters of HMAC-SHA256(key, kind ":" identifier-digits): the same
person gets the same pseudonym in every file and every run with the same key, and only someone holding the
key can tell whose it is (by computing the pseudonyms of their own patient list). The key is read from a
file the hospital keeps; the hub never receives or stores it.

DICOM files are de-identified with dicognito along the DICOM PS3.15 Basic Application Level
Confidentiality Profile (names, IDs, dates shifted consistently, addresses, UIDs remapped, private
elements removed), seeded from the key so that a re-run gives the same output; the patient ID and name
become the keyed pseudonym, and the file records the method (PatientIdentityRemoved, DeidentificationMethod,
code 113100).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from halric.core.errors import InvalidInput
from halric.privacy.identifiers import find
from halric.privacy.scan import (
    DICOM_NAMES,
    TEXT_SUFFIXES,
    Finding,
    _looks_like_text,
    _sniff,
    is_dicom,
    scan_file,
)

MIN_KEY_BYTES = 32
PSEUDONYM = re.compile(r"PSN[A-Z2-7]{16}")


def new_key_file(path: Path) -> None:
    """Write a new random key (owner-only) — refuses to overwrite one."""
    if path.exists():
        raise InvalidInput(
            f"key-file: {path} exists already; a new key would give new pseudonyms", field="key_file"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")


def read_key(path: Path) -> bytes:
    try:
        raw = path.read_bytes().strip()
    except FileNotFoundError:
        raise InvalidInput(
            f"key-file: {path} does not exist; create one with --new-key and keep it at the hospital",
            field="key_file",
        ) from None
    except OSError as exc:
        raise InvalidInput(f"key-file: {path} cannot be read ({exc.strerror})", field="key_file") from None
    if len(raw) < MIN_KEY_BYTES:
        raise InvalidInput(
            f"key-file: the key must be at least {MIN_KEY_BYTES} bytes (it has {len(raw)})", field="key_file"
        )
    return raw


def _normal(value: str) -> str:
    return "".join(ch for ch in value.upper() if ch.isalnum())


def pseudonym(key: bytes, kind: str, value: str) -> str:
    """The keyed pseudonym of one identifier (separators and letter case do not matter)."""
    digest = hmac.new(key, f"{kind}:{_normal(value)}".encode(), hashlib.sha256).digest()
    return "PSN" + base64.b32encode(digest).decode()[:16]


def replace_in_text(key: bytes, text: str, context: str, counts: Counter[str]) -> str:
    matches = find(text, context)
    if not matches:
        return text
    parts: list[str] = []
    pos = 0
    for m in matches:
        parts.append(text[pos : m.start])
        parts.append(pseudonym(key, m.kind, text[m.start : m.end]))
        counts[m.kind] += 1
        pos = m.end
    parts.append(text[pos:])
    return "".join(parts)


@dataclass
class Report:
    files: int = 0
    changed_files: int = 0
    replaced: Counter[str] = field(default_factory=Counter)
    remaining: list[Finding] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "changed_files": self.changed_files,
            "replaced": dict(self.replaced),
            "remaining": [f.as_dict() for f in self.remaining],
        }


def pseudonymise(src: Path, dst: Path, key: bytes, *, on_file: Callable[[str], None] | None = None) -> Report:
    """Copy ``src`` (a file or a folder) to ``dst`` with identifiers replaced; then check ``dst``."""
    if not src.exists():
        raise InvalidInput(f"in: {src} does not exist", field="in")
    if dst.exists() and any(dst.iterdir() if dst.is_dir() else [dst]):
        raise InvalidInput(f"out: {dst} exists and is not empty; give a new folder", field="out")
    try:
        dst.resolve().relative_to(src.resolve())
        inside = True
    except ValueError:
        inside = False
    if inside and src.is_dir():
        raise InvalidInput("out: must not be inside the folder being pseudonymised", field="out")
    report = Report()
    if src.is_file():
        files = [(src, Path(src.name))]
        base = dst
    else:
        files = sorted((p, p.relative_to(src)) for p in src.rglob("*") if p.is_file() and not p.is_symlink())
        base = dst
    written: list[tuple[Path, str]] = []
    for path, rel in files:
        new_rel = Path(*[replace_in_text(key, part, "", report.replaced) for part in rel.parts])
        out = (
            base / new_rel
            if src.is_dir()
            else (dst / new_rel.name if dst.is_dir() or not dst.suffix else dst)
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        before = sum(report.replaced.values())
        _one(path, out, key, report)
        report.files += 1
        if sum(report.replaced.values()) > before or new_rel != rel:
            report.changed_files += 1
        written.append((out, new_rel.as_posix()))
        if on_file:
            on_file(rel.as_posix())
    for out, rel in written:
        report.remaining.extend(scan_file(out, rel))
    return report


def _one(path: Path, out: Path, key: bytes, report: Report) -> None:
    kind = _sniff(path)
    if kind == "hdf5":
        shutil.copy2(path, out)
        _hdf5(out, key, report.replaced)
    elif path.suffix.lower() in DICOM_NAMES or is_dicom(path):
        _dicom(path, out, key, report.replaced)
    elif kind == "tiff":
        shutil.copy2(path, out)
        _tiff(out, key, report.replaced)
    elif path.suffix.lower() in TEXT_SUFFIXES or _looks_like_text(path):
        _text(path, out, key, report.replaced)
    else:
        shutil.copy2(path, out)


def _text(path: Path, out: Path, key: bytes, counts: Counter[str]) -> None:
    with (
        open(path, encoding="utf-8", errors="surrogateescape", newline="") as fin,
        open(out, "w", encoding="utf-8", errors="surrogateescape", newline="") as fout,
    ):
        header = ""
        for n, line in enumerate(fin):
            if n == 0:
                header = line
            # a column's header is the context for its values; a whole line is the best we have here
            fout.write(replace_in_text(key, line, header if n else "", counts))


def _hdf5(path: Path, key: bytes, counts: Counter[str]) -> None:
    import h5py
    import numpy as np

    def fix_attrs(obj: Any) -> None:
        for name in list(obj.attrs):
            value = obj.attrs[name]
            if isinstance(value, bytes | str):
                text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                new = replace_in_text(key, text, name, counts)
                if new != text:
                    obj.attrs[name] = new
            elif isinstance(value, np.ndarray) and value.dtype.kind in ("S", "U", "O"):
                items = [
                    v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in value.ravel()
                ]
                new_items = [replace_in_text(key, t, name, counts) for t in items]
                if new_items != items:
                    obj.attrs[name] = np.array(new_items, dtype=h5py.string_dtype()).reshape(value.shape)

    datasets: list[str] = []
    with h5py.File(path, "r+") as f:
        fix_attrs(f)

        def visit(name: str, obj: Any) -> None:
            fix_attrs(obj)
            if isinstance(obj, h5py.Dataset) and obj.dtype.kind in ("S", "U", "O") and 0 < obj.size <= 10_000:
                datasets.append(name)

        f.visititems(visit)
        for name in datasets:
            ds = f[name]
            label = name.rsplit("/", 1)[-1]
            value = ds[()]
            arr = np.asarray(value, dtype=object)
            items = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in arr.ravel()]
            new_items = [replace_in_text(key, t, label, counts) for t in items]
            if new_items == items:
                continue
            attrs = dict(ds.attrs)
            shape = ds.shape
            del f[name]
            data = np.array(new_items, dtype=object).reshape(shape) if shape else new_items[0]
            nds = f.create_dataset(name, data=data, dtype=h5py.string_dtype())
            for k, v in attrs.items():
                nds.attrs[k] = v


def _tiff(path: Path, key: bytes, counts: Counter[str]) -> None:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        description = tif.pages[0].description if tif.pages else ""
    if description:
        new = replace_in_text(key, description, "ImageDescription", counts)
        if new != description:
            tifffile.tiffcomment(path, new.encode("ascii", "replace"))


def _dicom(path: Path, out: Path, key: bytes, counts: Counter[str]) -> None:
    import pydicom
    from dicognito.anonymizer import Anonymizer
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    ds = pydicom.dcmread(path)
    original_id = str(getattr(ds, "PatientID", "") or "") or str(getattr(ds, "PatientName", "") or "")
    seed = hmac.new(key, b"dicognito", hashlib.sha256).hexdigest()
    Anonymizer(seed=seed).anonymize(ds)
    for elem in ds.iterall():
        if elem.VR in ("LO", "SH", "LT", "ST", "UT", "UC") and isinstance(elem.value, str):
            elem.value = replace_in_text(key, elem.value, elem.keyword or "", counts)
    if original_id:
        p = pseudonym(key, "dicom-patient", original_id)
        ds.PatientID = p
        ds.PatientName = p
        counts["dicom-patient"] += 1
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "PS3.15 Basic Profile (dicognito), HMAC pseudonyms"
    code = Dataset()
    code.CodeValue = "113100"
    code.CodingSchemeDesignator = "DCM"
    code.CodeMeaning = "Basic Application Confidentiality Profile"
    ds.DeidentificationMethodCodeSequence = Sequence([code])
    ds.save_as(out)
