"""Metadata of HDF5 and NeXus files without reading the bulk data.

Only small datasets (at most :data:`SMALL` elements) are read; for the large ones the shape, type,
chunking and compression filters come from the HDF5 headers. External links are followed when their
target file is there and recorded either way; virtual datasets are recorded with their sources. Any
problem in one object is noted and the walk goes on: a broken link never stops an ingest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

SMALL = 64  # elements: datasets up to this size are read as values
MAX_OBJECTS = 20000  # stop walking very large trees (the rest is noted as truncated)
LARGE_BYTES = 1 << 20  # datasets from this size are listed as "large" (detector data and such)

FILTER_NAMES = {
    1: "gzip",
    2: "shuffle",
    3: "fletcher32",
    4: "szip",
    5: "nbit",
    6: "scaleoffset",
    32000: "lzf",
    32001: "blosc",
    32004: "lz4",
    32008: "bitshuffle",
    32013: "zfp",
    32015: "zstd",
    32017: "sz",
    32026: "blosc2",
}
BITSHUFFLE_COMPRESSORS = {0: "none", 2: "lz4", 3: "zstd"}
# Application definitions → PaNET technique (ids checked against the shipped PaNET.csv).
DEFINITION_TECHNIQUES = {
    "NXmx": ("http://purl.org/pan-science/PaNET/PaNET01164", "macromolecular crystallography"),
    "NXsas": ("http://purl.org/pan-science/PaNET/PaNET01124", "small angle scattering"),
    "NXcanSAS": ("http://purl.org/pan-science/PaNET/PaNET01124", "small angle scattering"),
    "NXtomo": ("http://purl.org/pan-science/PaNET/PaNET01129", "tomography"),
}
SUMMARY_CLASSES = ("NXinstrument", "NXsource", "NXsample", "NXbeam", "NXmonochromator", "NXdetector")


def _text(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v


def _py(value: Any) -> Any:
    """numpy values → JSON-friendly Python values."""
    import numpy as np

    if isinstance(value, np.ndarray):
        if value.dtype.kind in "SO":
            return [_text(x) for x in value.ravel().tolist()]
        return value.tolist() if value.size > 1 else _py(value.reshape(()).item()) if value.size == 1 else []
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return _text(value)


def _attr(obj: Any, name: str) -> Any:
    try:
        v = obj.attrs.get(name)
    except Exception:
        return None
    return _py(v) if v is not None else None


def filters_of(ds: Any) -> list[dict[str, Any]]:
    """The filter pipeline of a dataset (works for plugin filters too, without loading them)."""
    out = []
    try:
        plist = ds.id.get_create_plist()
        for i in range(plist.get_nfilters()):
            fid, _flags, values, _name = plist.get_filter(i)
            item: dict[str, Any] = {"id": int(fid), "name": FILTER_NAMES.get(int(fid), f"filter {fid}")}
            if fid == 32008 and len(values) >= 5:
                item["compressor"] = BITSHUFFLE_COMPRESSORS.get(int(values[4]), str(values[4]))
            elif fid == 1 and values:
                item["level"] = int(values[0])
            out.append(item)
    except Exception:  # a dataset without a creation property list we can read
        pass
    return out


def describe_dataset(ds: Any, attrs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Shape, dtype, chunks, filters; never the data. ``attrs``: the dataset's attributes if already read."""
    d: dict[str, Any] = {
        "shape": list(ds.shape) if ds.shape is not None else None,
        "dtype": str(ds.dtype),
        "chunks": list(ds.chunks) if ds.chunks else None,
        "filters": filters_of(ds),
        "nbytes": int(ds.dtype.itemsize * (ds.size or 0)) if ds.shape is not None else 0,
    }
    try:
        if ds.is_virtual:
            d["virtual_sources"] = [
                {"file": s.file_name, "dataset": s.dset_name} for s in ds.virtual_sources()[:100]
            ]
    except Exception as exc:
        d["virtual_sources_error"] = str(exc)[:200]
    units = _attr(ds, "units") if attrs is None else _known(attrs, "units")
    if units:
        d["units"] = units
    return d


def _known(attrs: dict[str, Any], name: str) -> Any:
    """What ``_attr`` gives, from attributes already read."""
    v = attrs.get(name)
    return _py(v) if v is not None else None


_SKIP = object()  # a member small_fields leaves out: external link, or a link or object not readable
_SOFT = object()  # a soft link: small_fields follows it, the walk does not
SMALL_FIELD_CLASSES = ("NXentry", *SUMMARY_CLASSES)  # groups whose small fields _metadata reads


class Hdf5Visitor(Protocol):
    """Another reader of the file fed by the metadata walk (the patient-data guard): it gets the root's
    attributes and every object the walk opens (path relative to the root, without the leading /), and
    returns the object's attributes (name, value) as it read them, or None."""

    def root(self, items: list[tuple[str, Any]]) -> None: ...

    def visit(self, name: str, obj: Any) -> list[tuple[str, Any]] | None: ...


