"""The base of every API answer model: a field a service adds without adding it to the answer's model
fails the tests (``extra="forbid"``) instead of reaching a client unannounced."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Out"]


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")
