"""Project-space tests use the pilot-call fixtures: a registry, an open call and people in every role."""

from tests.calls.conftest import _registry, open_call, people  # noqa: F401