class _Walker:
    def __init__(self, f: Any, visitor: Hdf5Visitor | None = None) -> None:
        self.f = f
        self.visitor = visitor
        self.attrs: dict[int, dict[str, Any]] = {}  # hash(obj.id) → attributes the visitor read
        self.seen: set[Any] = set()
        self.count = 0
        self.truncated = False
        self.groups: list[tuple[str, str, Any]] = []  # (path, NX_class, group)
        self.large: list[dict[str, Any]] = []
        self.stacks: list[dict[str, Any]] = []  # image stacks (3 or more dimensions), any size
        self.external: list[dict[str, Any]] = []
        self.virtual: list[dict[str, Any]] = []
        self.soft = 0
        self.problems: list[str] = []
        # the members of NXentry and summary groups as the walk met them (name, object or _SKIP/_SOFT),
        # so small_fields need not look each one up and open it again
        self.members: dict[str, list[tuple[str, Any]]] = {}

    def walk(self, group: Any, path: str, keep: bool = False) -> None:
        import h5py

        try:
            names = list(group.keys())
        except Exception as exc:
            self.problems.append(f"{path or '/'}: cannot list members ({exc})")
            return
        met: list[tuple[str, Any]] = []
        for name in names:
            if self.count >= MAX_OBJECTS:
                self.truncated = True
                return  # members not kept: small_fields looks for itself
            self.count += 1
            child = f"{path}/{name}"
            try:
                link = group.get(name, getlink=True)
            except Exception as exc:
                self.problems.append(f"{child}: unreadable link ({exc})")
                met.append((name, _SKIP))
                continue
            if isinstance(link, h5py.ExternalLink):
                self._external(group, name, child, link)
                met.append((name, _SKIP))
                continue
            if isinstance(link, h5py.SoftLink):
                self.soft += 1
                met.append((name, _SOFT))
                continue  # the target is visited at its own place
            try:
                obj = group[name]
            except Exception as exc:
                self.problems.append(f"{child}: cannot open ({exc})")
                met.append((name, _SKIP))
                continue
            met.append((name, obj))
            key = hash(obj.id)  # equal for two hard links to the same object
            if key in self.seen:
                continue  # a second hard link to something already seen
            self.seen.add(key)
            attrs = None
            if self.visitor is not None:
                items = self.visitor.visit(child[1:], obj)
                if items is not None:
                    attrs = self.attrs[key] = dict(items)
            if isinstance(obj, h5py.Group):
                nx = _attr(obj, "NX_class") if attrs is None else _known(attrs, "NX_class")
                if nx:
                    self.groups.append((child, str(nx), obj))
                self.walk(obj, child, keep=str(nx) in SMALL_FIELD_CLASSES if nx else False)
            elif isinstance(obj, h5py.Dataset):
                self._dataset(obj, child, attrs)
        if keep:
            self.members[path] = met

    def _dataset(self, ds: Any, path: str, attrs: dict[str, Any] | None = None) -> None:
        try:
            desc = describe_dataset(ds, attrs)
        except Exception as exc:
            self.problems.append(f"{path}: cannot describe ({exc})")
            return
        if "virtual_sources" in desc:
            self.virtual.append({"path": path, **desc})
        if desc["shape"] and len(desc["shape"]) >= 3:
            self.stacks.append({"path": path, "shape": desc["shape"], "external": False})
        if desc["nbytes"] >= LARGE_BYTES or "virtual_sources" in desc:
            self.large.append({"path": path, **desc})

    def _external(self, group: Any, name: str, path: str, link: Any) -> None:
        import h5py

        rec: dict[str, Any] = {"path": path, "file": link.filename, "target": link.path}
        try:
            target = group[name]  # resolves through HDF5's own external-link search
            rec["resolved"] = True
            if isinstance(target, h5py.Dataset):
                rec.update(describe_dataset(target))
                if rec["shape"] and len(rec["shape"]) >= 3:
                    self.stacks.append({"path": path, "shape": rec["shape"], "external": True})
                if rec["nbytes"] >= LARGE_BYTES:
                    self.large.append({"path": path, "external": True, **describe_dataset(target)})
            else:
                rec["kind"] = "group"
        except Exception as exc:
            rec["resolved"] = False
            rec["error"] = " ".join(str(exc).split())[:200]
        self.external.append(rec)


