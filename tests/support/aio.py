"""Run a coroutine to completion from a synchronous test, whatever else the test session runs.

Playwright's synchronous API (the browser tests' session-wide browser) leaves an event loop marked as
running in the main thread, so ``asyncio.run`` there fails with "cannot be called from a running event
loop". A fresh thread has no loop: the coroutine gets its own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def run(factory: Callable[[], Awaitable[T]]) -> T:
    """``asyncio.run(factory())`` in a thread of its own; returns its result or raises its exception."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(factory())  # type: ignore[arg-type]
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=target, name="test-asyncio")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
