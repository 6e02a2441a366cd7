"""The print extract: rendered letters waiting to be printed, in shards of at most ``shard_size`` letters of one
language, each merged into one PDF with its CSV manifest for the print vendor under ``print/{as_of}/{run}/`` in
the letters bucket (``{language}-{shard:03d}.pdf`` / ``.csv``); the letters are then marked printed.

Which letters: a collections run's own printed letters (``Contact.print_run``), found through the run's batch
results (``letter_ids``) - no index - plus every letter in the sparse ``print_queue`` index (letters from users,
events, rules and plug-ins, email fallbacks, reprints, and run letters an extract could not take).

A run's extract is built while its letters render, part by part (``infra/statemachines/collections_run.asl.json``):

* the run's letters, in batch order, are cut into *parts* of about ``part_shards * shard_size`` letters (whole
  batches); the stream renders in about that order, so the parts become ready one after the other;
* :func:`extract_when_ready` (PrintExtractFunction), one round of the state machine's loop: plans every part
  whose letters are no longer pending (BatchGetItem with a projection, 100 ids a call, re-reading only what was
  pending), in shards of one language each, numbered on from the shards of earlier rounds; each shard's
  contact ids are written to the runs bucket, and the state machine carries only their keys. The last part
  also takes the print queue. The loop is bounded: after ``max_attempts`` rounds (derived from the run's
  letter count, :func:`attempt_cap`) it plans what is rendered and queues the rest for the next extract;
* :func:`build_planned_shard` (PrintExtractShardFunction), one per shard in a Map: reads the shard's contacts,
  fetches their PDFs concurrently, merges them, writes the files and marks the letters printed (whole-item
  puts, 25 a call), each with its place in the merged PDF (``print_file``, ``print_first_page``): after
  ``LetterRetentionDays`` the letter is cut out of that file (:mod:`dunning.app.letter_retrieval`).

:func:`run_print_extract` plans and builds in one process (``dunning letters extract``).
"""

from __future__ import annotations

import base64
import contextvars
import itertools
import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dunning.app.letter_delivery import RECIPIENT_METADATA
from dunning.models.common import Address
from dunning.models.contacts import Contact, StatusChange
from dunning.observability import logger
from dunning.store.blobs import BlobStore
from dunning.store.contacts import ContactStore
from dunning.store.runs import RunStore

SHARD_SIZE = 5000  # letters per shard (Settings.print_extract_shard_size; the template's PrintExtractShardSize)
PART_SHARDS = 4  # a part of the run's letters (planned once all are rendered) holds about this many shards
MIN_LETTERS_PER_SECOND = 20.0  # the slowest rendering the attempt cap still waits for (the stream's, projected:
# ~290 letters/s at 10M accounts; tests/benchmarks item 9)
MAX_ROUNDS = 1000  # the loop's hard cap whatever the letter count: ~11 history events a round (25,000 a run)
FETCH_WORKERS = 16  # concurrent S3 GETs of one shard: the GET latency, not the merge, dominates
POLL_CHUNK = 100  # letters whose status one polling read re-checks (one BatchGetItem)
QUEUE_WORKERS = 16  # concurrent UpdateItems when a run's letters go to the print queue (failure paths only)


@dataclass
class ExtractDeps:
    contacts: ContactStore
    letters: BlobStore | None = None  # letter PDFs in, print files out (building shards; planning reads none)
    runs: RunStore | None = None  # the runs' batch results: which letters a run made
    plans: BlobStore | None = None  # the runs bucket: shard plans of a run's extract


@dataclass(frozen=True)
class Shard:
    language: str
    number: int
    contact_ids: tuple[str, ...]


@dataclass(frozen=True)
class ExtractOptions:
    max_attempts: int = 30
    wait_seconds: int = 60
    poll_for: float = 0.0
    shard_size: int = SHARD_SIZE
    concurrency: int = 6  # shards built at once (the Map's MaxConcurrencyPath)
    part_shards: int = PART_SHARDS


class PrintExtractInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    run_id: str
    as_of: date
    attempt: int = 0
    # "requeue": the run failed (or its extract did): its unprinted letters go to the print queue
    action: Literal["extract", "requeue"] = "extract"
    # carried from round to round by the state machine (the previous round's ExtractPlan)
    parts_done: int = Field(default=0, ge=0)
    next_shard: dict[str, int] = Field(default_factory=dict)  # per language: the next shard number
    letters_total: int = 0
    shards_total: int = 0
    max_attempts: int = Field(default=0, ge=0)  # fixed by the first round (attempt_cap); 0: not yet
    parts: int = Field(default=0, ge=0)  # cut by the first round


class ShardInput(BaseModel):
    """One item of the state machine's Map over the shard plan (a few hundred bytes, whatever the shard size)."""

    model_config = ConfigDict(extra="ignore")

    run_id: str
    as_of: date
    prefix: str = Field(pattern=r"^print/")
    key: str  # the shard's contact ids, a JSON list in the runs bucket
    language: str
    shard: int = Field(ge=0)
    letters: int = 0


# ---------------------------------------------------------------------------------------------- results
class ShardResult(BaseModel):
    """One built shard (the Map's BuildShard result): its letters and files."""

    language: str
    shard: int
    letters: int
    files: list[str]


class ShardRef(BaseModel):
    """One planned shard as the state machine carries it: where its contact ids are, and how many."""

    key: str
    language: str
    shard: int
    letters: int


class ExtractPlan(BaseModel):
    """One round of the PrintExtract loop: the shards planned this round (``letters`` in them, built by the
    state machine's Map), and whether every part is planned now (``ready``: the extract is finished once these
    shards are built) or the loop goes on."""

    ready: bool
    letters: int
    prefix: str | None
    shards: list[ShardRef]
    attempt: int
    pending_letters: int  # still pending in the first part not planned (as far as read); last round: queued
    wait_seconds: int
    max_concurrency: int
    parts: int = 0
    parts_done: int = 0
    next_shard: dict[str, int] = Field(default_factory=dict)
    letters_total: int = 0  # planned over all rounds so far
    shards_total: int = 0
    max_attempts: int = 0


class RequeueResult(BaseModel):
    """The failure paths: how many of the run's unprinted letters went to the print queue."""

    queued: int


class PrintExtractResult(BaseModel):
    """An extract planned and built in one process (``dunning letters extract``)."""

    letters: int
    files: list[str]
    prefix: str | None
    shards: int


# ---------------------------------------------------------------------------------------------- naming
def extract_prefix(as_of: date, run_id: str | None, now: datetime) -> str:
    return f"print/{as_of.isoformat()}/{run_id or 'manual-' + now.strftime('%Y%m%dT%H%M%S')}/"


def plan_key(as_of: date, run_id: str, language: str, shard: int) -> str:
    from dunning.letters.extract import shard_stem

    return f"runs/{as_of.isoformat()}/{run_id}/print-plan/{shard_stem(language, shard)}.json"


# ---------------------------------------------------------------------------------------------- planning
def run_letter_ids(runs: RunStore | None, run_id: str | None) -> list[str]:
    """The printed letters a run created or found already created, from its batch results (in batch order)."""
    if runs is None or not run_id:
        return []
    return list(dict.fromkeys(i for r in runs.batch_results(run_id) for i in r.get("letter_ids", [])))


