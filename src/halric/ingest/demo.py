"""Realistic demo data: an MX rotation series (NeXus/NXmx, EIGER-like), a SAXS series and tomography
projections, at a chosen size. Deterministic for a given seed.

The pixel values are simulated, not measured: Poisson counting noise on a smooth background, Bragg
peaks with Wilson-like (exponential) intensities, detector module gaps marked as the detector does
(2^bits − 1 for the EIGER, −1 for the Pilatus). Good enough to exercise catalogs, checksums and
compression codecs with the statistics real detectors produce, not to solve a structure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from halric.core.errors import Conflict, InvalidInput

KINDS = ("mx", "saxs", "tomo")
EIGER_MODULE = (1028, 512)  # pixels (w, h) of one EIGER module
EIGER_GAP = (12, 38)  # gap columns and rows between modules
PILATUS_MODULE = (487, 195)
PILATUS_GAP = (7, 17)


@dataclass
class DemoResult:
    kind: str
    folder: Path
    files: list[Path]
    bytes: int
    frames: int
    frame_pixels: tuple[int, int]
    dtype: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "folder": str(self.folder),
            "files": [str(p) for p in self.files],
            "bytes": self.bytes,
            "frames": self.frames,
            "frame_pixels": list(self.frame_pixels),
            "dtype": self.dtype,
        }


def _gap_mask(w: int, h: int, module: tuple[int, int], gap: tuple[int, int]) -> Any:
    import numpy as np

    cols = np.zeros(w, dtype=bool)
    rows = np.zeros(h, dtype=bool)
    for x0 in range(module[0], w, module[0] + gap[0]):
        cols[x0 : x0 + gap[0]] = True
    for y0 in range(module[1], h, module[1] + gap[1]):
        rows[y0 : y0 + gap[1]] = True
    return rows[:, None] | cols[None, :]


def _radius(w: int, h: int, cx: float, cy: float) -> Any:
    import numpy as np

    y, x = np.ogrid[:h, :w]
    return np.hypot(x - cx, y - cy).astype(np.float32)


def mx_background(w: int, h: int, level: float = 1.0) -> Any:
    """Mean counts per pixel: a diffuse level, air scatter near the beam and a solvent ring near 3.5 Å.

    ``level`` 1 gives about 0.5 counts per pixel on average (a 0.1° frame of a few ms on a bright
    beamline); lower levels give the sparser frames of weaker beams or shorter exposures.
    """
    import numpy as np

    cx, cy = w * 0.52, h * 0.48
    r = _radius(w, h, cx, cy) / max(w, h)
    lam = level * (0.25 + 0.9 * np.exp(-(((r - 0.32) / 0.06) ** 2)) + 0.6 / (1 + (r / 0.05) ** 2))
    y, x = np.ogrid[:h, :w]
    stop = (np.hypot(x - cx, y - cy) < 0.012 * max(w, h)) | ((np.abs(y - cy) < 0.004 * h) & (x > cx))
    lam[stop] *= 0.02  # beam stop and its arm
    return lam.astype(np.float32)


def add_bragg_peaks(lam: Any, rng: Any, n_peaks: int, mean_intensity: float = 150.0) -> None:
    """Gaussian spots (σ ≈ 0.7–1.3 px) with exponentially distributed integrated intensities."""
    import numpy as np

    h, w = lam.shape
    cx, cy = w * 0.52, h * 0.48
    half = 4
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1]
    rmax = 0.48 * min(w, h)
    for _ in range(n_peaks):
        rr = rmax * np.sqrt(rng.uniform(0.01, 1.0))
        phi = rng.uniform(0, 2 * np.pi)
        x, y = cx + rr * np.cos(phi), cy + rr * np.sin(phi)
        ix, iy = int(x), int(y)
        if not (half <= ix < w - half and half <= iy < h - half):
            continue
        sigma = rng.uniform(0.7, 1.3)
        intensity = rng.exponential(mean_intensity) * (1.0 - 0.6 * rr / rmax)  # fall-off with resolution
        spot = np.exp(-((xx - (x - ix)) ** 2 + (yy - (y - iy)) ** 2) / (2 * sigma**2))
        spot *= intensity / spot.sum()
        lam[iy - half : iy + half + 1, ix - half : ix + half + 1] += spot


def mx_frame(bg: Any, gaps: Any, rng: Any, bits: int) -> Any:
    import numpy as np

    lam = bg.copy()
    n = int(180 * bg.size / (4150 * 4371)) + 20  # ~200 spots on a 16M frame
    add_bragg_peaks(lam, rng, n)
    dtype = np.uint16 if bits == 16 else np.uint32
    frame = rng.poisson(lam).astype(dtype)
    frame[gaps] = np.iinfo(dtype).max  # the EIGER marks gap pixels with the largest value
    return frame


def _stamp(t0: datetime, seconds: float) -> str:
    return (t0 + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def _nx(group: Any, nx_class: str) -> Any:
    group.attrs["NX_class"] = nx_class
    return group


def _field(group: Any, name: str, value: Any, units: str | None = None) -> Any:
    ds = group.create_dataset(name, data=value)
    if units:
        ds.attrs["units"] = units
    return ds


def write_mx(
    out: Path,
    size: int,
    *,
    frame_pixels: tuple[int, int],
    bits: int,
    frames_per_file: int,
    seed: int,
    name: str,
    single_file: bool = False,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """A rotation sweep: ``NAME_master.h5`` (NXmx) with external links to ``NAME_data_NNNNNN.h5`` files,
    or (``single_file``) one NeXus file ``NAME.nxs`` holding metadata and frames together."""
    import h5py
    import numpy as np

    w, h = frame_pixels
    bpp = bits // 8
    frames = max(1, size // (w * h * bpp))
    rng = np.random.default_rng(seed)
    bg = mx_background(w, h)
    gaps = _gap_mask(w, h, EIGER_MODULE, EIGER_GAP)
    t0 = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
    frame_time = 1 / 133.0
    files: list[Path] = []
    dtype = "uint16" if bits == 16 else "uint32"
    n_files = 0 if single_file else (frames + frames_per_file - 1) // frames_per_file
    done = 0
    for k in range(n_files):
        n = min(frames_per_file, frames - done)
        path = out / f"{name}_data_{k + 1:06d}.h5"
        with h5py.File(path, "w") as f:
            entry = _nx(f.create_group("entry"), "NXentry")
            data = _nx(entry.create_group("data"), "NXdata")
            ds = data.create_dataset("data", shape=(n, h, w), dtype=dtype, chunks=(1, h, w))
            ds.attrs["image_nr_low"] = done + 1
            ds.attrs["image_nr_high"] = done + n
            for i in range(n):
                ds[i] = mx_frame(bg, gaps, rng, bits)
                if progress:
                    progress(w * h * bpp)
        done += n
        files.append(path)
    master = out / (f"{name}.nxs" if single_file else f"{name}_master.h5")
    with h5py.File(master, "w") as f:
        f.attrs["file_name"] = master.name
        f.attrs["HDF5_Version"] = h5py.version.hdf5_version
        f.attrs["creator"] = "halric demo-data"
        entry = _nx(f.create_group("entry"), "NXentry")
        entry.attrs["default"] = "data"
        _field(entry, "definition", "NXmx")
        _field(entry, "title", f"{name}: rotation sweep, simulated")
        _field(entry, "start_time", _stamp(t0, 0))
        _field(entry, "end_time", _stamp(t0, frames * frame_time))
        _field(entry, "experiment_identifier", "demo-20260314")
        inst = _nx(entry.create_group("instrument"), "NXinstrument")
        _field(inst, "name", "Demo MX beamline (EIGER-like detector)")
        src = _nx(inst.create_group("source"), "NXsource")
        _field(src, "name", "Demo 3 GeV storage ring")
        _field(src, "type", "Synchrotron X-ray Source")
        _field(src, "probe", "x-ray")
        beam = _nx(inst.create_group("beam"), "NXbeam")
        _field(beam, "incident_wavelength", 0.9763, "angstrom")
        _field(beam, "total_flux", 2.0e12, "Hz")
        det = _nx(inst.create_group("detector"), "NXdetector")
        _field(det, "description", f"EIGER-like {w}x{h} hybrid photon counting detector (simulated)")
        _field(det, "sensor_material", "Si")
        _field(det, "sensor_thickness", 0.00045, "m")
        _field(det, "x_pixel_size", 7.5e-05, "m")
        _field(det, "y_pixel_size", 7.5e-05, "m")
        _field(det, "beam_center_x", w * 0.52, "pixel")
        _field(det, "beam_center_y", h * 0.48, "pixel")
        _field(det, "distance", 0.2, "m")
        _field(det, "count_time", frame_time - 1e-7, "s")
        _field(det, "frame_time", frame_time, "s")
        _field(det, "bit_depth_readout", bits)
        _field(det, "saturation_value", 2**bits - 2)
        _field(det, "nimages", frames)
        mask = gaps.astype(np.uint32)
        det.create_dataset("pixel_mask", data=mask, compression="gzip", chunks=True)
        sample = _nx(entry.create_group("sample"), "NXsample")
        _field(sample, "name", "lysozyme (demo)")
        _field(sample, "chemical_formula", "C613H959N193O185S10")
        _field(sample, "temperature", 100.0, "K")
        gonio = _nx(sample.create_group("goniometer"), "NXtransformations")
        omega = _field(gonio, "omega", np.arange(frames, dtype=np.float64) * 0.1, "deg")
        omega.attrs["transformation_type"] = "rotation"
        omega.attrs["vector"] = np.array([-1.0, 0.0, 0.0])
        data = _nx(entry.create_group("data"), "NXdata")
        data.attrs["signal"] = "data" if single_file else "data_000001"
        for k, p in enumerate(files):
            data[f"data_{k + 1:06d}"] = h5py.ExternalLink(p.name, "/entry/data/data")
        if single_file:
            ds = data.create_dataset("data", shape=(frames, h, w), dtype=dtype, chunks=(1, h, w))
            for i in range(frames):
                ds[i] = mx_frame(bg, gaps, rng, bits)
                if progress:
                    progress(w * h * bpp)
    files.insert(0, master)
    return DemoResult("mx", out, files, sum(p.stat().st_size for p in files), frames, (w, h), dtype)


def saxs_frame(w: int, h: int, rng: Any, radius_nm: float) -> Any:
    """Spheres' form factor plus Porod background, on a Pilatus-like frame (gaps = −1)."""
    import numpy as np

    cx, cy = w * 0.5, h * 0.3
    r = _radius(w, h, cx, cy)
    q = 0.002 * r + 1e-3  # 1/Å per pixel, roughly
    qr = q * radius_nm * 10
    form = (3 * (np.sin(qr) - qr * np.cos(qr)) / qr**3) ** 2
    lam = 4000 * form + 0.02 / q**2 * 1e-3 + 0.5
    lam[r < 18] = 0.01  # beam stop
    frame = rng.poisson(lam.astype(np.float64)).astype(np.int32)
    frame[_gap_mask(w, h, PILATUS_MODULE, PILATUS_GAP)] = -1
    return frame


