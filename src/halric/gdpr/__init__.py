"""The person's own data (GDPR): everything the hub holds about one person as a JSON document
(``export``), and erasing an account with a successor and a pseudonym (``erase``, ``sweep``).

It sits above every domain and below the entry points (web, cli): it asks each domain what it holds about
a person (their ``personal`` modules) and adds what belongs to no domain (the audit log, jobs, the sweep
over every table). See docs/privacy.md."""