def plan_shards(states: Iterable[dict[str, Any]], shard_size: int) -> list[Shard]:
    """Rendered letters (``contact_id``, ``status``, ``language``, ``created_at``), per language in sorted order,
    oldest first, cut into shards of at most ``shard_size``. A letter listed twice is planned once."""
    if shard_size < 1:
        raise ValueError("shard_size must be at least 1")
    unique = {s["contact_id"]: s for s in states if s.get("status") == "rendered"}

    def language(s: dict[str, Any]) -> str:
        return str(s.get("language") or "en")

    ordered = sorted(unique.values(), key=lambda s: (language(s), str(s.get("created_at", "")), s["contact_id"]))
    shards: list[Shard] = []
    for lang, group in itertools.groupby(ordered, key=language):
        ids = [s["contact_id"] for s in group]
        shards.extend(Shard(lang, n, tuple(ids[start : start + shard_size]))
                      for n, start in enumerate(range(0, len(ids), shard_size)))
    return shards


def plan_extract(deps: ExtractDeps, run_letters: Sequence[dict[str, Any]], shard_size: int) -> list[Shard]:
    """The shards of an extract: the run's rendered letters (their states already read) plus the rendered
    letters in the print queue."""
    known = {s["contact_id"] for s in run_letters}
    queued = [i for i in deps.contacts.print_queue_ids() if i not in known]
    return plan_shards([*run_letters, *deps.contacts.letter_states(queued)], shard_size)


# ---------------------------------------------------------------------------------------------- building
def fetch_pdfs(blobs: BlobStore, keys: Sequence[str], workers: int = FETCH_WORKERS
               ) -> list[tuple[bytes, dict[str, str]]]:
    """The objects' bytes and metadata in the order given, ``workers`` GETs at a time (boto3 clients are
    thread-safe). Each GET runs in a copy of the caller's context, so tracing and call attribution follow the
    handler."""
    if workers <= 1 or len(keys) <= 1:
        return [blobs.get_with_metadata(k) for k in keys]
    with ThreadPoolExecutor(max_workers=min(workers, len(keys))) as pool:
        futures = [pool.submit(contextvars.copy_context().run, blobs.get_with_metadata, k) for k in keys]
        return [f.result() for f in futures]


def recipient_of(contact: Contact, metadata: dict[str, str]) -> tuple[str, list[str]]:
    """The addressee of a letter as its address window shows it: from its PDF's metadata (every letter this
    version renders has it); else the contact's snapshot, if it still has one; else unknown (blank columns in
    the manifest - the PDF itself is what gets mailed)."""
    if RECIPIENT_METADATA in metadata:
        name, *lines = json.loads(base64.urlsafe_b64decode(metadata[RECIPIENT_METADATA]))
        return str(name), [str(line) for line in lines]
    snap = contact.snapshot_data()
    person = snap.get("person") if snap else None
    if not person:
        return "", []
    return person.get("name", ""), Address.model_validate(person.get("address") or {}).as_lines()


def build_shard(deps: ExtractDeps, *, contact_ids: Sequence[str], language: str, shard: int, prefix: str,
                now: datetime | None = None, workers: int = FETCH_WORKERS) -> ShardResult:
    """Merge one shard's letters into its PDF and manifest under ``prefix`` and mark them printed.

    Only letters still ``rendered`` are taken, plus the ones this same extract already marked printed: a
    retried shard writes the same files again and marks nothing twice."""
    from dunning.letters.extract import PrintItem, build_shard_extract

    if deps.letters is None:
        raise ValueError("building a shard needs the letters bucket (ExtractDeps.letters)")
    letters_bucket = deps.letters
    now = now or datetime.now(UTC)
    reason = f"print extract {prefix}"
    found = {c.contact_id: c for c in deps.contacts.get_many(list(contact_ids))}
    letters = [c for c in (found.get(i) for i in contact_ids) if c is not None and (
        c.status == "rendered" or (c.status == "printed" and c.history and c.history[-1].reason == reason))]
    if not letters:
        return ShardResult(language=language, shard=shard, letters=0, files=[])
    fetched = fetch_pdfs(letters_bucket, [c.s3_key or "" for c in letters], workers)
    items = []
    for c, (pdf, meta) in zip(letters, fetched, strict=True):
        name, lines = recipient_of(c, meta)
        items.append(PrintItem(contact_id=c.contact_id, language=c.language, template_code=c.template_code or "",
                               recipient_name=name, address_lines=lines, pdf=pdf, pages=c.pages or 0))
    built = build_shard_extract(items, language, shard)
    files = built.files
    for f in files:
        letters_bucket.put_bytes(prefix + f.name, f.content, f.content_type)
    change = StatusChange(status="printed", at=now, reason=reason)
    # each letter's place in the merged PDF, from the merge itself (the manifest's first_page and pages): the
    # print file is the letter's long-term record once its own PDF expires (dunning.app.letter_retrieval)
    placed = {p.contact_id: p for p in built.placements}
    printed = [c.model_copy(update={
        "status": "printed", "printed_at": now, "history": [*c.history, change], "print_file": prefix + built.pdf_name,
        "print_first_page": placed[c.contact_id].first_page,
        "print_pages": None if placed[c.contact_id].pages == c.pages else placed[c.contact_id].pages})
        for c in letters if c.status == "rendered"]
    deps.contacts.mark_printed(printed)
    logger.info("print extract shard written", extra={"letters": len(items), "newly_printed": len(printed),
                                                      "prefix": prefix, "language": language, "shard": shard})
    return ShardResult(language=language, shard=shard, letters=len(items), files=[prefix + f.name for f in files])


