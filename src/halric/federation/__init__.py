"""Federation: remote catalog sites, federated search, harvesting, and the PaNOSC search API model.

Sites are other HALRIC hubs, SciCat instances or PaNOSC search API endpoints. One query fans out to all
of them concurrently (``search``), or reads a local index harvested from them (``harvest``). Every answer
respects each site's own access rules: the hub asks a site with the caller's own token for that site, or
anonymously (service tokens only ever fetch public records for live search).
"""
