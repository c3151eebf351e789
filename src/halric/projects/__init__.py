"""Project spaces: what a funded pilot becomes when it starts — a hub group for its team, a catalog
proposal its datasets land in, and the page that gathers team, datasets, publications and the final report.

The glue between ``calls`` (the application and project), ``catalog`` (proposal, datasets, published
data) and ``accounts`` (the group); entry points (web, CLI) and ``ingest`` call it.
"""