def small_fields(
    group: Any, members: list[tuple[str, Any]] | None = None, attrs: dict[int, dict[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """Scalar or short fields of one group, with their units: {name: {value, unit}}. ``members``: the
    group's members as a walk of the file met them (see ``_Walker``), or None to look them up;
    ``attrs``: attributes the walk already read, by ``hash(obj.id)``."""
    import h5py

    out: dict[str, dict[str, Any]] = {}
    met = members[:200] if members is not None else [(name, None) for name in list(group.keys())[:200]]
    for name, got in met:
        try:
            if got is _SKIP:
                continue
            if got is None:
                link = group.get(name, getlink=True)
                if isinstance(link, h5py.ExternalLink):
                    continue
            obj = group[name] if got is None or got is _SOFT else got
            if not isinstance(obj, h5py.Dataset) or obj.shape is None or obj.size > SMALL:
                continue
            if obj.dtype.kind not in "iufbSOU":
                continue
            value = _py(obj[()])
            item: dict[str, Any] = {"value": value}
            known = attrs.get(hash(obj.id)) if attrs else None
            units = _attr(obj, "units") if known is None else _known(known, "units")
            if units:
                item["unit"] = str(units)
            out[name] = item
        except Exception:
            continue
    return out


def hdf5_metadata(path: str | Path | Any, visitor: Hdf5Visitor | None = None) -> dict[str, Any]:
    """Everything the catalog needs from one HDF5/NeXus file (a path, or an open ``h5py.File`` another
    reader shares). ``visitor``: another reader fed by the same walk (see :class:`Hdf5Visitor`). Raises
    OSError when it is not readable HDF5."""
    import h5py

    if isinstance(path, h5py.File):
        return _metadata(path, visitor)
    with h5py.File(path, "r") as f:
        return _metadata(f, visitor)


def _metadata(f: Any, visitor: Hdf5Visitor | None = None) -> dict[str, Any]:
    w = _Walker(f, visitor)
    items = list(f.attrs.items())
    root_attrs = {k: _py(v) for k, v in items[:40]}
    if visitor is not None:
        visitor.root(items)
    w.walk(f, "")
    entries = []
    for gpath, nx, g in w.groups:
        if nx != "NXentry":
            continue
        fields = small_fields(g, w.members.get(gpath), w.attrs)
        definition = fields.get("definition", {}).get("value") or _attr(g, "definition")
        entries.append(
            {
                "path": gpath,
                "title": fields.get("title", {}).get("value"),
                "start_time": fields.get("start_time", {}).get("value"),
                "end_time": fields.get("end_time", {}).get("value"),
                "definition": definition,
                "fields": fields,
            }
        )
    classes = []
    for gpath, nx, g in w.groups:
        if nx in SUMMARY_CLASSES:
            item = {"path": gpath, "class": nx, "fields": small_fields(g, w.members.get(gpath), w.attrs)}
            if nx == "NXdetector":
                item["data"] = _detector_data(g)
            classes.append(item)
    meta: dict[str, Any] = {
        "format": "nexus" if entries else "hdf5",
        "file_attributes": root_attrs,
        "entries": entries,
        "groups": classes,
        "large_datasets": w.large[:200],
        "external_links": w.external[:500],
        "virtual_datasets": w.virtual[:100],
        "stacks": w.stacks[:1000],
        "soft_links": w.soft,
        "objects": w.count,
    }
    if w.truncated:
        meta["truncated"] = f"stopped after {MAX_OBJECTS} objects"
    if w.problems:
        meta["problems"] = w.problems[:50]
    return meta


def _detector_data(g: Any) -> dict[str, Any] | None:
    """The detector's ``data`` field (through an external link if needed): frames, frame shape, dtype…"""
    import h5py

    if "data" not in g:
        return None
    try:
        ds = g["data"]
    except Exception as exc:
        return {"error": " ".join(str(exc).split())[:200]}
    if not isinstance(ds, h5py.Dataset):
        return None
    d = describe_dataset(ds)
    if d["shape"] and len(d["shape"]) >= 3:
        d["frames"] = d["shape"][0]
        d["frame_shape"] = d["shape"][1:]
    return d


def scientific_metadata(meta: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Flatten one file's NeXus metadata to SciCat ``scientificMetadata``: {name: {value, unit}}."""
    out: dict[str, dict[str, Any]] = {}
    for e in meta.get("entries", [])[:1]:
        for k in ("title", "start_time", "end_time", "definition"):
            if e.get(k) is not None:
                out[f"entry_{k}"] = {"value": e[k]}
        for k in ("experiment_identifier", "program_name", "entry_identifier"):
            if k in e.get("fields", {}):
                out[f"entry_{k}"] = e["fields"][k]
    seen_classes: dict[str, int] = {}
    for g in meta.get("groups", []):
        short = g["class"][2:].lower()
        n = seen_classes.get(short, 0)
        seen_classes[short] = n + 1
        prefix = short if n == 0 else f"{short}_{g['path'].rsplit('/', 1)[-1]}"
        for name, item in g["fields"].items():
            if isinstance(item.get("value"), list) and len(item["value"]) > 16:
                continue
            out[f"{prefix}_{name}"] = item
        data = g.get("data")
        if data and "shape" in data:
            out[f"{prefix}_data_shape"] = {"value": data["shape"]}
            out[f"{prefix}_data_dtype"] = {"value": data["dtype"]}
            if "frames" in data:
                out[f"{prefix}_frames"] = {"value": data["frames"]}
            if data.get("chunks"):
                out[f"{prefix}_data_chunks"] = {"value": data["chunks"]}
            out[f"{prefix}_data_compression"] = {
                "value": "+".join(
                    f["name"] + (f"/{f['compressor']}" if "compressor" in f else "") for f in data["filters"]
                )
                or "none"
            }
    frames = sum(d["shape"][0] for d in meta.get("stacks", []))
    if frames:
        out["frames_total"] = {"value": frames}
    return out