def write_saxs(
    out: Path,
    size: int,
    *,
    frame_pixels: tuple[int, int],
    seed: int,
    name: str,
    frames_per_sample: int = 10,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """One NeXus (NXsas) file per sample with a series of frames, plus a reduced I(q) text file each."""
    import h5py
    import numpy as np

    w, h = frame_pixels
    frames = max(1, size // (w * h * 4))
    rng = np.random.default_rng(seed)
    files: list[Path] = []
    t0 = datetime(2026, 5, 2, 14, 0, tzinfo=UTC)
    done, s = 0, 0
    while done < frames:
        s += 1
        n = min(frames_per_sample, frames - done)
        radius = 3.0 + 2.5 * s % 7
        path = out / f"{name}_sample{s:03d}.h5"
        with h5py.File(path, "w") as f:
            entry = _nx(f.create_group("entry"), "NXentry")
            _field(entry, "definition", "NXsas")
            _field(entry, "title", f"{name} sample {s}: silica spheres, simulated")
            _field(entry, "start_time", _stamp(t0, done * 1.0))
            _field(entry, "end_time", _stamp(t0, (done + n) * 1.0))
            inst = _nx(entry.create_group("instrument"), "NXinstrument")
            _field(inst, "name", "Demo SAXS beamline (Pilatus-like detector)")
            src = _nx(inst.create_group("source"), "NXsource")
            _field(src, "name", "Demo 3 GeV storage ring")
            _field(src, "probe", "x-ray")
            det = _nx(inst.create_group("detector"), "NXdetector")
            _field(det, "description", "Pilatus-like hybrid pixel detector (simulated)")
            _field(det, "distance", 4.0, "m")
            _field(det, "count_time", 1.0, "s")
            ds = det.create_dataset("data", shape=(n, h, w), dtype="int32", chunks=(1, h, w))
            for i in range(n):
                ds[i] = saxs_frame(w, h, rng, radius)
                if progress:
                    progress(w * h * 4)
            sample = _nx(entry.create_group("sample"), "NXsample")
            _field(sample, "name", f"silica spheres {radius:.1f} nm")
            _field(sample, "thickness", 1.0, "mm")
            _field(sample, "temperature", 298.15, "K")
            data = _nx(entry.create_group("data"), "NXdata")
            data.attrs["signal"] = "data"
            data["data"] = ds  # hard link, as NeXus writers do
        files.append(path)
        q = np.linspace(0.005, 0.5, 400)
        qr = q * radius * 10
        iq = (3 * (np.sin(qr) - qr * np.cos(qr)) / qr**3) ** 2
        dat = out / f"{name}_sample{s:03d}_iq.dat"
        dat.write_text("# q(1/A) I(q)\n" + "".join(f"{a:.5f} {b:.6e}\n" for a, b in zip(q, iq, strict=True)))
        files.append(dat)
        done += n
    return DemoResult("saxs", out, files, sum(p.stat().st_size for p in files), frames, (w, h), "int32")


def tomo_projection(w: int, h: int, angle: float, spheres: Any, rng: Any, flat: Any) -> Any:
    """Line integrals through a phantom of spheres in a cylinder; Beer–Lambert, then Poisson noise."""
    import numpy as np

    u = np.arange(w, dtype=np.float32) - w / 2
    v = np.arange(h, dtype=np.float32)[:, None] - h / 2
    rc = 0.4 * w
    path = 2 * np.sqrt(np.clip(rc**2 - u**2, 0, None)) * 0.004  # the container (cylinder)
    att = np.broadcast_to(path, (h, w)).copy()
    c, s = np.cos(angle), np.sin(angle)
    for x, y, z, r, mu in spheres:
        pu = x * c + y * s
        d2 = (u[None, :] - pu) ** 2 + (v - z) ** 2
        att += 2 * np.sqrt(np.clip(r * r - d2, 0, None)) * mu
    lam = flat * np.exp(-att)
    return np.clip(rng.poisson(lam) + 100, 0, 65535).astype(np.uint16)  # + dark offset


def write_tomo(
    out: Path,
    size: int,
    *,
    frame_pixels: tuple[int, int],
    seed: int,
    name: str,
    fmt: str = "hdf5",
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Projections over 180°, with 10 darks and 10 flats: one NXtomo file, or one TIFF per image."""
    import numpy as np

    w, h = frame_pixels
    total = max(3, size // (w * h * 2))
    n_proj = max(1, total - 20)
    rng = np.random.default_rng(seed)
    spheres = [
        (
            rng.uniform(-0.3, 0.3) * w,
            rng.uniform(-0.3, 0.3) * w,
            rng.uniform(-0.4, 0.4) * h,
            rng.uniform(0.02, 0.08) * w,
            rng.uniform(0.002, 0.02),
        )
        for _ in range(12)
    ]
    yy = np.linspace(-1, 1, h)[:, None]
    flat = (8000 * (1 - 0.3 * yy**2) * np.ones((1, w))).astype(np.float32)
    angles = np.linspace(0, np.pi, n_proj, endpoint=False)
    images: list[tuple[int, Any]] = []  # (image_key, generator)
    darks = [(2, lambda: np.clip(rng.normal(100, 3, (h, w)), 0, None).astype(np.uint16)) for _ in range(10)]
    flats = [(1, lambda: np.clip(rng.poisson(flat) + 100, 0, 65535).astype(np.uint16)) for _ in range(10)]
    projs = [(0, (lambda a=a: tomo_projection(w, h, a, spheres, rng, flat))) for a in angles]
    images = darks + flats + projs
    files: list[Path] = []
    if fmt == "tiff":
        import tifffile

        for i, (key, gen) in enumerate(images):
            label = {0: "proj", 1: "flat", 2: "dark"}[key]
            path = out / f"{name}_{label}_{i:05d}.tif"
            tifffile.imwrite(path, gen(), description=f"{label} image {i} of {name} (simulated)")
            files.append(path)
            if progress:
                progress(w * h * 2)
        log = out / f"{name}_scan.log"
        log.write_text(
            "\n".join(
                f"{i} {k} {np.degrees(angles[i - 20]) if k == 0 else ''}" for i, (k, _) in enumerate(images)
            )
        )
        files.append(log)
    else:
        import h5py

        path = out / f"{name}.nxs"
        t0 = datetime(2026, 6, 20, 8, 0, tzinfo=UTC)
        with h5py.File(path, "w") as f:
            entry = _nx(f.create_group("entry"), "NXentry")
            _field(entry, "definition", "NXtomo")
            _field(entry, "title", f"{name}: absorption tomography, simulated")
            _field(entry, "start_time", _stamp(t0, 0))
            _field(entry, "end_time", _stamp(t0, len(images) * 0.05))
            inst = _nx(entry.create_group("instrument"), "NXinstrument")
            _field(inst, "name", "Demo imaging beamline (sCMOS camera)")
            src = _nx(inst.create_group("source"), "NXsource")
            _field(src, "name", "Demo 3 GeV storage ring")
            _field(src, "probe", "x-ray")
            det = _nx(inst.create_group("detector"), "NXdetector")
            _field(det, "description", "sCMOS camera behind a scintillator (simulated)")
            _field(det, "x_pixel_size", 6.5e-07, "m")
            _field(det, "count_time", 0.05, "s")
            ds = det.create_dataset("data", shape=(len(images), h, w), dtype="uint16", chunks=(1, h, w))
            for i, (_key, gen) in enumerate(images):
                ds[i] = gen()
                if progress:
                    progress(w * h * 2)
            _field(det, "image_key", np.array([k for k, _ in images], dtype=np.int8))
            sample = _nx(entry.create_group("sample"), "NXsample")
            _field(sample, "name", "spheres in a capillary (demo)")
            rot = np.concatenate([np.zeros(20), np.degrees(angles)])
            _field(sample, "rotation_angle", rot, "deg")
            data = _nx(entry.create_group("data"), "NXdata")
            data.attrs["signal"] = "data"
            data["data"] = ds
            data["rotation_angle"] = sample["rotation_angle"]
            data["image_key"] = det["image_key"]
        files.append(path)
    return DemoResult("tomo", out, files, sum(p.stat().st_size for p in files), len(images), (w, h), "uint16")


DEFAULT_FRAMES = {"mx": (4150, 4371), "saxs": (981, 1043), "tomo": (2048, 2048)}


def write_demo(
    out: Path,
    kind: str,
    size: int,
    *,
    frame_pixels: tuple[int, int] | None = None,
    bits: int = 32,
    frames_per_file: int = 100,
    seed: int = 1,
    name: str | None = None,
    fmt: str = "hdf5",
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Write demo data of one kind into ``out`` (created when missing)."""
    if kind not in KINDS:
        raise InvalidInput(f"kind: use one of {', '.join(KINDS)}", field="kind")
    if bits not in (16, 32):
        raise InvalidInput("bit_depth: use 16 or 32", field="bit_depth")
    if frames_per_file < 1:
        raise InvalidInput("frames_per_file: must be at least 1", field="frames_per_file")
    if fmt not in ("hdf5", "tiff"):
        raise InvalidInput("format: use hdf5 or tiff", field="format")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"outdir: {out} exists and is not a folder", field="outdir")
    name = name or {"mx": "lyso_sweep1", "saxs": "saxs_series", "tomo": "tomo_scan"}[kind]
    out.mkdir(parents=True, exist_ok=True)
    existing = [p for p in out.iterdir() if p.name.startswith(name)]
    if existing and not overwrite:
        raise Conflict(
            f"outdir: {out} already holds {name}* files; choose another folder or pass --overwrite",
            field="outdir",
        )
    for p in existing:
        p.unlink()
    fp = frame_pixels or DEFAULT_FRAMES[kind]
    if kind == "mx":
        return write_mx(
            out, size, frame_pixels=fp, bits=bits, frames_per_file=frames_per_file, seed=seed, name=name,
            progress=progress,
        )  # fmt: skip
    if kind == "saxs":
        return write_saxs(out, size, frame_pixels=fp, seed=seed, name=name, progress=progress)
    return write_tomo(out, size, frame_pixels=fp, seed=seed, name=name, fmt=fmt, progress=progress)
