"""Catalog settings, read from ``HALRIC_*`` environment variables (see docs/catalog.md)."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CatalogSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HALRIC_", extra="ignore")

    catalog_pid_prefix: str = Field(
        default="20.500.12345",
        description="Prefix of dataset pids (prefix/uuid), like a SciCat site's PID prefix.",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
    )
    catalog_embargo_years: int = Field(
        default=3,
        ge=0,
        le=100,
        description="Default embargo: years after a dataset's creation time, or after its registration at the hub when that is later.",
    )
    catalog_token_hours: int = Field(
        default=12, ge=1, le=24 * 30, description="Lifetime of the JWT answered by the SciCat login."
    )
    catalog_base_url: str = Field(
        # one public address: a hub that sets only HALRIC_BASE_URL (as mail links need) must not register
        # DOIs whose landing pages point at localhost
        default_factory=lambda: os.environ.get("HALRIC_BASE_URL", "http://localhost:8000"),
        description="Public address of the hub; dataset landing pages and DOIs point here (default: HALRIC_BASE_URL).",
    )
    datacite_url: str | None = Field(
        default=None, description="DataCite REST API, e.g. https://api.test.datacite.org (unset: no DOIs)."
    )
    datacite_user: str | None = Field(default=None, description="DataCite repository id (user name).")
    datacite_password: str | None = Field(default=None, description="DataCite repository password.")
    datacite_prefix: str = Field(default="10.80000", description="DOI prefix assigned by DataCite.")
    datacite_publisher: str = Field(default="HALRIC", description="Publisher written into DataCite metadata.")
    download_roots: str | None = Field(
        default=None,
        description="Folders (separated by ':') whose catalogued files are served for download. "
        "Unset: the folders of HALRIC_DATA_ROOTS when that is set, otherwise DATA_DIR/data (made by "
        "`halric init`). Empty: downloads off.",
    )
    storage_countries: str = Field(
        default="",
        description="Where data may live: storage locations and their country, 'PREFIX=CC' entries separated "
        "by ';' (a folder such as /data/maxiv or an address such as https://data.example.dk/, and an ISO "
        "3166 alpha-2 code), e.g. '/data/maxiv=SE;/mnt/rigshospitalet=DK'. The longest matching prefix "
        "wins. A project that restricts where its data may live accepts only datasets on these locations "
        "(docs/privacy.md).",
    )
    data_roots: str | None = Field(
        default=None,
        description="HALRIC_DATA_ROOTS, read here only as the default of download_roots (see ingest).",
    )
    catalog_search_cache: bool = Field(
        default=True,
        description="Keep the counts of broad searches in memory until the catalog changes "
        "(each server process its own cache).",
    )
    catalog_search_cache_size: int = Field(
        default=256,
        ge=1,
        le=100_000,
        description="Entries the search cache keeps: a search's counts, a window of its pids "
        "(the least recently used go first).",
    )
    catalog_search_cache_min_matches: int = Field(
        default=1,
        ge=0,
        description="Only searches matching at least this many datasets are cached (a search that matches "
        "nothing is not kept).",
    )


@lru_cache(maxsize=1)
def get() -> CatalogSettings:
    return CatalogSettings()


def reset() -> None:
    """Forget the cached settings (tests change the environment)."""
    get.cache_clear()
