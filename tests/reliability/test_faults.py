"""Guarantee 3 - faults: throttling, 500s and timeouts injected (seeded, botocore event hook) into ~10% of the
AWS calls of the functions (DynamoDB, S3, SES) and of Step Functions' Lambda invokes. The run completes -
through the ASL's Retry and the clients' retries with backoff and jitter - with outputs identical to a
fault-free run. Permanent SES rejections are in test_operations.py."""

from __future__ import annotations

import pytest

from tests.support.harness import differences, shared_scenario
from tests.support.scenarios import faults


def test_given_transient_faults_in_ten_percent_of_aws_calls_then_the_run_completes(faulty_run):
    f = faulty_run["faults"]
    assert f["faults_injected"] >= 20, f
    kinds = {k.split(":")[1] for k in f["by_kind"]}
    services = {k.split(":")[0] for k in f["by_kind"]}
    assert kinds == {"throttle", "5xx", "timeout"}, f["by_kind"]
    assert services == {"dynamodb", "s3", "sesv2", "lambda"}, f["by_kind"]
    assert faulty_run["run"]["status"] == "SUCCEEDED", faulty_run["run"]
    assert faulty_run["dlq_depth"] == 0 and faulty_run["events_queue_depth"] == 0
    assert faulty_run["stream_failures"] == 0


def test_given_transient_faults_then_outputs_are_identical_to_a_fault_free_run(clean_run, faulty_run):
    assert differences(clean_run["snapshot"], faulty_run["snapshot"]) == {}
    assert faulty_run["snapshot"]["rejected"] == []
    assert sorted(faulty_run["printed"]) == sorted(clean_run["printed"])


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_given_other_seeds_and_twenty_percent_faults_then_outputs_are_still_identical(clean_run, seed,
                                                                                       tmp_path_factory):
    run = shared_scenario(tmp_path_factory, f"faults-{seed}", lambda: faults(seed=seed, rate=0.20))
    assert run["faults"]["faults_injected"] >= 40, run["faults"]
    assert run["run"]["status"] == "SUCCEEDED"
    assert differences(clean_run["snapshot"], run["snapshot"]) == {}
