"""Request bodies of the API (responses are the use cases' own models)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dunning.auth import Group, Permission


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignInRequest(Body):
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=256)


class RefreshRequest(Body):
    refresh_token: str = Field(min_length=1, max_length=4096)


class StartRunRequest(Body):
    as_of: date | None = Field(default=None, description="as-of date (default today, UTC)")


class CompleteActivityRequest(Body):
    outcome: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\- ]+$",
                         description="outcome code, e.g. promised_to_pay, no_answer")
    note: str = Field(default="", max_length=2000)


class ReassignActivityRequest(Body):
    assignee: str = Field(min_length=1, max_length=128, pattern=r"^[^#\s]+$",
                          description="user name of the collector")


class ConfigDocument(Body):
    config: dict[str, Any] = Field(description="the configuration as 'dunning config publish' writes it (JSON)")


class Me(BaseModel):
    user_id: str
    username: str
    groups: list[Group]
    permissions: list[Permission]
