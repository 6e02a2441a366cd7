"""Environment settings for the functions, as a pydantic model. The only place that reads ``os.environ``."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    ledger_table: str = Field(alias="LEDGER_TABLE")
    contacts_table: str = Field(alias="CONTACTS_TABLE")
    runs_table: str = Field(alias="RUNS_TABLE")
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE")
    letters_bucket: str = Field(alias="LETTERS_BUCKET")
    runs_bucket: str = Field(alias="RUNS_BUCKET")
    sender_identity: str = Field(default="", alias="SENDER_IDENTITY")
    history_retention_days: int = Field(default=90, alias="HISTORY_RETENTION_DAYS", ge=1)
    contact_retention_days: int = Field(default=90, alias="CONTACT_RETENTION_DAYS", ge=1)
    batch_size: int = Field(default=1000, alias="BATCH_SIZE", ge=1, le=5000)
    print_extract_max_attempts: int = Field(default=30, alias="PRINT_EXTRACT_MAX_ATTEMPTS", ge=1)
    print_extract_wait_seconds: int = Field(default=60, alias="PRINT_EXTRACT_WAIT_SECONDS", ge=1)
    print_extract_poll_seconds: int = Field(default=600, alias="PRINT_EXTRACT_POLL_SECONDS", ge=0)
    # letters per print-extract shard (one merged PDF + manifest each) and shards built at once
    print_extract_shard_size: int = Field(default=5000, alias="PRINT_EXTRACT_SHARD_SIZE", ge=1, le=20000)
    print_extract_concurrency: int = Field(default=10, alias="PRINT_EXTRACT_CONCURRENCY", ge=1, le=100)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        return cls.model_validate(dict(os.environ if env is None else env))
