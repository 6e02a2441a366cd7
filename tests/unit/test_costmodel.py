"""The cost model: prices applied to measured units, the naive design, the CLI."""

from __future__ import annotations

import json

import pytest

from dunning_ops.costmodel import (
    Assumptions,
    Prices,
    Profile,
    Unit,
    cpu_scale,
    describe,
    driver_counts,
    estimate,
    lambda_ms,
    main,
    naive_profile,
    table,
)


def profile() -> Profile:
    return Profile(
        units={
            "run": Unit(invocations={"AssignFunction": 1}, sfn_transitions=10),
            "batch": Unit(invocations={"EvaluateFunction": 1}, s3_put=2, s3_get=2, wru=100, express_requests=1,
                          express_seconds=2.0),
            "account": Unit(cpu_ms={"EvaluateFunction": 0.1}, rru=0.4),
            "acting": Unit(wru=4),
            "letter": Unit(invocations={"RenderLetterFunction": 0.04}, cpu_ms={"RenderLetterFunction": 20},
                           calls={"RenderLetterFunction": {"s3.PutObject": 1}}, s3_put=1, wru=3,
                           s3_bytes_letters=20_000),
            "email": Unit(ses_emails=1),
        },
        memory_mb={"AssignFunction": 2048, "EvaluateFunction": 1024, "RenderLetterFunction": 1024},
        batch_size=1000, letters_per_acting=0.8, emails_per_acting=0.2, source="test")


def line(est, item):
    return next(x for x in est.lines if x.item.startswith(item))


def test_driver_counts_scale_with_accounts_and_acting_share():
    counts = driver_counts(profile(), 1_000_000, 0.1)
    assert counts == {"run": 1, "batch": 1000, "account": 1_000_000, "acting": 100_000, "letter": 80_000,
                      "email": 20_000}


def test_cpu_scale_follows_the_vcpu_share_of_memory():
    a = Assumptions(arm_cpu_factor=1.0)
    assert cpu_scale(1769, a) == 1.0
    assert cpu_scale(4096, a) == 1.0  # one thread cannot use more than one vCPU
    assert cpu_scale(512, a) == pytest.approx(1769 / 512)


def test_lambda_ms_adds_call_latency_to_scaled_cpu():
    a = Assumptions(arm_cpu_factor=1.0)
    unit = profile().units["letter"]
    assert lambda_ms("RenderLetterFunction", unit, 1769, a) == pytest.approx(20 + a.latency_ms["s3.PutObject"])


def test_prices_are_applied_per_unit():
    p = Prices()
    est = estimate(profile(), 1_000_000, 0.1)
    assert line(est, "S3 PUT").quantity == pytest.approx(1000 * 2 + 80_000)
    assert line(est, "S3 PUT").usd == pytest.approx((2000 + 80_000) * p.s3_put_request)
    assert line(est, "DynamoDB writes").quantity == pytest.approx(1000 * 100 + 100_000 * 4 + 80_000 * 3)
    assert line(est, "Step Functions Standard").quantity == 10
    assert line(est, "Lambda requests").quantity == pytest.approx(1 + 1000 + 80_000 * 0.04)


def test_ses_is_listed_apart_and_excluded_from_the_total():
    est = estimate(profile(), 1_000_000, 0.1)
    ses = line(est, "SES")
    assert ses.excluded and ses.quantity == pytest.approx(20_000)
    assert est.excluded == pytest.approx(20_000 * Prices().ses_email)
    assert est.total == pytest.approx(sum(x.usd for x in est.lines if not x.excluded))


