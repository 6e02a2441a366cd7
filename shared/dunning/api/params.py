"""Query parameters shared by the routes."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

Limit = Annotated[int | None, Query(ge=1, le=200, description="page size (default 50)")]
NextToken = Annotated[str | None, Query(alias="next", max_length=2048, description="the previous page's next token")]
AsOf = Annotated[date | None, Query(description="as-of date (default today, UTC)")]
