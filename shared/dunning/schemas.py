"""JSON Schemas of the event contract, generated from the pydantic models into ``events/schemas/``."""

from __future__ import annotations

import json
from pathlib import Path

from dunning.models.events import EVENT_MODELS, Envelope


def schemas() -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {"envelope.json": Envelope.model_json_schema()}
    for event_type, model in sorted(EVENT_MODELS.items()):
        schema = model.model_json_schema()
        schema["title"] = event_type
        schema["description"] = (model.__doc__ or "").strip() or f"data of a {event_type} event"
        out[f"{event_type}.json"] = schema
    return out


def write_schemas(folder: Path, check: bool = False) -> list[str]:
    """Write (or with ``check``, compare) every schema; returns the files that changed / differ."""
    folder.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, schema in schemas().items():
        text = json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            changed.append(name)
            if not check:
                path.write_text(text, encoding="utf-8")
    return changed
