"""Comparing two versions of a workflow: a unified text diff of the canonical YAML (so a change of format,
key order or spelled-out defaults is not a change) and the step ids added, removed and changed."""

from __future__ import annotations

import difflib

from dunning.models.workflows import WorkflowDefinition, WorkflowDiff
from dunning.workflows.schema import canonical_yaml


def _steps(definition: WorkflowDefinition) -> dict[str, str]:
    return {s.id: s.model_dump_json(by_alias=True, exclude_defaults=True) for s in definition.steps}


def diff(a_text: str, b_text: str, a_def: WorkflowDefinition | None, b_def: WorkflowDefinition | None, *,
         a_label: str = "a", b_label: str = "b") -> WorkflowDiff:
    """``a`` -> ``b``. A side whose definition is None (an invalid draft) is compared by its source text, and
    then no steps are listed as added, removed or changed."""
    left = canonical_yaml(a_def) if a_def is not None else a_text
    right = canonical_yaml(b_def) if b_def is not None else b_text
    unified = "".join(difflib.unified_diff(left.splitlines(keepends=True), right.splitlines(keepends=True),
                                           fromfile=a_label, tofile=b_label))
    if unified and not unified.endswith("\n"):
        unified += "\n"
    if a_def is None or b_def is None:  # an invalid side has no steps to compare
        return WorkflowDiff(a=a_label, b=b_label, unified=unified)
    a_steps, b_steps = _steps(a_def), _steps(b_def)
    a_order = list(a_steps)
    b_order = list(b_steps)
    return WorkflowDiff(
        a=a_label, b=b_label, unified=unified,
        added=[s for s in b_order if s not in a_steps],
        removed=[s for s in a_order if s not in b_steps],
        changed=[s for s in a_order if s in b_steps and a_steps[s] != b_steps[s]],
    )
