"""Figures measured on the 2-core reference machine, used by ``halric plan``.

Compression ratios and one-core compression speeds come from simulated demo data (``halric demo-data``)
at the default detector geometries: MX from ``bench/data.py`` (EIGER 16M, 32-bit, about 0.5 counts per
pixel), SAXS (Pilatus-like 981 × 1043, int32) and tomography (2048 × 2048, uint16) from the same codec
measurement on demo frames. Hash speeds are ingest throughput on one core (bench/data.py). Update them by
running the benchmark on your own data and hardware; ``--ratio`` in the plan overrides the table.
"""

from __future__ import annotations

SOURCE = "demo data, 2-core reference machine"

# {data kind: {codec: {"ratio": uncompressed/compressed, "compress_bps": bytes/s on one core}}}
RATIOS: dict[str, dict[str, dict[str, float]]] = {
    "mx": {
        "bslz4": {"ratio": 12.58, "compress_bps": 475e6},
        "bszstd": {"ratio": 17.50, "compress_bps": 285e6},
        "blosc2": {"ratio": 24.50, "compress_bps": 151e6},
        "gzip": {"ratio": 13.59, "compress_bps": 25e6},
        "none": {"ratio": 1.0, "compress_bps": 428e6},
    },
    "saxs": {
        "bslz4": {"ratio": 13.67, "compress_bps": 973e6},
        "bszstd": {"ratio": 16.13, "compress_bps": 367e6},
        "blosc2": {"ratio": 19.78, "compress_bps": 112e6},
        "blosc2-lz4": {"ratio": 6.57, "compress_bps": 687e6},
        "gzip": {"ratio": 11.61, "compress_bps": 19e6},
        "none": {"ratio": 1.0, "compress_bps": 1322e6},
    },
    "tomo": {
        "bslz4": {"ratio": 2.13, "compress_bps": 392e6},
        "bszstd": {"ratio": 2.19, "compress_bps": 165e6},
        "blosc2": {"ratio": 2.28, "compress_bps": 67e6},
        "blosc2-lz4": {"ratio": 1.78, "compress_bps": 420e6},
        "gzip": {"ratio": 1.67, "compress_bps": 8e6},
        "none": {"ratio": 1.0, "compress_bps": 1409e6},
    },
}

# Checksum and ingest throughput of one core reading from the page cache, bytes/s.
HASH_BPS_PER_CORE: dict[str, float] = {"blake3": 1.4e9, "xxh3-128": 2.4e9, "sha256": 0.9e9}

# Throughput of N Dask workers relative to N × one worker (measured: 2 workers vs 1 worker).
DASK_EFFICIENCY = 0.8
