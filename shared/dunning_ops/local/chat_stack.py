"""The embedded stack set up for the test channel (``dunning chat --local``, the console demo's chats): the HttpApi
served, the stub CRM running, a configuration whose ``conversations.settings.crm_url`` points at it, and the
shipped workflow templates live when no workflow is."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

CHAT_PREFIX = "/public/chat/conversations"


@contextmanager
def local_chat_stack(progress: TextIO, config_dir: Path) -> Iterator[str]:
    """The embedded stack with the HttpApi served, the stub CRM running, a configuration (``config_dir``) published
    whose ``conversations.settings.crm_url`` points at the stub, and the shipped workflow templates live when no
    workflow is; yields the HttpApi's URL and stops everything afterwards."""
    import io

    from dunning_ops.local import stub_crm
    from dunning_ops.local.stack import LocalStack
    from dunning_ops.local.translate import INTERACTIVE_PARAMETERS

    stack = LocalStack.start(progress=progress, log_sink=io.StringIO(), capture_stdout=True,
                             parameters=dict(INTERACTIVE_PARAMETERS))
    crm = None
    try:
        crm = stub_crm.start()
        crm_url = str(crm.url)
        publish_chat_config(stack, config_dir, crm_url)
        url = stack.start_http_api(None)
        installed = install_templates_if_none_live(stack)
        if installed:
            print(f"workflow templates published: {', '.join(installed)}", file=progress, flush=True)
        print(f"stub CRM: {crm_url}\npublic chat: {url}{CHAT_PREFIX}", file=progress, flush=True)
        yield url
    finally:
        if crm is not None:
            crm.stop()
        stack.stop()


def publish_chat_config(stack: Any, config_dir: Path, crm_url: str) -> None:
    from dunning.config_loader import load_config_dir
    from dunning.models.config import Config
    from dunning.store import blobs

    data = load_config_dir(config_dir).model_dump(mode="json", by_alias=True)
    conv = data.setdefault("conversations", {})
    conv.setdefault("settings", {})["crm_url"] = crm_url
    host = urlsplit(crm_url).hostname or "127.0.0.1"
    hosts = conv.setdefault("http_allow_hosts", [])
    if host not in hosts:
        hosts.append(host)
    config = Config.model_validate(data)
    blobs.S3Blobs(stack.outputs["RunsBucketName"]).publish_config(config)
    blobs._config_cache.clear()
    create_workflow_secrets(stack, config)


LOCAL_SECRET_VALUE = "local-stub-crm-token"  # noqa: S105 - the stub CRM takes any bearer token


def create_workflow_secrets(stack: Any, config: Any, value: str = LOCAL_SECRET_VALUE) -> None:
    """The secrets ``conversations.secrets`` names, as an operator creates them after a deploy (the VIP template's
    CRM token), holding ``value`` (a placeholder the stub CRM accepts); one that exists already is left as it is."""
    sm = stack.client("secretsmanager")
    for secret_id in config.conversations.secrets.values():
        try:
            sm.create_secret(Name=secret_id, SecretString=value)
        except sm.exceptions.ResourceExistsException:
            continue


def install_templates_if_none_live(stack: Any) -> list[str]:
    """The shipped templates, published, when no workflow has a live version (an operator's own stay as they are)."""
    from datetime import UTC, datetime

    from dunning.app import deps, workflows
    from dunning_ops.target import Target

    wf = deps.workflow_deps(Target.from_args(stack.endpoint, None, None).settings)
    if any(w.live_version for w in workflows.list_workflows(wf, None)):
        return []
    return list(workflows.install_templates(wf, None, datetime.now(UTC)))
