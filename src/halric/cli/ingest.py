"""Data handling commands: ``plan``, ``ingest``, ``verify``, ``compress``, ``codecs`` and ``demo-data``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import typer

from halric.cli.common import console, database, fail, settings

codecs_app = typer.Typer(help="Lossless compression codecs: measure them on your data.", no_args_is_help=True)

CATALOG = typer.Option(
    None, "--catalog", help="URL of a SciCat-compatible catalog. Default: the hub's own catalog."
)
TOKEN = typer.Option(
    None,
    "--token",
    envvar="HALRIC_CATALOG_TOKEN",
    help="Access token of that catalog (or HALRIC_CATALOG_TOKEN).",
)
WORKERS = typer.Option(
    None, "--workers", help="Dask workers on this machine (default: one per core, at most 8; 0: no Dask)."
)
SCHEDULER = typer.Option(None, "--scheduler", help="Use an existing Dask cluster: tcp://HOST:PORT.")
JSON = typer.Option(False, "--json", help="Print JSON.")


def _roots() -> list[Path]:
    from halric.ingest.config import data_roots

    return data_roots(settings())


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


class _Progress:
    """Files, bytes and rate on standard error: a live bar on a terminal, a line every 10 s otherwise."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self.bar: Any = None
        self.files = self.total_files = self.nbytes = self.total_bytes = 0
        self.t0 = self.last = time.monotonic()

    def start(self, files: int, nbytes: int) -> None:
        self.total_files, self.total_bytes = files, nbytes
        self.t0 = self.last = time.monotonic()
        if self.tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[files]} files"),
                DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(), console=Console(stderr=True),
            )  # fmt: skip
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=nbytes, files=f"0/{files}")

    def advance(self, files: int, nbytes: int) -> None:
        self.files += files
        self.nbytes += nbytes
        if self.bar is not None:
            self.bar.update(self.task, completed=self.nbytes, files=f"{self.files}/{self.total_files}")
        elif time.monotonic() - self.last >= 10:
            self.last = time.monotonic()
            rate = self.nbytes / max(1e-9, self.last - self.t0)
            sys.stderr.write(
                f"{self.label}: {self.files}/{self.total_files} files, {self.nbytes / 1e9:.2f}/"
                f"{self.total_bytes / 1e9:.2f} GB, {rate / 1e6:.0f} MB/s\n"
            )

    def stage(self, text: str) -> None:
        if not self.tty:
            sys.stderr.write(f"{self.label}: {text}\n")

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def _writer(catalog: str | None, token: str | None) -> Any:
    from halric.ingest.writers import HubWriter, SciCatHttpWriter

    if catalog:
        if not token:
            fail("--token: a SciCat catalog needs an access token (--token or HALRIC_CATALOG_TOKEN)")
        return SciCatHttpWriter(catalog, token)
    if token:
        fail("--token: only with --catalog (the hub's own catalog needs no token)")
    import getpass

    from halric.core.actor import system_actor

    # via="system": a command run on the server by its operator acts with full rights in the catalog.
    return HubWriter(database(), system_actor(getpass.getuser(), via="system"))


