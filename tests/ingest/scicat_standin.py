"""A small SciCat-compatible HTTP server for the ingest tests (no SciCat server runs here).

It validates what a SciCat v4 backend validates for what ingest sends — Bearer token, required and
allowed fields of raw datasets and OrigDatablocks (from pyscicat's models), relative file paths, ISO
times, an existing datasetId — and keeps the records in memory. ``fail_*`` knobs make it answer 500
to test resuming; ``store_then_fail`` stores the record and then answers 500, like a crash after the
catalog wrote it.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DATASET_REQUIRED = {
    "type", "datasetName", "owner", "ownerGroup", "contactEmail", "sourceFolder", "creationTime",
    "principalInvestigator", "creationLocation",
}  # fmt: skip
DATASET_ALLOWED = DATASET_REQUIRED | {
    "pid", "accessGroups", "instrumentGroup", "size", "packedSize", "numberOfFiles", "numberOfFilesArchived",
    "scientificMetadata", "keywords", "techniques", "description", "sourceFolderHost", "isPublished",
    "instrumentId", "proposalId", "sampleId", "endTime", "ownerEmail", "orcidOfOwner", "classification",
    "license", "comment", "dataFormat", "sharedWith", "relationships", "validationStatus", "inputDatasets",
    "usedSoftware", "dataQualityMetrics", "runNumber",
}  # fmt: skip
BLOCK_REQUIRED = {"datasetId", "size", "dataFileList", "ownerGroup"}
BLOCK_ALLOWED = BLOCK_REQUIRED | {"chkAlg", "accessGroups", "instrumentGroup"}
FILE_REQUIRED = {"path", "size", "time"}
FILE_ALLOWED = FILE_REQUIRED | {"chk", "uid", "gid", "perm"}


def _iso(value: Any) -> bool:
    try:
        datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


def check_dataset(d: Any) -> str | None:
    if not isinstance(d, dict):
        return "body must be an object"
    missing = DATASET_REQUIRED - d.keys()
    if missing:
        return f"missing {sorted(missing)}"
    extra = d.keys() - DATASET_ALLOWED
    if extra:
        return f"property {sorted(extra)} should not exist"
    if d["type"] not in ("raw", "derived"):
        return "type must be raw or derived"
    if not str(d["sourceFolder"]).startswith("/"):
        return "sourceFolder must be absolute"
    if not _iso(d["creationTime"]):
        return "creationTime must be an ISO 8601 date"
    for k in ("size", "numberOfFiles"):
        if k in d and (not isinstance(d[k], int) or d[k] < 0):
            return f"{k} must be a non-negative integer"
    if not isinstance(d.get("scientificMetadata", {}), dict):
        return "scientificMetadata must be an object"
    for k, v in d.get("scientificMetadata", {}).items():
        if not isinstance(v, dict) or "value" not in v:
            return f"scientificMetadata.{k} must be {{value, unit}}"
    for t in d.get("techniques", []):
        if set(t) != {"pid", "name"}:
            return "techniques must be [{pid, name}]"
    if "@" not in str(d["contactEmail"]):
        return "contactEmail must be an email"
    return None


def check_block(b: Any, datasets: dict[str, Any]) -> tuple[int, str] | None:
    if not isinstance(b, dict):
        return 400, "body must be an object"
    missing = BLOCK_REQUIRED - b.keys()
    if missing:
        return 400, f"missing {sorted(missing)}"
    extra = b.keys() - BLOCK_ALLOWED
    if extra:
        return 400, f"property {sorted(extra)} should not exist"
    if b["datasetId"] not in datasets:
        return 404, f"dataset {b['datasetId']} not found"
    if b["ownerGroup"] != datasets[b["datasetId"]]["ownerGroup"]:
        return 400, "ownerGroup differs from the dataset's"
    if not isinstance(b["dataFileList"], list) or not b["dataFileList"]:
        return 400, "dataFileList must be a non-empty list"
    total = 0
    for f in b["dataFileList"]:
        if FILE_REQUIRED - f.keys() or f.keys() - FILE_ALLOWED:
            return 400, f"bad file entry {f}"
        if str(f["path"]).startswith("/"):
            return 400, "file paths are relative to sourceFolder"
        if not _iso(f["time"]):
            return 400, "time must be ISO 8601"
        total += f["size"]
    if total != b["size"]:
        return 400, "size is not the sum of the file sizes"
    return None


class SciCatStandIn:
    def __init__(self, token: str = "tok-123") -> None:
        self.token = token
        self.datasets: dict[str, dict[str, Any]] = {}
        self.blocks: dict[str, dict[str, Any]] = {}
        self.log: list[tuple[str, str, int]] = []
        self.fail_dataset_posts = 0  # answer 500 to the next N POST /Datasets
        self.fail_block_posts_after = -1  # after N successful block POSTs, answer 500 (once)
        self.store_then_fail = False  # store the record, then answer 500 (response lost)
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _send(self, code: int, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
                with outer.lock:
                    outer.log.append((self.command, urlsplit(self.path).path, code))

            def _auth(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {outer.token}":
                    self._send(401, {"message": "Unauthorized"})
                    return False
                return True

            def do_GET(self) -> None:
                if not self._auth():
                    return
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                flt = json.loads(query.get("filter", ["{}"])[0])
                where = flt.get("where", {})
                if parts.path == "/api/v3/Datasets":
                    rows = [
                        d for d in outer.datasets.values() if all(d.get(k) == v for k, v in where.items())
                    ]
                    self._send(200, rows[: flt.get("limit", 1000)])
                elif parts.path.startswith("/api/v3/Datasets/"):
                    pid = unquote(parts.path[len("/api/v3/Datasets/") :])
                    if pid in outer.datasets:
                        self._send(200, outer.datasets[pid])
                    else:
                        self._send(404, {"message": "not found"})
                elif parts.path == "/api/v3/OrigDatablocks":
                    rows = [b for b in outer.blocks.values() if all(b.get(k) == v for k, v in where.items())]
                    self._send(200, rows)
                else:
                    self._send(404, {"message": "no route"})

            def do_POST(self) -> None:
                if not self._auth():
                    return
                path = urlsplit(self.path).path
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                except ValueError:
                    self._send(400, {"message": "invalid JSON"})
                    return
                if path == "/api/v3/Datasets":
                    if outer.fail_dataset_posts > 0:
                        outer.fail_dataset_posts -= 1
                        self._send(500, {"message": "injected failure"})
                        return
                    problem = check_dataset(body)
                    if problem:
                        self._send(400, {"message": problem})
                        return
                    pid = body.get("pid") or f"20.500.12269/{uuid.uuid4()}"
                    rec = {**body, "pid": pid, "createdAt": datetime.now().isoformat()}
                    outer.datasets[pid] = rec
                    if outer.store_then_fail:
                        outer.store_then_fail = False
                        self._send(500, {"message": "stored, then lost the response"})
                        return
                    self._send(201, rec)
                elif path == "/api/v3/OrigDatablocks":
                    problem = check_block(body, outer.datasets)
                    if problem:
                        self._send(problem[0], {"message": problem[1]})
                        return
                    if outer.fail_block_posts_after == 0:
                        outer.fail_block_posts_after = -1
                        self._send(500, {"message": "injected failure"})
                        return
                    if outer.fail_block_posts_after > 0:
                        outer.fail_block_posts_after -= 1
                    bid = str(uuid.uuid4())
                    outer.blocks[bid] = {**body, "id": bid}
                    ds = outer.datasets[body["datasetId"]]
                    mine = [b for b in outer.blocks.values() if b["datasetId"] == ds["pid"]]
                    ds["size"] = sum(b["size"] for b in mine)  # as SciCat recounts
                    ds["numberOfFiles"] = sum(len(b["dataFileList"]) for b in mine)
                    if outer.store_then_fail:
                        outer.store_then_fail = False
                        self._send(500, {"message": "stored, then lost the response"})
                        return
                    self._send(201, outer.blocks[bid])
                else:
                    self._send(404, {"message": "no route"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> SciCatStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def files_of(self, pid: str) -> list[str]:
        return sorted(
            f["path"] for b in self.blocks.values() if b["datasetId"] == pid for f in b["dataFileList"]
        )