def build_planned_shard(payload: ShardInput, deps: ExtractDeps, workers: int = FETCH_WORKERS) -> ShardResult:
    """One Map iteration of a run's extract: the shard's ids from its plan in the runs bucket, then the shard."""
    if deps.plans is None:
        raise ValueError("building a planned shard needs the runs bucket (ExtractDeps.plans)")
    ids = deps.plans.get_json(payload.key)
    return build_shard(deps, contact_ids=ids, language=payload.language, shard=payload.shard,
                       prefix=payload.prefix, workers=workers)


def run_print_extract(deps: ExtractDeps, *, as_of: date, run_id: str | None = None,
                      now: datetime | None = None, progress: Callable[[str], None] | None = None,
                      shard_size: int = SHARD_SIZE, workers: int = FETCH_WORKERS) -> PrintExtractResult:
    """Plan and build an extract in this process: the print queue (and, given a run, that run's rendered
    letters). Safe to repeat: printed letters are not taken again."""
    now = now or datetime.now(UTC)
    run_letters = deps.contacts.letter_states(run_letter_ids(deps.runs, run_id))
    shards = plan_extract(deps, run_letters, shard_size)
    if not shards:
        return PrintExtractResult(letters=0, files=[], prefix=None, shards=0)
    prefix = extract_prefix(as_of, run_id, now)
    letters, files = 0, []
    for s in shards:
        result = build_shard(deps, contact_ids=s.contact_ids, language=s.language, shard=s.number, prefix=prefix,
                             now=now, workers=workers)
        letters += result.letters
        files += result.files
        if progress:
            progress(f"  {s.language} shard {s.number}: {result.letters} letters")
    logger.info("print extract written", extra={"letters": letters, "files": len(files), "prefix": prefix})
    return PrintExtractResult(letters=letters, files=files, prefix=prefix, shards=len(shards))


# ---------------------------------------------------------------------------------------------- the run's step
def print_extract_step(payload: PrintExtractInput, deps: ExtractDeps, options: ExtractOptions,
                       sleep: Callable[[float], None] = time.sleep) -> ExtractPlan | RequeueResult:
    """The PrintExtract task of the collections run: wait and plan, or (failure paths) requeue."""
    if payload.action == "requeue":
        return RequeueResult(queued=requeue_unprinted(deps, payload.run_id))
    return extract_when_ready(payload, deps, options, sleep)


def part_key(as_of: date, run_id: str, part: int) -> str:
    """A part's letter ids (a JSON list) in the runs bucket, written by the extract's first round."""
    return f"runs/{as_of.isoformat()}/{run_id}/print-plan/parts/{part:04d}.json"


