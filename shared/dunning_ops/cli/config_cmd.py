"""``dunning config``: validate and publish the configuration folder, import email bodies."""

from __future__ import annotations

import argparse
from pathlib import Path

from dunning.config_loader import ConfigError, load_config_dir
from dunning.email.importer import import_html_body
from dunning_ops.cli.common import DEFAULT_CONFIG_DIR, Subparsers, add_command, add_group, repos, target
from dunning_ops.cli.output import emit, fail


def cmd_config_validate(args: argparse.Namespace) -> int:
    try:
        config = load_config_dir(Path(args.dir))
    except ConfigError as exc:
        return fail(str(exc))
    emit(args, {"valid": True, "version": config.version, "hierarchies": len(config.hierarchies),
                "pools": len(config.pools), "contact_types": len(config.contact_types),
                "letter_templates": len(config.letter_templates), "email_templates": len(config.email_templates),
                "contact_rules": len(config.contact_rules)},
         lambda d: f"configuration in {args.dir} is valid: " + ", ".join(f"{v} {k}" for k, v in d.items()
                                                                          if k not in ("valid", "version")))
    return 0


def cmd_config_publish(args: argparse.Namespace) -> int:
    try:
        config = load_config_dir(Path(args.dir))
    except ConfigError as exc:
        return fail(str(exc))
    key = repos(target(args)).blobs.publish_config(config)
    emit(args, {"published": key, "version": config.version}, lambda d: f"published {args.dir} as {d['published']}")
    return 0


def cmd_config_import_email(args: argparse.Namespace) -> int:
    src = Path(args.file)
    if not src.exists():
        return fail(f"{src} not found")
    html = import_html_body(src.read_text(encoding="utf-8", errors="replace"))
    dest = Path(args.dir) / "templates" / "email" / f"{args.template}.{args.language}.html"
    if not (dest.parent / f"{args.template}.yaml").exists():
        return fail(f"no email template {args.template!r} in {dest.parent} (create {args.template}.yaml first)")
    dest.write_text(html + "\n", encoding="utf-8")
    print(f"imported {src} as the {args.language} body of {args.template} ({len(html)} characters) -> {dest}")
    print("remember to add its subject to the template's yaml, then 'dunning config validate' and 'publish'")
    return 0


def register(sub: Subparsers) -> None:
    config = add_group(sub, "config", "validate and publish configuration")
    for name, func, text in (("validate", cmd_config_validate, "validate the configuration folder"),
                             ("publish", cmd_config_publish, "validate and publish the configuration to the stack")):
        sp = add_command(config, name, func, text)
        sp.add_argument("dir", nargs="?", default=str(DEFAULT_CONFIG_DIR), help="configuration folder")
    imp = add_command(config, "import-email-html", cmd_config_import_email,
                      "import an HTML file (e.g. a saved Outlook email) as an email template body")
    imp.add_argument("file")
    imp.add_argument("--template", required=True, help="email template code")
    imp.add_argument("--language", required=True, help="language of this body, e.g. pt-BR")
    imp.add_argument("--dir", default=str(DEFAULT_CONFIG_DIR), help="configuration folder")
