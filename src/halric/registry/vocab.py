"""Controlled vocabularies of the registry (pure data)."""

from __future__ import annotations

COUNTRIES = {"SE": "Sweden", "DK": "Denmark", "DE": "Germany", "NO": "Norway"}
ORG_KINDS = (
    "university",
    "hospital",
    "facility",
    "region",
    "cluster",
    "research-institute",
    "company",
    "other",
)
INFRA_KINDS = (
    "synchrotron", "neutron-source", "xfel", "electron-microscopy", "nmr", "mass-spectrometry",
    "light-microscopy", "imaging-clinical", "imaging-preclinical", "protein-production", "biophysics",
    "compute-data", "genomics", "laser", "biobank", "clinical-research", "other",
)  # fmt: skip
INSTRUMENT_KINDS = ("beamline", "instrument", "microscope", "spectrometer", "scanner", "platform", "service")
STATUSES = ("operational", "commissioning", "construction", "planned", "decommissioned")
STATUS_LABELS = {
    "operational": "Operational",
    "commissioning": "Commissioning",
    "construction": "Under construction",
    "planned": "Planned",
    "decommissioned": "Decommissioned",
}
STATUS_ORDER = {s: i for i, s in enumerate(STATUSES)}
ACCESS_ROUTES = {
    "peer-reviewed": "Peer-reviewed proposal (free, results published)",
    "rapid-access": "Rapid access / mail-in",
    "proprietary": "Proprietary industrial access (paid, results kept)",
    "service": "Fee-for-service measurement",
    "collaboration": "Joint research collaboration",
    "clinical": "Clinical referral or study agreement",
}
SAMPLE_TYPES = {
    "crystal": "Crystals",
    "powder": "Powders",
    "solution": "Solutions",
    "tissue": "Tissue",
    "cells": "Cells",
    "organism": "Whole organisms",
    "small-animal": "Small animals",
    "human": "Human participants / patients",
    "solid": "Solid materials",
    "thin-film": "Thin films",
    "surface": "Surfaces",
    "liquid": "Liquids",
    "gas": "Gases",
    "soft-matter": "Soft matter",
    "nanoparticles": "Nanoparticles",
    "biological-macromolecule": "Proteins and other biomolecules",
    "fibre": "Fibres",
    "food": "Food",
    "pharmaceutical": "Pharmaceuticals",
    "data": "Data",
}


def is_abstract_technique(tid: str, label: str) -> bool:
    """PaNET's organising classes, which nobody does as a technique: the facet axes (PaNET2…: probe, process,
    purpose, functional dependence, beam characteristic and their members), the root, the "defined by …"
    groupings and the "versus …" dependencies. Pickers hide them; the registry keeps them for the tree."""
    return tid.startswith("PaNET2") or tid == "PaNET00001" or label.startswith(("defined by ", "versus "))
