"""A stand-in catalog site in its own process: answers the hub's catalog search after DELAY seconds.

Run as ``python slow_site.py PORT DELAY``. Prints ``REQUEST <path>`` (flushed) when a request arrives, so a
test can kill the process while the request is in flight. Its answer has the shape of a hub's
``/api/catalog/search``; ``test_fake_site_matches_real_hub`` checks that against a real hub.
"""

from __future__ import annotations

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DELAY = 0.0  # seconds, set from the command line
ANSWER = {
    "total": 1,
    "limit": 25,
    "offset": 0,
    "items": [
        {
            "pid": "slow/1",
            "datasetName": "lysozyme from the slow site",
            "type": "raw",
            "isPublished": True,
            "ownerGroup": "slow",
            "creationTime": "2024-01-01T00:00:00.000Z",
        }
    ],
    "facets": {"technique": [], "instrument": [], "keyword": [], "type": [{"value": "raw", "count": 1}]},
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        print("REQUEST", self.path, flush=True)
        time.sleep(DELAY)
        body = json.dumps(ANSWER).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


if __name__ == "__main__":
    DELAY = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("READY", flush=True)
    server.serve_forever()