class _Parts:
    """The run's parts, each read from the runs bucket when first needed."""

    def __init__(self, count: int, read: Callable[[int], list[str]]) -> None:
        self.count, self.read = count, read

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, k: int) -> list[str]:
        return self.read(k)


def letter_parts(results: Iterable[dict[str, Any]], part_letters: int) -> list[list[str]]:
    """The run's letters from its batch results (in batch order, each once), cut at batch boundaries into parts
    of at least ``part_letters`` letters (the last may be smaller)."""
    parts: list[list[str]] = [[]]
    seen: set[str] = set()
    for r in results:
        if len(parts[-1]) >= part_letters:
            parts.append([])
        for i in r.get("letter_ids", []):
            if i not in seen:
                seen.add(i)
                parts[-1].append(i)
    return [p for p in parts if p]


def attempt_cap(letters: int, parts: int, options: ExtractOptions) -> int:
    """How many rounds the loop waits for the run's letters: enough for the stream to render them at
    MIN_LETTERS_PER_SECOND, one wait per round, plus a round per part; never fewer than ``max_attempts`` and
    never more than MAX_ROUNDS (the execution history's limit)."""
    waits = math.ceil(letters / (MIN_LETTERS_PER_SECOND * max(options.wait_seconds, 1)))
    return max(1, min(MAX_ROUNDS, max(options.max_attempts, parts + waits)))


def extract_when_ready(payload: PrintExtractInput, deps: ExtractDeps, options: ExtractOptions,
                       sleep: Callable[[float], None] = time.sleep) -> ExtractPlan:
    """One round of the run's extract: plan every next part whose letters are rendered (the stream renders
    them), re-checking every ``wait_seconds`` for up to ``poll_for`` seconds until one is. The last part also
    takes the print queue. On the last round (``max_attempts``) every remaining part is planned with what is
    rendered and the rest goes to the print queue, for the next extract."""
    if deps.plans is None:
        raise ValueError("a run's extract needs the runs bucket for its shard plan (ExtractDeps.plans)")
    plans = deps.plans
    if payload.attempt == 0 or not payload.parts:  # the first round cuts the run's letters into parts (a file each)
        results = deps.runs.batch_results(payload.run_id) if deps.runs is not None else []
        cut = letter_parts(results, options.part_shards * options.shard_size)
        for k, ids in enumerate(cut):
            plans.put_json(part_key(payload.as_of, payload.run_id, k), ids)
        known: dict[int, list[str]] = dict(enumerate(cut))
        count = len(cut)
    else:
        known, count = {}, payload.parts

    def part(k: int) -> list[str]:
        if k not in known:
            known[k] = list(plans.get_json(part_key(payload.as_of, payload.run_id, k)))
        return known[k]

    parts = _Parts(count, part)
    attempt = payload.attempt + 1
    cap = payload.max_attempts or attempt_cap(sum(len(p) for p in known.values()), count, options)
    last = attempt >= cap
    deadline = time.monotonic() + options.poll_for
    done = payload.parts_done
    ready_states: list[dict[str, Any]] = []
    states: dict[str, dict[str, Any]] = {}
    pending: list[str] = parts[done] if done < len(parts) else []
    while done < len(parts):
        if last:  # the last round takes every part as it is: read all of it
            states.update((s["contact_id"], s) for s in deps.contacts.letter_states(pending))
            pending = []
        else:
            pending = still_pending(deps.contacts, pending, states)
        if pending:
            if ready_states or time.monotonic() + options.wait_seconds >= deadline:
                break
            sleep(options.wait_seconds)
            continue
        ready_states.extend(states[i] for i in parts[done] if i in states)
        done += 1
        states = {}
        pending = parts[done] if done < len(parts) else []
    finished = done == len(parts)
    unrendered = [s["contact_id"] for s in ready_states if s.get("status") == "pending"]
    if unrendered:
        queued = queue_for_print(deps.contacts, unrendered)
        logger.warning("letters not rendered in time go to the print queue", extra={"letters": queued})
    if finished:  # the last part takes the print queue: letters from users, events, reprints, earlier runs
        mine = {i for k in range(len(parts)) for i in parts[k]}
        queue = [i for i in deps.contacts.print_queue_ids() if i not in mine]
        ready_states.extend(deps.contacts.letter_states(queue) if queue else [])
    prefix = extract_prefix(payload.as_of, payload.run_id, datetime.now(UTC))
    next_shard = dict(payload.next_shard)
    refs: list[ShardRef] = []
    for s in plan_shards(ready_states, options.shard_size):
        number = payload.next_shard.get(s.language, 0) + s.number  # numbered on from the earlier rounds' shards
        key = plan_key(payload.as_of, payload.run_id, s.language, number)
        deps.plans.put_json(key, list(s.contact_ids))
        refs.append(ShardRef(key=key, language=s.language, shard=number, letters=len(s.contact_ids)))
        next_shard[s.language] = max(next_shard.get(s.language, 0), number + 1)
    letters = sum(r.letters for r in refs)
    logger.info("print extract planned", extra={"shards": len(refs), "letters": letters, "parts_done": done,
                                                "parts": len(parts), "attempt": attempt})
    return ExtractPlan(ready=finished, letters=letters, prefix=prefix, shards=refs, attempt=attempt,
                       pending_letters=len(unrendered) if finished else len(pending), wait_seconds=options.wait_seconds,
                       max_concurrency=options.concurrency, parts=len(parts), parts_done=done,
                       next_shard=next_shard, letters_total=payload.letters_total + letters,
                       shards_total=payload.shards_total + len(refs), max_attempts=cap)


