"""Which *driver* (run / batch / account / acting / letter / email) each measured call, invocation, CPU
millisecond and byte of the local run belongs to, and the per-unit :class:`dunning_ops.costmodel.Profile` built
from that. The rules, by function (logical id):

* AssignFunction: the Scan pages grow with the accounts -> ``account``; manifest PutObjects -> ``batch``;
  the lock, the run record and the configuration reads -> ``run``. CPU of its pool tasks (the segments) ->
  ``account``, of its handler thread -> ``run``.
* EvaluateFunction: everything (manifest read, history write, decisions write) -> ``batch``; CPU -> ``account``.
* CreateContactsFunction: DynamoDB on the contacts and ledger tables (persons, existing contacts, new
  contacts, collection state) -> ``acting``; decisions read, batch result, configuration -> ``batch``;
  CPU -> ``acting``.
* SummarizeRunFunction -> ``run``.
* PrintExtractFunction (the extract's plan): the run's letter states (BatchGetItem, per polling round) and
  queueing left-over letters -> ``letter``; batch results, print-queue query, shard-plan PUTs -> ``run``;
  CPU -> ``letter``.
* PrintExtractShardFunction (one per shard): each letter's PDF, its contact and person reads and the printed
  marks -> ``letter``; the shard plan's GET and the merged files' PUTs -> ``run`` (a few per 5,000 letters);
  CPU -> ``letter``.
* RenderLetterFunction -> ``letter``; SendEmailFunction -> ``email``.
* Invocations: Step Functions tasks -> ``run`` (assign, summarize, print extract) or ``batch`` (evaluate,
  create contacts); stream-driven functions -> ``letter`` / ``email``.

Calls made on the functions' pool threads (Assign's Scan segments and manifest PUTs, the shard's PDF GETs) are
their function's calls, and an invocation's CPU includes its pool tasks' CPU (see ``harness``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from dunning_ops.costmodel import DRIVERS, Assumptions, Profile, Unit, lambda_ms
from tests.benchmarks.harness import Call, Invocation, median

ARCHIVE_BATCH = 1000  # the ArchiveContacts stream mapping's BatchSize (template.yaml)
INVOCATION_DRIVER = {"AssignFunction": "run", "SummarizeRunFunction": "run", "PrintExtractFunction": "run",
                     "PrintExtractShardFunction": "run",
                     "EvaluateFunction": "batch", "CreateContactsFunction": "batch",
                     "RenderLetterFunction": "letter", "SendEmailFunction": "email"}
CPU_DRIVER = {"AssignFunction": "account", "EvaluateFunction": "account", "CreateContactsFunction": "acting",
              "SummarizeRunFunction": "run", "PrintExtractFunction": "letter", "PrintExtractShardFunction": "letter",
              "RenderLetterFunction": "letter", "SendEmailFunction": "email"}


STREAM_FUNCTIONS = ("RenderLetterFunction", "SendEmailFunction")
POOL_SCALED = ("AssignFunction",)  # functions whose per-account work runs on pool threads
STREAM_CONTAINERS = 40  # warm containers per stream function on AWS: 4 shards × ParallelizationFactor 10


def cpu(i: Invocation) -> float:
    """An invocation's CPU as on AWS: without connecting to the local endpoint once per call (moto's server
    closes every connection; botocore on Lambda keeps them alive; see harness.Invocation)."""
    return i.cpu_ms - i.connect_cpu_ms


def _stream_cpu(rounds: Sequence[Any], fn: str, units_in_round: float) -> tuple[float, float]:
    """(CPU ms per unit, CPU ms of warming one container) of a stream function. The local stack keeps one
    warm container per function, so a round's first invocation carries the container's one-off work (fonts
    loaded and prepared, lazy imports): on AWS that happens once per container (STREAM_CONTAINERS of them),
    not once per few hundred letters. The rest of the round's invocations give the cost per record."""
    per_unit, warm = [], []
    for r in rounds:
        invs = sorted((i for i in r.invocations if i.function == fn), key=lambda i: i.started)
        if not invs:
            continue
        total = sum(cpu(i) for i in invs)
        rest = invs[1:]
        rest_records = sum(i.records for i in rest)
        per_record = sum(cpu(i) for i in rest) / rest_records if rest_records else cpu(invs[0]) / max(
            1, invs[0].records)
        first_extra = max(0.0, cpu(invs[0]) - per_record * invs[0].records)
        warm.append(first_extra)
        per_unit.append((total - first_extra) / units_in_round)
    return (median(per_unit) if per_unit else 0.0), (median(warm) if warm else 0.0)


