"""Load ``infra/config/`` (YAML + Jinja2/HTML files) into a validated :class:`Config`.

Layout::

    dunning.yaml                              company, pools, hierarchies, activity templates, contact types, rules
    templates/letters/<code>.yaml             code, description, default_language, production, subjects per language
    templates/letters/<code>.<lang>.j2        the letter body for one language (Jinja2, sandboxed)
    templates/email/<code>.yaml               code, description, default_language, sender_name, sender_address, subjects
    templates/email/<code>.<lang>.html        the HTML body for one language (a text part is derived)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from dunning.errors import ConfigError as ConfigError  # re-exported: the loader raises it
from dunning.models.config import Config


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def _bodies(folder: Path, code: str, suffix: str) -> dict[str, str]:
    return {p.name[len(code) + 1 : -len(suffix)]: p.read_text(encoding="utf-8")
            for p in sorted(folder.glob(f"{code}.*{suffix}"))}


def load_config_dir(root: Path) -> Config:
    main = root / "dunning.yaml"
    if not main.exists():
        raise ConfigError(f"{main} not found")
    raw = _read_yaml(main)
    letters, emails = [], []
    for meta_path in sorted((root / "templates" / "letters").glob("*.yaml")):
        meta = _read_yaml(meta_path)
        code = meta.get("code", meta_path.stem)
        letters.append({**meta, "bodies": _bodies(meta_path.parent, code, ".j2")})
    for meta_path in sorted((root / "templates" / "email").glob("*.yaml")):
        meta = _read_yaml(meta_path)
        code = meta.get("code", meta_path.stem)
        subjects = meta.pop("subjects", {}) or {}
        html = _bodies(meta_path.parent, code, ".html")
        missing = sorted(set(subjects) ^ set(html))
        if missing:
            raise ConfigError(f"{meta_path}: languages {missing} need both a subject and an HTML file")
        emails.append({**meta, "bodies": {lang: {"subject": subjects[lang], "html": html[lang]} for lang in html}})
    raw.setdefault("letter_templates", []).extend(letters)
    raw.setdefault("email_templates", []).extend(emails)
    return parse_config(raw, source=str(root))


def parse_config(raw: dict[str, Any], source: str = "config") -> Config:
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError.from_validation(exc, source) from exc
