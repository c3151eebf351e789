"""Imports every domain's tables so the shared metadata is complete (migrations, tests)."""

from halric.accounts import models as accounts_models  # noqa: F401
from halric.calls import models as calls_models  # noqa: F401
from halric.catalog import models as catalog_models  # noqa: F401
from halric.core import audit  # noqa: F401
from halric.core.db import Base
from halric.federation import models as federation_models  # noqa: F401
from halric.jobs import models as jobs_models  # noqa: F401
from halric.match import models as match_models  # noqa: F401
from halric.projects import models as projects_models  # noqa: F401
from halric.registry import models as registry_models  # noqa: F401

metadata = Base.metadata