def test_naive_design_runs_standard_children_and_stores_nothing_compressed():
    a = Assumptions()
    prof = profile()
    prof.extra.update({"history_raw_bytes_per_decision": 280.0, "history_stored_bytes_per_decision": 20.0,
                       "snapshot_raw_bytes": 2048.0, "snapshot_stored_bytes": 1024.0})
    naive = estimate(naive_profile(prof, a), 1_000_000, 0.1)
    ours = estimate(prof, 1_000_000, 0.1)
    # a Standard child per batch instead of an Express one
    standard = line(naive, "Step Functions Standard").quantity
    assert standard == pytest.approx(10 + 1000 * a.naive_child_transitions_per_batch)
    assert line(naive, "Step Functions Express requests").quantity == 0
    # the same per-batch Lambdas
    assert line(naive, "Lambda requests").quantity == pytest.approx(line(ours, "Lambda requests").quantity)
    # plain JSON history: 280 KB instead of 20 KB per batch -> 273 more WRU per batch; snapshots: 1 KB more,
    # written twice, per contact (0.8 letters + 0.2 emails per acting account)
    extra = 1000 * (274 - 20) + 100_000 * 1.0 * a.naive_snapshot_writes * 1.0
    assert line(naive, "DynamoDB writes").quantity == pytest.approx(line(ours, "DynamoDB writes").quantity + extra)
    assert naive.total > ours.total


def test_one_instance_runs_the_measured_cpu_on_two_vcpus_and_pays_the_same_stores():
    from dunning_ops.costmodel import always_on_usd, instance_estimate

    a = Assumptions()
    box = instance_estimate(profile(), 1_000_000, 0.1)
    cpu_s = (1_000_000 * 0.1 + 80_000 * 20) * a.arm_cpu_factor / 1000
    assert box.cpu_s == pytest.approx(cpu_s)
    assert box.wall_s == pytest.approx(a.instance_start_s + max(cpu_s / a.instance_vcpus, box.io_s))
    ours = estimate(profile(), 1_000_000, 0.1)
    assert line(box.estimate, "DynamoDB writes").usd == pytest.approx(line(ours, "DynamoDB writes").usd)
    assert not [x for x in box.estimate.lines if x.item.startswith(("Lambda", "Step Functions", "X-Ray"))]
    hours = box.wall_s / 3600
    assert line(box.estimate, "EC2 t4g.medium").usd == pytest.approx(hours * Prices().ec2_t4g_medium_hour)
    surplus = cpu_s / 3600 - a.instance_baseline_share * a.instance_vcpus * hours
    assert line(box.estimate, "EC2 T4g unlimited").quantity == pytest.approx(max(0.0, surplus))
    assert always_on_usd(box) > 24 * Prices().ec2_t4g_medium_hour


def test_profile_round_trips_through_json():
    p = profile()
    again = Profile.from_dict(json.loads(json.dumps(p.to_dict())))
    assert estimate(again).total == pytest.approx(estimate(p).total)


def test_table_and_description_name_every_price_and_assumption():
    est = estimate(profile())
    text = table([est, estimate(naive_profile(profile()), design="naive")])
    assert "Total per run (SES excluded)" in text and "naive" in text
    desc = describe(Prices(), Assumptions())
    assert "sfn_standard_transition" in desc and "arm_cpu_factor" in desc and "dynamodb.Scan" in desc


def test_cli(tmp_path, capsys):
    path = tmp_path / "measured.json"
    path.write_text(json.dumps({"profile": profile().to_dict()}))
    assert main(["--measured", str(path), "--accounts", "1000000"]) == 0
    out = capsys.readouterr().out
    assert "Total per run" in out and "Prices" in out
    assert main(["--measured", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["naive"]["total"] > data["batched (this design)"]["total"]
    with pytest.raises(SystemExit):
        main(["--help"])


def test_the_modelled_read_concurrency_of_the_print_extract_is_the_code_s():
    from dunning.app.print_extract import FETCH_WORKERS
    from dunning_ops.costmodel import Assumptions

    assert Assumptions().io_concurrency["PrintExtractShardFunction/s3.GetObject"] == FETCH_WORKERS


def test_overlapping_calls_cost_their_latency_once_per_pool():
    from dunning_ops.costmodel import Assumptions, Unit, lambda_ms

    unit = Unit(calls={"PrintExtractShardFunction": {"s3.GetObject": 16.0}})
    a = Assumptions()
    assert lambda_ms("PrintExtractShardFunction", unit, 2048, a) == a.latency_ms["s3.GetObject"]
    assert lambda_ms("RenderLetterFunction", Unit(calls={"RenderLetterFunction": {"s3.GetObject": 16.0}}), 1024,
                     a) == 16 * a.latency_ms["s3.GetObject"]
