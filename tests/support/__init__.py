"""Helpers shared by test modules, imported as ``tests.support.<module>``; fixtures stay in conftest.py.

- ``accounts``: the test password, users, API tokens, signing in through the forms, CSRF fields
- ``databases``: throw-away PostgreSQL databases, ``IN_CI``
- ``net``: free TCP ports
- ``calls``: a complete application draft
- ``jobs``: the brokers (Redis, RabbitMQ) and waiting for jobs, a stand-in PaNOSC site
- ``federation``: real hub processes and slow stand-in sites
- ``oidc``: real OpenID providers (Node.js) and signing in at them
- ``browser``: a served hub, watched Chromium pages, typing as a person does, axe and small screens
- ``aio``: running a coroutine from a synchronous test
"""