def _project_target(
    ref: str, user: str | None, catalog: str | None, token: str | None, owner_group: str | None
) -> tuple[Any, str, str]:
    """(writer, proposal id, owner group) for ``--project``. Into the hub's own catalog the caller is the hub
    account ``--user`` (default: the login name), who must be in the project's team; into another catalog
    the token's user, whose catalog decides (the hub's SciCat API refuses people outside the team)."""
    if catalog:
        from halric.ingest.writers import SciCatHttpWriter

        if not token:
            fail("--token: a SciCat catalog needs an access token (--token or HALRIC_CATALOG_TOKEN)")
        writer = SciCatHttpWriter(catalog, token)
        pid = f"HALRIC-{ref.strip()}" if ref.strip().isdigit() else ref.strip()
        proposal = writer.get_proposal(pid)
        if proposal is None:
            fail(f"--project: no proposal {pid!r} in {catalog} that you may use")
        return writer, pid, str(proposal.get("ownerGroup") or "")
    if token:
        fail("--token: only with --catalog (the hub's own catalog needs no token)")
    import getpass

    from halric.accounts import service as accounts
    from halric.core.errors import NotFound
    from halric.ingest.writers import HubWriter
    from halric.projects import service as projects

    name = user or getpass.getuser()
    db = database()
    with db.session() as s:
        try:
            account = accounts.find_user(s, name)
        except NotFound:
            fail(f"--user: the hub has no account {name!r}; give --user with your hub account name")
        actor = accounts.actor_for(account, via="cli")
        space = projects.for_ingest(s, actor, ref)
        pid, group = space.proposal_id, space.group_name
    return HubWriter(db, actor), pid, group


def _client(workers: int | None, scheduler: str | None) -> Any:
    from halric.ingest.runner import dask_client, default_workers

    if workers is not None and scheduler:
        fail("--workers and --scheduler: give one of them")
    return dask_client(default_workers() if workers is None else workers, scheduler)


# --- plan ---------------------------------------------------------------------------------------------


def plan(
    instrument: str | None = typer.Option(None, "--instrument", help="Instrument id from the registry."),
    frames: int | None = typer.Option(None, "--frames", help="Frames per sample (per repeat)."),
    minutes: float | None = typer.Option(None, "--minutes", help="Minutes per sample, instead of --frames."),
    samples: int = typer.Option(1, "--samples", help="Number of samples."),
    repeats: int = typer.Option(1, "--repeats", help="Measurements of each sample."),
    overhead: float = typer.Option(
        0.0, "--overhead", help="Seconds between two measurements (sample change)."
    ),
    frame_pixels: str | None = typer.Option(None, "--frame-pixels", help="Detector frame, WIDTHxHEIGHT."),
    bit_depth: int | None = typer.Option(None, "--bit-depth", help="Bits per pixel as stored (8, 16, 32…)."),
    frame_rate: float | None = typer.Option(None, "--frame-rate", help="Frames per second."),
    event_rate: float | None = typer.Option(None, "--event-rate", help="Neutron events per second."),
    bytes_per_event: float | None = typer.Option(
        None, "--bytes-per-event", help="Bytes stored per event (8)."
    ),
    data_kind: str | None = typer.Option(None, "--data-kind", help="mx, saxs, tomo, events or other."),
    codec: str = typer.Option("bslz4", "--codec", help="Codec for the compressed size."),
    ratio: float | None = typer.Option(None, "--ratio", help="Compression ratio to assume instead."),
    cores: int = typer.Option(16, "--cores", help="Cores for checksumming and ingest."),
    hash_: str = typer.Option("blake3", "--hash", help="blake3, xxh3-128 or sha256."),
    storage_gbps: float | None = typer.Option(None, "--storage-gbps", help="Storage read limit, GB/s."),
    site: str | None = typer.Option(None, "--site", help="Destination infrastructure id (registry)."),
    link_gbps: float = typer.Option(10.0, "--link-gbps", help="Network link, Gbit/s (10 or 100)."),
    link_efficiency: float = typer.Option(0.7, "--link-efficiency", help="Usable fraction of the link."),
    per_year: float = typer.Option(1.0, "--per-year", help="Such experiments per year."),
    hot_days: float = typer.Option(90.0, "--hot-days", help="Days on disk (hot tier)."),
    archive_years: float = typer.Option(10.0, "--archive-years", help="Years in the archive."),
    hot_cost: float = typer.Option(100.0, "--hot-cost", help="Hot tier price per TB and year."),
    archive_cost: float = typer.Option(10.0, "--archive-cost", help="Archive price per TB and year."),
    currency: str = typer.Option("EUR", "--currency", help="Currency of the prices."),
    as_json: bool = JSON,
) -> None:
    """Plan an experiment's data: volume, rate, compressed size, ingest and transfer time, storage cost."""
    from halric.ingest.codecs import check_codec
    from halric.ingest.hashing import check_algorithm
    from halric.ingest.plan import PlanRequest
    from halric.ingest.plan import plan as make_plan
    from halric.ingest.units import parse_frame

    req = PlanRequest(
        instrument_id=instrument, frame_pixels=parse_frame(frame_pixels) if frame_pixels else None,
        bit_depth=bit_depth, frame_rate_hz=frame_rate, event_rate_hz=event_rate, bytes_per_event=bytes_per_event,
        samples=samples, frames=frames, minutes=minutes, repeats=repeats, overhead_s=overhead,
        data_kind=data_kind, codec=check_codec(codec, allow_auto=False), ratio=ratio, cores=cores,
        hash=check_algorithm(hash_), storage_gbps=storage_gbps, site=site, link_gbps=link_gbps,
        link_efficiency=link_efficiency, experiments_per_year=per_year, hot_days=hot_days,
        archive_years=archive_years, hot_cost_per_tb_year=hot_cost, archive_cost_per_tb_year=archive_cost,
        currency=currency,
    )  # fmt: skip
    if instrument or site:
        db = database()
        try:
            with db.session() as s:
                out = make_plan(s, req)
        finally:
            db.dispose()
    else:
        out = make_plan(None, req)
    if as_json:
        print(json.dumps(_jsonable(out), indent=1))
        return
    _print_plan(out)


