"""Small value types shared by every model module. Imports nothing from the project."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Identifiers come from upstream systems: printable, bounded, no path separators.
Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
ShortText = Annotated[str, StringConstraints(max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=4000)]
Money = Annotated[Decimal, Field(max_digits=18, decimal_places=2)]
PositiveMoney = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2)]
NonNegativeMoney = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]
# Who an email step writes to (S2.9): the customer, or the account's sales group or collections agent.
RecipientKind = Literal["customer", "sales_group", "collections_agent"]

# Business dates are bounded so that a typo (year 0203, 9999) is rejected at the edge.
MIN_DATE = date(1990, 1, 1)
MAX_DATE = date(2100, 12, 31)


class Frozen(BaseModel):
    """Base for immutable value objects: unknown fields are rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Address(Frozen):
    lines: list[Annotated[str, StringConstraints(max_length=120)]] = Field(default_factory=list, max_length=6)
    city: ShortText = ""
    postal_code: Annotated[str, StringConstraints(max_length=20)] = ""
    country: Annotated[str, StringConstraints(max_length=2)] = ""

    def as_lines(self) -> list[str]:
        """Postal lines in the order a window envelope shows them."""
        tail = " ".join(p for p in (self.postal_code, self.city) if p)
        return [*[ln for ln in self.lines if ln], *([tail] if tail else []), *([self.country] if self.country else [])]


def check_business_date(value: date) -> date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise ValueError(f"date {value.isoformat()} is outside {MIN_DATE.isoformat()}..{MAX_DATE.isoformat()}")
    return value
