"""Assign fanned out over the ledger's Scan segments (begin -> one invocation per segment -> manifest): the same
manifest as one invocation, dense deterministic batch numbers, and a retried segment that rewrites only its own
files."""

from __future__ import annotations

from datetime import datetime

import pytest

from dunning.app.assign import (
    MAX_SEGMENTS,
    ManifestInput,
    SegmentInput,
    assign_segment,
    begin_run,
    finish_manifest,
    segments_for,
    start_run,
)
from dunning.app.run_models import StartRunInput, batch_key
from dunning.errors import RunAlreadyActive
from dunning_ops.local.demo_data import DEMO_AS_OF
from tests.unit.core.fakes import FakeLedger
from tests.unit.core.test_run_pipeline import ACCOUNTS, ITEMS, PERSONS, deps_for


class SizedLedger(FakeLedger):
    """A ledger that reports its size, as DescribeTable's ItemCount does."""

    def __init__(self, items_count: int) -> None:
        super().__init__({a: ITEMS[a] for a in ACCOUNTS}, PERSONS)
        self.items_count = items_count

    def approximate_item_count(self) -> int:
        return self.items_count


def fan_out(deps, batch_size: int, segments: int, execution: str = "exec-1"):
    plan = begin_run(StartRunInput(as_of=DEMO_AS_OF, execution_id=execution), deps.assign, segments=segments,
                     scan_segments=2)
    results = [assign_segment(SegmentInput(run_id=plan.run_id, as_of=plan.as_of, manifest_prefix=plan.manifest_prefix,
                                           segment=s, total_segments=plan.total_segments,
                                           scan_segments=plan.scan_segments), deps.assign, batch_size)
               for s in plan.segments]
    manifest = finish_manifest(ManifestInput(run_id=plan.run_id, as_of=plan.as_of,
                                             manifest_prefix=plan.manifest_prefix, started_at=plan.started_at,
                                             segments=results), deps.assign)
    return plan, results, manifest


def manifest_accounts(deps, manifest) -> list[str]:
    return [row["account_id"] for b in manifest.batches
            for row in deps.blobs.get_json(batch_key(manifest.manifest_prefix, b))]


@pytest.mark.parametrize(("items", "expected"), [(0, 1), (1, 1), (2_000_000, 1), (2_000_001, 2),
                                                 (85_000_000, 43), (10**12, MAX_SEGMENTS)])
def test_the_fan_out_is_one_invocation_per_segment_items_of_the_ledger(items, expected):
    assert segments_for(items, 2_000_000) == expected


def test_begin_sizes_the_fan_out_from_the_ledger_and_bounds_its_concurrency():
    deps = deps_for(ACCOUNTS)
    deps.ledger = SizedLedger(items_count=25)
    plan = begin_run(StartRunInput(as_of=DEMO_AS_OF), deps.assign, segment_items=10, concurrency=2)
    assert plan.segments == [0, 1, 2] and plan.total_segments == 3 * plan.scan_segments
    assert plan.ledger_items == 25 and plan.max_concurrency == 2 and plan.batch_count == 0
    assert deps.runs.get_run(plan.run_id)["status"] == "RUNNING"