def call_driver(c: Call) -> str:
    f = c.function
    if f == "AssignFunction":
        if c.operation == "Scan":
            return "account"
        return "batch" if c.service == "s3" and c.operation == "PutObject" else "run"
    if f == "EvaluateFunction":
        return "batch"
    if f == "CreateContactsFunction":
        return "acting" if c.service == "dynamodb" and c.resource in ("ContactsTable", "LedgerTable") else "batch"
    if f == "PrintExtractFunction":
        return "letter" if c.operation in ("BatchGetItem", "UpdateItem") else "run"
    if f == "PrintExtractShardFunction":
        if c.service == "s3":
            return "letter" if c.operation == "GetObject" and c.resource == "LettersBucket" else "run"
        return "letter"
    if f == "RenderLetterFunction":
        return "letter"
    if f == "SendEmailFunction":
        return "email"
    return "run"


def driver_counts(rnd: Any) -> dict[str, float]:
    by_action = rnd.summary.get("contacts_by_action", {})
    return {"run": 1.0, "batch": float(rnd.summary.get("batch_count", 1)),
            "account": float(rnd.summary.get("with_open_balance", rnd.accounts)),
            "acting": float(rnd.summary.get("acting_accounts", 0)), "letter": float(by_action.get("letter", 0)),
            "email": float(by_action.get("email", 0))}


def profile(rounds: Sequence[Any], print_attempts: float, assumptions: Assumptions | None = None) -> Profile:
    """Per-unit quantities from the first round's calls (deterministic) and the rounds' median CPU."""
    a = assumptions or Assumptions()
    rnd = rounds[0]
    counts = driver_counts(rnd)
    units: dict[str, Unit] = {d: Unit() for d in DRIVERS}
    calls_acc: dict[str, dict[str, dict[str, float]]] = {d: defaultdict(lambda: defaultdict(float)) for d in DRIVERS}
    for c in rnd.calls:
        d = call_driver(c)
        u = units[d]
        calls_acc[d][c.function][f"{c.service}.{c.operation}"] += 1
        if c.service == "dynamodb":
            # metered like DynamoDB bills: base table by the larger of before/after, plus the index entries
            # each write changed (tests/benchmarks/ddbmeter.py)
            u.wru += c.write_units + c.index_write_units
            u.rru += c.read_units
        elif c.service == "s3":
            if c.operation == "PutObject":
                u.s3_put += 1
                if c.resource == "LettersBucket" and c.function.startswith("PrintExtract"):
                    units["letter"].s3_bytes_print += c.bytes_out  # merged files grow with the letters
                    u.s3_put_print += 1
                elif c.resource == "LettersBucket":
                    u.s3_bytes_letters += c.bytes_out
                else:
                    u.s3_bytes_runs += c.bytes_out
            else:
                u.s3_get += 1
        elif c.service == "sesv2":
            u.ses_emails += 1
    # stored bytes, read from the tables after the run: the run's contacts once delivered (items + index
    # entries) stay for the contacts' retention; its history items for the history's
    units["acting"].ddb_bytes_contacts = float(getattr(rnd, "contacts_stored_bytes", 0))
    units["batch"].ddb_bytes_history = float(getattr(rnd, "history_stored_bytes", 0))
    for d in DRIVERS:
        n = counts[d] or 1.0
        u = units[d]
        u.calls = {fn: {op: v / n for op, v in ops.items()} for fn, ops in calls_acc[d].items()}
        for attr in ("wru", "rru", "s3_put", "s3_get", "s3_bytes_letters", "s3_bytes_print", "s3_put_print",
                     "s3_bytes_runs", "ddb_bytes_history", "ddb_bytes_contacts", "ses_emails"):
            setattr(u, attr, getattr(u, attr) / n)
    # ... and when their retention ends, the archive function writes them to S3, 1,000 per invocation and PUT
    per_acting = float(getattr(rnd, "contacts_archived", 0)) / (counts["acting"] or 1.0)
    acting = units["acting"]
    acting.s3_bytes_archive = float(getattr(rnd, "contacts_archive_bytes", 0)) / (counts["acting"] or 1.0)
    acting.s3_put += per_acting / ARCHIVE_BATCH
    acting.invocations["ArchiveContactsFunction"] = per_acting / ARCHIVE_BATCH
    acting.cpu_ms["ArchiveContactsFunction"] = float(getattr(rnd, "archive_cpu_ms", 0.0)) / (counts["acting"] or 1.0)
    acting.calls.setdefault("ArchiveContactsFunction", {})["s3.PutObject"] = per_acting / ARCHIVE_BATCH
    # invocations, CPU and log bytes: medians over the rounds
    functions = {i.function for r in rounds for i in r.invocations}
    for fn in functions:
        inv_d, cpu_d = INVOCATION_DRIVER.get(fn, "run"), CPU_DRIVER.get(fn, "run")
        invs = [i for i in rnd.invocations if i.function == fn]
        units[inv_d].invocations[fn] = len(invs) / (counts[inv_d] or 1.0)
        if fn in STREAM_FUNCTIONS:
            per_unit, warm = _stream_cpu(rounds, fn, counts[cpu_d] or 1.0)
            units[cpu_d].cpu_ms[fn] = per_unit
            units["run"].cpu_ms[fn] = warm * STREAM_CONTAINERS
        elif fn in POOL_SCALED:
            # the pool tasks (the Scan segments and their manifest PUTs) grow with the accounts; the handler
            # thread's own CPU (import on the first call, configuration, run lock, run record) is once per run
            pool = median([sum(max(0.0, i.pool_cpu_ms - i.connect_cpu_ms) for i in r.invocations
                                if i.function == fn) for r in rounds])
            total = median([sum(cpu(i) for i in r.invocations if i.function == fn) for r in rounds])
            units[cpu_d].cpu_ms[fn] = pool / (counts[cpu_d] or 1.0)
            units["run"].cpu_ms[fn] = max(0.0, total - pool)
        else:
            ms = median([sum(cpu(i) for i in r.invocations if i.function == fn) for r in rounds])
            units[cpu_d].cpu_ms[fn] = ms / (counts[cpu_d] or 1.0)
        units[cpu_d].log_bytes += sum(i.log_bytes for i in invs) / (counts[cpu_d] or 1.0)
    # Step Functions: the parent execution's transitions (print-extract polling at the AWS attempt count), and
    # one Express child per batch on AWS (DISTRIBUTED map), lasting its evaluate + create-contacts time.
    from tests.benchmarks.localrun import transitions

    tr = transitions(rnd.history)
    fixed = tr["parent"] - tr["print_loop"]
    units["run"].sfn_transitions = fixed + 3 * print_attempts - 1
    units["run"].calls.setdefault("Scheduler", {})["states.StartExecution"] = 1.0
    prof = Profile(units=units, memory_mb=dict(rnd.memory_mb), batch_size=template_batch_size(),
                   letters_per_acting=counts["letter"] / (counts["acting"] or 1),
                   emails_per_acting=counts["email"] / (counts["acting"] or 1),
                   source=f"make bench: local stack run over {int(counts['account']):,} accounts")
    child_ms = batch_child_ms(prof, a)
    units["batch"].express_requests = 1.0
    units["batch"].express_seconds = child_ms / 1000
    return prof


