"""Conversation workflows (S4.6): list, show, save a draft, validate, publish, versions, diffs, the diagram, the
shipped templates.

Each route names one permission (its guard): ``workflows:read`` to read, ``workflows:write`` to validate and save
drafts, ``workflows:publish`` to publish and install the templates. An invalid workflow is refused at publish
with 422 and its errors (``errors``: step, path, message), as the resolver maps ``WorkflowInvalid``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from dunning.api import context
from dunning.api.guard import current_principal, guard
from dunning.app import workflows
from dunning.app.operations import InvalidRequest
from dunning.app.workflows import WorkflowDeps
from dunning.auth import Permission
from dunning.models.workflows import (
    ValidationReport,
    WorkflowDetail,
    WorkflowDiff,
    WorkflowDraft,
    WorkflowSummary,
    WorkflowVersion,
)
from dunning.workflows.validate import MAX_SOURCE_CHARS

router = APIGatewayHttpRouter()
READ = guard(Permission.WORKFLOWS_READ)
WRITE = guard(Permission.WORKFLOWS_WRITE)
PUBLISH = guard(Permission.WORKFLOWS_PUBLISH)
TAGS = ["workflows"]
SVG = "image/svg+xml"
Side = Annotated[str, Field(pattern=r"^([0-9]{1,6}|draft)$")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkflowSourceRequest(Body):
    source: str = Field(min_length=1, max_length=MAX_SOURCE_CHARS, description="the workflow, as YAML or JSON")
    format: Literal["yaml", "json"] | None = Field(None, description="default: JSON when it starts with {")


class PublishRequest(Body):
    note: str = Field("", max_length=500, description="what changed (shown with the version)")


class InstallTemplatesRequest(Body):
    publish: bool = Field(True, description="also make each template live as v1 (a workflow live already is "
                                            "left as it is)")


class InstalledTemplates(BaseModel):
    installed: list[str] = Field(description="the shipped templates' workflow ids")


def _now() -> datetime:
    return datetime.now(UTC)


def _deps() -> WorkflowDeps:
    return context.conversations().workflows


@router.get("/workflows", summary="Workflows: live version, latest version, draft state, priority, trigger",
            tags=TAGS, **READ)
def list_workflows() -> list[WorkflowSummary]:
    return workflows.list_workflows(_deps(), current_principal(router))


@router.post("/workflows/validate", summary="Validate a workflow (schema, graph, the configuration's teams); "
             "nothing is saved", tags=TAGS, **WRITE)
def validate(body: WorkflowSourceRequest) -> ValidationReport:
    current_principal(router)
    return workflows.validate(_deps(), body.source, body.format)


@router.post("/workflows/templates/install", summary="Install the shipped templates as workflows (idempotent)",
             tags=TAGS, **PUBLISH)
def install_templates(body: InstallTemplatesRequest) -> InstalledTemplates:
    return InstalledTemplates(installed=workflows.install_templates(_deps(), current_principal(router), _now(),
                                                                    publish=body.publish))


@router.get("/workflows/<wf_id>", summary="A workflow: summary, draft with its errors, versions, definition",
            tags=TAGS, **READ)
def get_workflow(wf_id: str) -> WorkflowDetail:
    return workflows.get_workflow(_deps(), current_principal(router), wf_id)


@router.put("/workflows/<wf_id>/draft", summary="Save the draft (kept even when invalid: see its errors)",
            tags=TAGS, **WRITE)
def save_draft(wf_id: str, body: WorkflowSourceRequest) -> WorkflowDraft:
    return workflows.save_draft(_deps(), current_principal(router), wf_id, body.source, body.format, _now())


@router.post("/workflows/<wf_id>/publish", summary="Publish the draft as the next immutable version and make it "
             "live (422 with the errors when invalid; the live content again: the live version)", tags=TAGS,
             **PUBLISH)
def publish(wf_id: str, body: PublishRequest) -> WorkflowVersion:
    return workflows.publish(_deps(), current_principal(router), wf_id, _now(), note=body.note)


@router.get("/workflows/<wf_id>/versions/<n>", summary="A published version (source and definition)", tags=TAGS,
            **READ)
def get_version(wf_id: str, n: int) -> WorkflowVersion:
    return workflows.version(_deps(), current_principal(router), wf_id, n)


@router.get("/workflows/<wf_id>/diff", summary="The difference between two versions (or a version and the draft)",
            tags=TAGS, **READ)
def diff(wf_id: str, from_: Annotated[Side | None, Query(alias="from", description="a version number or draft")] = None,
         to: Annotated[Side | None, Query(description="a version number or draft")] = None) -> WorkflowDiff:
    if from_ is None or to is None:  # checked past the guard (required, but not before the permission)
        raise InvalidRequest("compare what: ?from=N|draft&to=N|draft")
    return workflows.diff(_deps(), current_principal(router), wf_id, from_, to)


@router.get("/workflows/<wf_id>/diagram", summary="The workflow as an SVG diagram (default: the live version, else "
            "the draft)", tags=TAGS, responses={200: {"description": "the diagram",
                                                      "content": {SVG: {"schema": {"type": "string"}}}}}, **READ)
def diagram(wf_id: str, version: Annotated[Side | None, Query(description="a version number or draft")] = None,
            ) -> Response[Any]:
    svg = workflows.diagram_svg(_deps(), current_principal(router), wf_id, version)
    return Response(status_code=200, content_type=SVG, body=svg, headers={"Cache-Control": "no-store"})
