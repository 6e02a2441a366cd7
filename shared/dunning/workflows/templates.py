"""The shipped workflow templates (S4.7): YAML files packaged with ``dunning.workflows`` (so they are inside
the Lambda layer), under ``dunning/workflows/templates/``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from dunning.models.workflows import TemplateInfo

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE_IDS: tuple[str, ...] = ("vip_routing", "new_vs_returning", "csat_survey", "collections_promise")


class TemplateNotFound(LookupError):
    """No shipped template has this id."""


@lru_cache(maxsize=16)
def load_template(template_id: str) -> str:
    """The template's YAML source text."""
    if template_id not in TEMPLATE_IDS:
        raise TemplateNotFound(f"no workflow template {template_id!r}")
    return (TEMPLATE_DIR / f"{template_id}.yaml").read_text(encoding="utf-8")


def list_templates() -> list[TemplateInfo]:
    out = []
    for template_id in TEMPLATE_IDS:
        data = yaml.safe_load(load_template(template_id))
        out.append(TemplateInfo(id=template_id, name=str(data.get("name", template_id)),
                                description=str(data.get("description", "")), fmt="yaml"))
    return out
