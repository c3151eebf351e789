"""The patient-data guard: personal identifiers found (never shown) in metadata and files, and keyed
pseudonymisation done on the data owner's side."""

from halric.privacy.identifiers import KINDS, find, kinds_in
from halric.privacy.scan import Finding, scan_file, scan_metadata, scan_name

__all__ = ["KINDS", "Finding", "find", "kinds_in", "scan_file", "scan_metadata", "scan_name"]
