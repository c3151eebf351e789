"""The PaNOSC search API over the hub's catalog (served under ``/panosc-api``): public data only.

Shapes follow the PaNOSC search API documentation (panosc-eu/search-api ``doc/``): ``Dataset`` {pid, title,
isPublic, creationDate, size, score} with relations documents, files, instrument, parameters, samples,
techniques; ``Document`` {pid, isPublic, type, title, summary, doi, startDate, endDate, releaseDate,
license, keywords, score} with datasets, members, parameters; ``Instrument`` {pid, name, facility, score}
with datasets. Queries are LoopBack filters (``where``, ``include`` with ``scope``, ``limit``, ``skip``); an
``include`` with a ``scope.where`` keeps only the records that have a matching related record (as the
reference implementation does); parameter scopes compare values in SI units and answer in the unit asked
for. A free-text ``query`` ranks results by a relevance ``score`` (0–1) and leaves out those scoring 0.

Every read goes through the catalog's services as the anonymous caller, so nothing private is reachable.

- ``query``: the filter checked and translated to catalog ``where`` conditions (SQL);
- ``parameters``: parameter scopes (units by pint) and their SQL condition;
- ``ranking``: the free-text score computed by the database;
- ``relations``: PaNOSC shapes, a page of datasets' relations loaded together;
- ``datasets``, ``documents``, ``instruments``: the three models' endpoints.
"""

from halric.panosc.datasets import count_datasets, count_files, dataset_files, find_datasets, get_dataset
from halric.panosc.documents import count_documents, find_documents, get_document
from halric.panosc.instruments import count_instruments, find_instruments, get_instrument
from halric.panosc.query import load
from halric.panosc.relations import PUBLIC

__all__ = [
    "PUBLIC",
    "count_datasets",
    "count_documents",
    "count_files",
    "count_instruments",
    "dataset_files",
    "find_datasets",
    "find_documents",
    "find_instruments",
    "get_dataset",
    "get_document",
    "get_instrument",
    "load",
]
