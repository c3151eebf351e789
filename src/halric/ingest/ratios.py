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
    "mx": {  # bench/data.py, 2026-11-25
        "bslz4": {"ratio": 17.08, "compress_bps": 1145e6},
        "bszstd": {"ratio": 23.09, "compress_bps": 920e6},
        "blosc2": {"ratio": 24.50, "compress_bps": 386e6},
        "gzip": {"ratio": 13.59, "compress_bps": 43e6},
        "none": {"ratio": 1.0, "compress_bps": 1129e6},
    },
    "saxs": {  # halric codecs advise on demo SAXS (200 MB), 2026-11-25
        "bslz4": {"ratio": 14.93, "compress_bps": 1679e6},
        "bszstd": {"ratio": 19.59, "compress_bps": 1145e6},
        "blosc2": {"ratio": 19.78, "compress_bps": 435e6},
        "blosc2-lz4": {"ratio": 6.57, "compress_bps": 827e6},
        "gzip": {"ratio": 11.61, "compress_bps": 37e6},
        "none": {"ratio": 1.0, "compress_bps": 10693e6},
    },
    "tomo": {  # halric codecs advise on demo NXtomo (200 MB), 2026-11-25
        "bslz4": {"ratio": 2.02, "compress_bps": 1536e6},
        "bszstd": {"ratio": 2.09, "compress_bps": 1059e6},
        "blosc2": {"ratio": 2.13, "compress_bps": 424e6},
        "blosc2-lz4": {"ratio": 1.66, "compress_bps": 1176e6},
        "gzip": {"ratio": 2.00, "compress_bps": 15e6},
        "none": {"ratio": 1.0, "compress_bps": 2265e6},
    },
}

# Checksum and ingest throughput of one core reading from the page cache, bytes/s.
HASH_BPS_PER_CORE: dict[str, float] = {"blake3": 1.4e9, "xxh3-128": 2.4e9, "sha256": 0.9e9}

# Throughput of N Dask workers relative to N × one worker (measured: 2 workers vs 1 worker).
DASK_EFFICIENCY = 0.8
