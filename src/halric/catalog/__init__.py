"""Experiment-data catalog: datasets, data blocks, attachments, samples, proposals, published data.

The catalog speaks SciCat's data model (camelCase DTOs) so that SciCat clients work unchanged through
the adapter in ``halric.web.routes.scicat``; access rules and embargo are enforced here, in the service.
"""