def _print_plan(p: dict[str, Any]) -> None:
    from rich.table import Table

    from halric.ingest.units import human_bytes, human_duration, human_rate

    inp = p["inputs"]
    if p["instrument"]:
        console.print(f"[bold]{p['instrument']['name']}[/] ({p['instrument']['id']})")
    t = Table(show_header=True, header_style="bold")
    t.add_column("Figure")
    t.add_column("Value", justify="right")
    if inp["mode"] == "frames":
        w, h = inp["frame_pixels"]
        src = inp["sources"]
        t.add_row("Detector frame", f"{w} × {h} px, {inp['bytes_per_pixel']} B/px ({src['frame_pixels']})")
        t.add_row("Frame rate", f"{inp['frame_rate_hz']:g} Hz ({src['frame_rate_hz']})")
        t.add_row("Frames", f"{p['frames_total']:,}")
    else:
        t.add_row("Event rate", f"{inp['event_rate_hz']:g} /s × {inp['bytes_per_event']:g} B")
    t.add_row("Measurements", f"{inp['samples']} sample(s) × {inp['repeats']}")
    t.add_row("Raw volume", human_bytes(p["raw_bytes"]))
    t.add_row("Acquisition rate", human_rate(p["acquisition_rate_bytes_per_s"]))
    t.add_row("Duration", human_duration(p["duration_s"]))
    c = p["compression"]
    t.add_row(f"Compressed ({c['codec']}, {c['ratio']:.3g}×)", human_bytes(c["compressed_bytes"]))
    t.add_row(
        f"Checksum + ingest on {inp['cores']} cores", human_duration(p["ingest"]["checksum_and_ingest_s"])
    )
    tr = p["transfer"]
    dest = f" to {tr['site']}" if tr["site"] else ""
    t.add_row(f"Transfer{dest} ({tr['link_gbps']:g} Gbit/s)", human_duration(tr["seconds"]))
    st = p["storage"]
    t.add_row(
        f"Hot tier ({st['hot']['days']:g} days)",
        f"{st['hot']['tb_held']:.3g} TB, {st['hot']['cost_per_year']:,.0f} {st['currency']}/year",
    )
    t.add_row(
        "Archive, added per year",
        f"{st['archive']['tb_added_per_year']:.3g} TB, {st['archive']['cost_first_year']:,.0f} {st['currency']}",
    )
    console.print(t)
    bars = "▁▂▃▄▅▆▇█"
    pts = p["timeline"]
    top = max(x["raw_bytes"] for x in pts) or 1
    step = max(1, len(pts) // 60)
    spark = "".join(bars[min(7, int(x["raw_bytes"] / top * 7.999))] for x in pts[::step])
    console.print(f"Volume over the experiment (raw, 0 → {human_bytes(top)}): {spark}")
    console.print("[bold]Assumptions[/]")
    for a in p["assumptions"]:
        console.print(f"  • {a}", highlight=False)


# --- ingest and verify ----------------------------------------------------------------------------------


def ingest(
    path: Path = typer.Argument(..., help="Folder of experiment files."),
    catalog: str | None = CATALOG,
    token: str | None = TOKEN,
    owner_group: str | None = typer.Option(
        None, "--owner-group", help="Owner group (default: the folder's group)."
    ),
    access_group: list[str] = typer.Option([], "--access-group", help="Group that may read it (repeatable)."),
    owner: str | None = typer.Option(None, "--owner", help="Owner (default: the folder's owner)."),
    contact_email: str | None = typer.Option(
        None, "--contact-email", help="Contact e-mail (SciCat needs one)."
    ),
    pi: str | None = typer.Option(None, "--pi", help="Principal investigator (default: the owner)."),
    name: str | None = typer.Option(None, "--name", help="Dataset name (default: the folder's name)."),
    description: str | None = typer.Option(None, "--description", help="Description (default: NeXus title)."),
    keyword: list[str] = typer.Option([], "--keyword", help="Keyword (repeatable)."),
    instrument: str | None = typer.Option(None, "--instrument", help="Instrument id."),
    proposal: str | None = typer.Option(None, "--proposal", help="Proposal id."),
    project: str | None = typer.Option(
        None,
        "--project",
        help="Pilot project (application id or proposal id, e.g. 12 or HALRIC-12): the datasets get its "
        "proposalId and ownerGroup. Only for its team.",
    ),
    user: str | None = typer.Option(
        None,
        "--user",
        envvar="HALRIC_USER",
        help="With --project into the hub's own catalog: your hub account (default: your login name).",
    ),
    sample: str | None = typer.Option(None, "--sample", help="Sample id."),
    split: str = typer.Option("none", "--split", help="none: one dataset; subfolders: one per sub-folder."),
    hash_: str = typer.Option(
        "blake3", "--hash", help="Checksum recorded in the catalog: blake3, xxh3-128, sha256."
    ),
    sha256: bool = typer.Option(
        False, "--sha256", help="Also compute SHA-256 (for exchange; see --manifest)."
    ),
    manifest: Path | None = typer.Option(
        None, "--manifest", help="Write BLAKE3SUMS/SHA256SUMS… into this folder."
    ),
    workers: int | None = WORKERS,
    scheduler: str | None = SCHEDULER,
    threads: int | None = typer.Option(
        None,
        "--threads",
        min=1,
        help="Hash on this many threads of this process instead of Dask (implies --workers 0; "
        "use the number of cores).",
    ),
    as_json: bool = JSON,
) -> None:
    """Register a folder of experiment files as dataset(s), with metadata and checksums. Resumable."""
    from halric.ingest import service
    from halric.ingest.config import chunk_bytes, data_roots, journal_dir
    from halric.ingest.dto import DatasetOptions

    if threads is not None:  # threads of this process instead of a Dask cluster
        if scheduler or workers:
            fail("--threads: works in this process, without Dask; leave out --workers and --scheduler")
        workers = 0
    st = settings()
    roots = data_roots(st)
    if project is not None:
        writer, project_proposal, group = _project_target(project, user, catalog, token, owner_group)
        if proposal and proposal != project_proposal:
            fail(
                f"--proposal: {proposal} differs from the project's proposal {project_proposal}; give one of them"
            )
        if owner_group and owner_group != group:
            fail(
                f"--owner-group: the project's datasets belong to its group {group}; leave --owner-group out"
            )
        proposal, owner_group = project_proposal, group
    else:
        if user:
            fail("--user: only with --project")
        writer = _writer(catalog, token)
    req = service.IngestRequest(
        path=path, algorithm=hash_, extra_algorithms=["sha256"] if sha256 else [], split=split,
        dataset=DatasetOptions(
            owner_group=owner_group, access_groups=access_group, owner=owner, contact_email=contact_email,
            principal_investigator=pi, name=name, description=description, keywords=keyword,
            instrument_id=instrument, proposal_id=proposal, sample_id=sample,
        ),
        chunk_bytes=chunk_bytes(st), pause_per_file_s=st.ingest_pause_per_file_s, threads=threads or 1,
        map_settled_s=st.ingest_map_settled_s,
    )  # fmt: skip
    req.algorithms()  # refuse an unknown --hash before starting a cluster
    from halric.privacy.guard import PersonalDataFound

    with _client(workers, scheduler) as client:
        try:
            summary = service.ingest(
                req, writer, roots=roots, journal_dir=journal_dir(st), client=client,
                progress=_Progress("ingest"),
            )  # fmt: skip
        except PersonalDataFound as exc:  # the whole report on stdout, the one-line error on stderr
            if as_json:
                print(
                    json.dumps({"error": exc.detail, "findings": exc.extra["findings"] if exc.extra else []})
                )
            else:
                for f in exc.findings:
                    console.print(f"[red]personal data[/] {f.describe()}", highlight=False)
            raise
    if manifest:
        summary["manifests"] = [str(p) for p in service.write_manifests(Path(summary["journal"]), manifest)]
    if as_json:
        print(json.dumps(_jsonable(summary), indent=1))
        return
    _print_ingest(summary)


def _print_ingest(s: dict[str, Any]) -> None:
    from halric.ingest.units import human_bytes, human_rate

    for d in s["datasets"]:
        what = "created" if d["created"] else "already catalogued"
        extra = f", {d['files_added']} file(s) added" if d["files_added"] and not d["created"] else ""
        console.print(f"Dataset {d['pid']} ({what}{extra}): {d['files']} files, {human_bytes(d['bytes'])}")
    console.print(
        f"{s['hashed_files']} file(s) hashed ({human_bytes(s['hashed_bytes'])}, {human_rate(s['rate_bytes_per_s'])}), "
        f"{s['skipped_unchanged']} unchanged since the last run; checksum {s['checksum_algorithm']}."
    )
    for c in s["changed"]:
        note = "content changed" if c["content_changed"] else "touched, content identical"
        console.print(f"[yellow]changed[/] {c['path']}: {note}", highlight=False)
    if s["problems"]:
        console.print(f"[yellow]{len(s['problems'])} problem(s):[/]")
        for p in s["problems"][:50]:
            console.print(f"  {p['path']}: {p['problem']}", highlight=False)
        if len(s["problems"]) > 50:
            console.print(f"  … and {len(s['problems']) - 50} more (see --json)")


def verify(
    dataset: str = typer.Argument(..., help="Dataset pid, or the folder that was ingested."),
    catalog: str | None = CATALOG,
    token: str | None = TOKEN,
    workers: int | None = WORKERS,
    scheduler: str | None = SCHEDULER,
    as_json: bool = JSON,
) -> None:
    """Re-check a dataset's files against the catalog's checksums. Exit code 1 when anything changed."""
    from halric.ingest import service
    from halric.ingest.config import chunk_bytes, data_roots, journal_dir

    st = settings()
    writer = _writer(catalog, token)
    with _client(workers, scheduler) as client:
        report = service.verify(
            dataset, writer, roots=data_roots(st), journal_dir=journal_dir(st), client=client,
            chunk_bytes=chunk_bytes(st), map_settled_s=st.ingest_map_settled_s,
        )  # fmt: skip
    if as_json:
        print(json.dumps(report, indent=1))
    else:
        console.print(f"Dataset {report['pid']}: {report['ok']}/{report['files']} files unchanged.")
        for c in report["changed"]:
            console.print(f"[red]changed[/] {c['path']} ({c['algorithm']})", highlight=False)
        for c in report["size_changed"]:
            console.print(
                f"[red]size changed[/] {c['path']}: {c['catalog']} → {c['disk']} bytes", highlight=False
            )
        for p in report["missing"]:
            console.print(f"[red]missing[/] {p}", highlight=False)
        for u in report["unreadable"]:
            console.print(f"[red]unreadable[/] {u['path']}: {u['problem']}", highlight=False)
        for p in report["not_in_catalog"][:20]:
            console.print(f"[dim]not in the catalog[/] {p}", highlight=False)
    if not report["verified"]:
        raise typer.Exit(1)


# --- compression ----------------------------------------------------------------------------------------


def _goal(
    goal: str, rate: str | None, cores: int, budget: float | None, nbytes: float | None
) -> dict[str, Any]:
    from halric.ingest.codecs import DEFAULT_RATE
    from halric.ingest.units import parse_rate

    return {
        "goal": goal,
        "rate": parse_rate(rate, field="rate") if rate else DEFAULT_RATE,
        "cores": cores,
        "budget_s": budget,
        "nbytes": nbytes,
    }


GOAL = typer.Option("keep-up", "--goal", help="keep-up (with --rate) or smallest (within --budget).")
RATE = typer.Option(None, "--rate", help="Data rate to keep up with, e.g. 4.8GB/s (default 100MB/s).")
CORES = typer.Option(1, "--cores", help="Cores compressing in parallel.")
BUDGET = typer.Option(None, "--budget", help="Seconds allowed for compressing the file (goal smallest).")


def compress(
    src: Path = typer.Argument(..., help="HDF5/NeXus file to compress."),
    dst: Path = typer.Argument(..., help="Output file (never the input)."),
    codec: str = typer.Option(
        "auto", "--codec", help="auto, bslz4, bszstd, blosc2, blosc2-lz4, gzip or none."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing output file."),
    goal: str = GOAL,
    rate: str | None = RATE,
    cores: int = CORES,
    budget: float | None = BUDGET,
    as_json: bool = JSON,
) -> None:
    """Rewrite an HDF5/NeXus file with a lossless codec; verified against the input before it is kept."""
    from halric.ingest.compress import compress_file
    from halric.ingest.config import check_allowed

    roots = _roots()
    src = check_allowed(src, roots, field="input")
    dst = check_allowed(dst, roots, field="output")
    nbytes = src.stat().st_size if src.is_file() else None
    report = compress_file(src, dst, codec, force=force, goal=_goal(goal, rate, cores, budget, nbytes))
    if as_json:
        print(json.dumps(report, indent=1))
        return
    from halric.ingest.units import human_bytes

    why = f" ({report['advice']['why']})" if report["advice"] else ""
    console.print(
        f"Wrote {dst} with {report['codec']}{why}: {human_bytes(report['input_bytes'])} → "
        f"{human_bytes(report['output_bytes'])} ({report['ratio']}×), verified {human_bytes(report['verified_bytes'])} "
        f"of decoded data in {report['total_s']:.1f} s."
    )


@codecs_app.command("advise")
def codecs_advise(
    file: Path = typer.Argument(..., help="HDF5/NeXus file to sample."),
    goal: str = GOAL,
    rate: str | None = RATE,
    cores: int = CORES,
    budget: float | None = BUDGET,
    samples: int = typer.Option(6, "--samples", help="Chunks sampled per dataset."),
    chart: Path | None = typer.Option(None, "--chart", help="Also write the trade-off chart as SVG."),
    as_json: bool = JSON,
) -> None:
    """Measure ratio and speed of every codec on samples of the file's large datasets, and recommend one."""
    from halric.ingest.codecs import advise, chart_svg, recommend
    from halric.ingest.config import check_allowed, require_existing

    path = check_allowed(file, _roots(), field="file")
    require_existing(path, field="file", kind="file")
    if samples < 1:
        fail("--samples: at least 1")
    report = advise(path, per_dataset=samples)
    report["recommendation"] = recommend(
        report["overall"], **_goal(goal, rate, cores, budget, path.stat().st_size)
    )
    if chart:
        chart.write_text(chart_svg(report["overall"], f"Codecs on {path.name}"))
        report["chart"] = str(chart)
    for d in report["datasets"]:
        d.pop("samples", None)
    if as_json:
        print(json.dumps(report, indent=1))
        return
    from rich.table import Table

    for d in report["datasets"]:
        console.print(
            f"[bold]{d['path']}[/] {d['shape']} {d['dtype']}, {d['sampled_chunks']} chunk(s) sampled, "
            f"entropy {d['entropy_bits']} bits/value"
        )
    t = Table(title="All sampled datasets, weighted by size (one core)")
    for col in ("Codec", "Ratio", "Compress MB/s", "Decompress MB/s", ""):
        t.add_column(col, justify="left" if col in ("Codec", "") else "right")
    best = max(r["ratio"] for r in report["overall"])
    for r in sorted(report["overall"], key=lambda r: -r["ratio"]):
        bar = "█" * max(1, round(20 * r["ratio"] / best))
        t.add_row(
            r["codec"], f"{r['ratio']:.2f}", f"{r['compress_mb_s']:.0f}", f"{r['decompress_mb_s']:.0f}", bar
        )
    console.print(t)
    rec = report["recommendation"]
    console.print(f"Recommended: [bold]{rec['codec']}[/] — {rec['why']}.")


@codecs_app.command("list")
def codecs_list() -> None:
    """The codecs `compress` and `advise` know."""
    from halric.ingest.codecs import CODECS

    for name, text in CODECS.items():
        console.print(f"{name:12} {text}")


# --- demo data ------------------------------------------------------------------------------------------


def demo_data(
    outdir: Path = typer.Argument(..., help="Folder to write into (created when missing)."),
    kind: str = typer.Option("mx", "--kind", help="mx, saxs or tomo."),
    size: str = typer.Option("200MB", "--size", help="Approximate size, e.g. 200MB, 1GB."),
    frame_pixels: str | None = typer.Option(
        None, "--frame-pixels", help="Frame WIDTHxHEIGHT (default: per kind)."
    ),
    bit_depth: int = typer.Option(32, "--bit-depth", help="MX: 16 or 32 bits per pixel."),
    frames_per_file: int = typer.Option(100, "--frames-per-file", help="MX: frames per data file."),
    fmt: str = typer.Option("hdf5", "--format", help="tomo: hdf5 (NXtomo) or tiff (one file per image)."),
    seed: int = typer.Option(1, "--seed", help="Random seed (the same seed writes the same data)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace demo files already in OUTDIR."),
    as_json: bool = JSON,
) -> None:
    """Write realistic test data: MX (NXmx, EIGER-like), SAXS series or tomography projections."""
    from halric.ingest.demo import write_demo
    from halric.ingest.units import human_bytes, parse_frame, parse_size

    nbytes = parse_size(size, field="size")
    if nbytes > 10 * 1000**4:
        fail("--size: at most 10TB")
    result = write_demo(
        outdir, kind, nbytes, frame_pixels=parse_frame(frame_pixels) if frame_pixels else None, bits=bit_depth,
        frames_per_file=frames_per_file, seed=seed, fmt=fmt, overwrite=overwrite,
    )  # fmt: skip
    if as_json:
        print(json.dumps(result.as_dict(), indent=1))
        return
    w, h = result.frame_pixels
    console.print(
        f"Wrote {len(result.files)} file(s), {human_bytes(result.bytes)}: {result.frames} {kind} frames of "
        f"{w} × {h} px ({result.dtype}) in {result.folder}"
    )
