"""Background work on a task queue (Dramatiq over Redis or RabbitMQ, or in-process without a broker).

The ``jobs`` table is the outbox and the record of every job: a job is a row written in the same
transaction as the change that asked for it, handed to the broker after that transaction commits, and
run by a worker that claims the row first (so a job runs once however often its message arrives).
"""