def test_segments_write_dense_batches_holding_every_account_once_as_one_invocation_does():
    fanned, single = deps_for(ACCOUNTS), deps_for(ACCOUNTS)
    _, results, manifest = fan_out(fanned, batch_size=4, segments=3)
    whole = start_run(StartRunInput(as_of=DEMO_AS_OF), single.assign, 4)
    assert manifest.batches == list(range(manifest.batch_count))  # dense: what the summary counts
    accounts = manifest_accounts(fanned, manifest)
    assert sorted(accounts) == sorted(manifest_accounts(single, whole)) and len(set(accounts)) == len(accounts)
    assert manifest.accounts == whole.accounts == sum(r.accounts for r in results) == len(accounts)
    assert manifest.accounts_scanned == whole.accounts_scanned == len(ACCOUNTS)
    # batch j of invocation s (of 3) is j * 3 + s; the numbers a shorter invocation left are empty batches
    for r in results:
        assert [b % 3 for b in r.batches] == [r.segment] * len(r.batches)
        assert sorted(b // 3 for b in r.batches) == list(range(len(r.batches)))
    empty = set(manifest.batches) - {b for r in results for b in r.batches}
    assert len(empty) <= 2
    assert all(fanned.blobs.get_json(batch_key(manifest.manifest_prefix, b)) == [] for b in empty)
    # one invocation numbers its batches 0 .. k-1: no empty batch
    assert whole.batches == list(range(whole.batch_count)) and all(
        single.blobs.get_json(batch_key(whole.manifest_prefix, b)) for b in whole.batches)
    record = fanned.runs.get_run(manifest.run_id)
    assert record["batch_count"] == manifest.batch_count and record["assign_segments"] == 3


def test_a_retried_segment_rewrites_the_same_files_and_the_same_execution_is_the_same_run():
    deps = deps_for(ACCOUNTS)
    plan, results, _ = fan_out(deps, batch_size=4, segments=3)
    before = dict(deps.blobs.objects)
    again = assign_segment(SegmentInput(run_id=plan.run_id, as_of=plan.as_of, manifest_prefix=plan.manifest_prefix,
                                        segment=1, total_segments=plan.total_segments, scan_segments=2),
                           deps.assign, 4)
    assert again == results[1]  # the same batch numbers and counts
    assert set(deps.blobs.objects) == set(before)  # no new file

    def rows(objects, r):
        return sorted(a for b in r.batches for a in objects[batch_key(plan.manifest_prefix, b)].decode().split("{"))

    assert rows(deps.blobs.objects, again) == rows(before, results[1])  # the same accounts in its files
    # another execution for the same day finds the lock taken
    with pytest.raises(RunAlreadyActive):
        begin_run(StartRunInput(as_of=DEMO_AS_OF, execution_id="exec-2"), deps.assign, segments=1)


def test_a_segment_outside_the_plan_is_refused():
    deps = deps_for(ACCOUNTS)
    plan = begin_run(StartRunInput(as_of=DEMO_AS_OF), deps.assign, segments=2, scan_segments=2)
    with pytest.raises(ValueError, match="outside"):
        assign_segment(SegmentInput(run_id=plan.run_id, as_of=plan.as_of, manifest_prefix=plan.manifest_prefix,
                                    segment=2, total_segments=4, scan_segments=2), deps.assign, 4)


def test_the_manifest_of_a_run_without_accounts_is_empty():
    deps = deps_for([])
    plan = begin_run(StartRunInput(as_of=DEMO_AS_OF), deps.assign, segments=2)
    manifest = finish_manifest(ManifestInput(run_id=plan.run_id, as_of=plan.as_of,
                                             manifest_prefix=plan.manifest_prefix,
                                             started_at=datetime.fromisoformat("2026-11-16T05:00:00+00:00"),
                                             segments=[]), deps.assign)
    assert manifest.batches == [] and manifest.batch_count == 0


def test_the_fan_out_states_read_what_the_assign_steps_return():
    from dunning.app.assign import AssignResult, RunPlan, SegmentResult
    from tests.unit.core.test_step_results import STATES, _paths, fields

    # the plan feeds the segment Map's items and the manifest step; the failure path's summary reads batch_count
    scan = STATES["ScanSegments"]
    read = {scan["ItemsPath"][2:], scan["MaxConcurrencyPath"][2:]} | _paths(scan["ItemSelector"], "$.")
    assert read <= fields(RunPlan)
    assert {k.removesuffix(".$") for k in scan["ItemSelector"]} <= fields(SegmentInput)
    assert _paths(STATES["AssignSegment"]["ResultSelector"], "$.Payload.") == fields(SegmentResult)
    manifest = STATES["AssignManifest"]["Parameters"]["Payload"]
    assert {k.removesuffix(".$") for k in manifest} <= fields(ManifestInput)
    assert _paths(manifest, "$.") - {"segment_results"} <= fields(RunPlan)
    assert _paths(STATES["SummarizeFailed"]["Parameters"], "$.") - {"error"} <= fields(RunPlan) & fields(AssignResult)


def test_the_print_loop_carries_every_field_of_a_round_into_the_next():
    from dunning.app.print_extract import ExtractPlan, PrintExtractInput
    from tests.unit.core.test_step_results import STATES, _paths, fields

    payload = STATES["PrintExtract"]["Parameters"]["Payload"]
    carried = _paths(payload, "$.print.")
    assert carried <= fields(ExtractPlan) and carried <= fields(PrintExtractInput)
    assert carried == fields(PrintExtractInput) - {"run_id", "as_of", "action"}
    assert set(STATES["StartPrintExtract"]["Result"]) == carried