def template_batch_size() -> int:
    """The ``BatchSize`` parameter's default in template.yaml (what a deployment uses)."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "template.yaml").read_text(encoding="utf-8")
    m = re.search(r"\n  BatchSize:\n(?:    .*\n)*?    Default: (\d+)", text)
    return int(m.group(1)) if m else 1000


def batch_child_ms(prof: Profile, a: Assumptions, acting_share: float = 0.10) -> float:
    """Modelled AWS duration (ms) of one Map child: evaluate + create contacts for one full batch."""
    n = prof.batch_size
    total = 0.0
    for fn in ("EvaluateFunction", "CreateContactsFunction"):
        mem = prof.memory_mb.get(fn, 512)
        total += lambda_ms(fn, prof.units["batch"], mem, a)
        total += n * lambda_ms(fn, prof.units["account"], mem, a)
        total += n * acting_share * lambda_ms(fn, prof.units["acting"], mem, a)
        total += a.lambda_overhead_ms
    return total


def calls_per_unit(rnd: Any) -> dict[str, Any]:
    """AWS calls per account with no action and per account that gets a letter (see RESULTS.md for the rules)."""
    counts = driver_counts(rnd)
    by_driver: dict[str, list[Call]] = defaultdict(list)
    for c in rnd.calls:
        by_driver[call_driver(c)].append(c)
    inv_by_driver: dict[str, list[Invocation]] = defaultdict(list)
    for i in rnd.invocations:
        inv_by_driver[INVOCATION_DRIVER.get(i.function, "run")].append(i)
    shared_calls = sum(len(by_driver[d]) for d in ("run", "batch", "account"))
    shared_ddb = sum(1 for d in ("run", "batch", "account") for c in by_driver[d] if c.service == "dynamodb")
    shared_inv = sum(len(inv_by_driver[d]) for d in ("run", "batch"))
    accounts = counts["account"] or 1
    letters = counts["letter"] or 1
    acting = counts["acting"] or 1
    letter_accounts = len({c.get("account_id") for c in rnd.contacts if c.get("action") == "letter"
                           and c.get("source") == "run"}) or 1
    per_letter_account = letters / letter_accounts
    shared = (shared_calls + shared_inv + 1) / accounts  # + the scheduler's StartExecution
    acting_calls = len(by_driver["acting"]) / acting
    letter_calls = (len(by_driver["letter"]) + len(inv_by_driver["letter"])) / letters
    return {
        "ddb_per_no_action": shared_ddb / accounts,
        "calls_per_letter_account": shared + acting_calls + letter_calls * per_letter_account,
        "shared_per_account": shared,
        "acting_per_acting_account": acting_calls,
        "letter_per_letter": letter_calls,
        "letters_per_letter_account": per_letter_account,
        "render_batch": median([i.records for i in inv_by_driver["letter"] if i.records]) if letters else 0,
        "counts": counts,
        "by_driver": {d: len(v) for d, v in by_driver.items()},
        "invocations_by_driver": {d: len(v) for d, v in inv_by_driver.items()},
    }