def still_pending(contacts: ContactStore, pending: list[str], states: dict[str, dict[str, Any]],
                  chunk: int = POLL_CHUNK) -> list[str]:
    """Re-read pending letters in the order they were created, ``chunk`` at a time (one BatchGetItem), and stop
    at the first chunk that still has one pending: the stream renders in about that order, so a poll reads the
    letters rendered since the last one plus one chunk, not every pending letter again. The run is ready only
    after a pass that reached the end."""
    for start in range(0, len(pending), chunk):
        part = pending[start : start + chunk]
        states.update((s["contact_id"], s) for s in contacts.letter_states(part))
        left = [i for i in part if states[i].get("status") == "pending"]
        if left:
            return left + pending[start + chunk :]
    return []


def queue_for_print(contacts: ContactStore, ids: Sequence[str], workers: int = QUEUE_WORKERS) -> int:
    """Put letters in the print queue, ``workers`` UpdateItems at a time."""
    chunks = [ids[i : i + 100] for i in range(0, len(ids), 100)]
    if len(chunks) <= 1:
        return contacts.queue_for_print(ids)
    with ThreadPoolExecutor(max_workers=min(workers, len(chunks))) as pool:
        futures = [pool.submit(contextvars.copy_context().run, contacts.queue_for_print, c) for c in chunks]
        return sum(f.result() for f in futures)


def requeue_unprinted(deps: ExtractDeps, run_id: str) -> int:
    """A failed run, or a failed extract: the run's letters not printed yet (pending or rendered) go to the
    print queue, so the next extract takes them."""
    ids = run_letter_ids(deps.runs, run_id)
    left = [s["contact_id"] for s in deps.contacts.letter_states(ids) if s.get("status") in ("pending", "rendered")]
    queued = queue_for_print(deps.contacts, left) if left else 0
    logger.info("run letters queued for the next print extract", extra={"letters": queued})
    return queued


def extract_files(print_result: dict[str, Any]) -> list[str]:
    """The files of an extract: a manual extract lists them itself; a run's lists them per built shard
    (``print.extracted`` of the run's output)."""
    if print_result.get("files"):
        return list(print_result["files"])
    return [f for shard in print_result.get("extracted") or [] for f in shard.get("files", [])]
