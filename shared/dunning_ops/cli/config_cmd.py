"""``dunning config``: validate and publish the configuration folder, import email bodies, write its JSON Schema."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from dunning.config_loader import ConfigError, load_config_dir
from dunning.email.importer import import_html_body
from dunning.models.config import Config
from dunning_ops.cli.common import DEFAULT_CONFIG_DIR, Subparsers, add_command, add_group, repos, target
from dunning_ops.cli.output import emit, fail
from dunning_ops.target import TargetError


def sender_outside_identity(config: Config, identity: str) -> list[str]:
    """The email templates (and the interactions mail) whose sender address SES would refuse for ``identity``
    (the stack's SenderIdentity: an address, or a domain, which covers its subdomains too), one readable line
    each."""
    wanted = identity.strip().casefold()
    senders = [(f"email template {t.code!r}", t.sender_address) for t in config.email_templates]
    if config.interactions.mail.from_address:  # agents' replies and automatic replies to interactions
        senders.append(("interactions mail", config.interactions.mail.from_address))
    problems = []
    for what, address in senders:
        sender = address.casefold()
        domain = sender.rpartition("@")[2]
        ok = sender == wanted if "@" in wanted else (domain == wanted or domain.endswith(f".{wanted}"))
        if not ok:
            problems.append(f"{what}: sender {address} is outside the "
                            f"stack's SES identity {identity} (SES would refuse every email from it)")
    return problems


def _stack_named(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "stack", None) or getattr(args, "endpoint_url", None)
                or os.environ.get("DUNNING_STACK") or os.environ.get("DUNNING_ENDPOINT_URL"))


def _sender_identity(args: argparse.Namespace, *, required: bool) -> str | None:
    """``--sender-identity``, else the stack's SenderIdentity output (when a stack is named, or ``required``)."""
    if getattr(args, "sender_identity", None):
        return str(args.sender_identity)
    if not (required or _stack_named(args)):
        return None
    return target(args).output("SenderIdentity")


def cmd_config_validate(args: argparse.Namespace) -> int:
    try:
        config = load_config_dir(Path(args.dir))
    except ConfigError as exc:
        return fail(str(exc))
    try:
        identity = _sender_identity(args, required=False)
    except TargetError as exc:
        return fail(f"{exc} (or pass --sender-identity to check the senders offline)")
    problems = sender_outside_identity(config, identity) if identity else []
    if problems:
        return fail(f"{args.dir}: {len(problems)} problem(s)\n  " + "\n  ".join(problems))
    emit(args, {"valid": True, "version": config.version, "sender_identity": identity,
                "hierarchies": len(config.hierarchies),
                "pools": len(config.pools), "contact_types": len(config.contact_types),
                "letter_templates": len(config.letter_templates), "email_templates": len(config.email_templates),
                "contact_rules": len(config.contact_rules)},
         lambda d: f"configuration in {args.dir} is valid: " + ", ".join(
             f"{v} {k}" for k, v in d.items() if k not in ("valid", "version", "sender_identity"))
         + (f"; senders within {identity}" if identity
            else "; senders not checked (pass --sender-identity, or --stack to read the stack's)"))
    return 0


def cmd_config_publish(args: argparse.Namespace) -> int:
    try:
        config = load_config_dir(Path(args.dir))
    except ConfigError as exc:
        return fail(str(exc))
    identity = _sender_identity(args, required=True) or ""
    problems = sender_outside_identity(config, identity)
    if problems:
        return fail(f"not published: {len(problems)} problem(s)\n  " + "\n  ".join(problems))
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


DEFAULT_SCHEMA = DEFAULT_CONFIG_DIR / "dunning.schema.json"


def config_schema() -> dict[str, object]:
    """The JSON Schema of ``dunning.yaml`` (the :class:`Config` model, with every field's description)."""
    schema: dict[str, object] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **Config.model_json_schema(),
    }
    schema["title"] = "Dunning configuration (infra/config/dunning.yaml)"
    schema["description"] = (
        "Strategies (process hierarchies), pools, steps, contact types, templates and rules. Letter and email "
        "templates usually live in templates/letters and templates/email next to dunning.yaml. Generated from "
        "dunning.models.config by 'dunning config schema'; do not edit by hand.")
    return schema


def schema_text() -> str:
    return json.dumps(config_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def cmd_config_schema(args: argparse.Namespace) -> int:
    path = Path(args.output)
    text = schema_text()
    current = path.read_text(encoding="utf-8") if path.exists() else None
    if args.check:
        if current != text:
            return fail(f"{path} is out of date with dunning.models.config (run 'dunning config schema')")
        print(f"{path} is up to date")
        return 0
    if current != text:
        path.write_text(text, encoding="utf-8")
    print(f"{path} {'written' if current != text else 'unchanged'}")
    return 0


def register(sub: Subparsers) -> None:
    config = add_group(sub, "config", "validate and publish configuration")
    for name, func, text in (("validate", cmd_config_validate, "validate the configuration folder"),
                             ("publish", cmd_config_publish, "validate and publish the configuration to the stack")):
        sp = add_command(config, name, func, text)
        sp.add_argument("dir", nargs="?", default=str(DEFAULT_CONFIG_DIR), help="configuration folder")
        sp.add_argument("--sender-identity", default=None,
                        help="the stack's SES identity (address or domain) email senders must belong to "
                             "(default: the stack's SenderIdentity output)")
    imp = add_command(config, "import-email-html", cmd_config_import_email,
                      "import an HTML file (e.g. a saved Outlook email) as an email template body")
    imp.add_argument("file")
    imp.add_argument("--template", required=True, help="email template code")
    imp.add_argument("--language", required=True, help="language of this body, e.g. pt-BR")
    imp.add_argument("--dir", default=str(DEFAULT_CONFIG_DIR), help="configuration folder")
    sch = add_command(config, "schema", cmd_config_schema,
                      "write the JSON Schema of dunning.yaml (editor completion, field descriptions)")
    sch.add_argument("--output", default=str(DEFAULT_SCHEMA), help="schema file (default: %(default)s)")
    sch.add_argument("--check", action="store_true", help="fail when the committed schema is out of date")
