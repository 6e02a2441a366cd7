"""The interactions benchmark's storage stand-in and data (``test_13_interactions``).

:class:`MemoryDynamo` is an in-memory DynamoDB table engine for the few operations and expressions the
interactions store uses (anything else raises): GetItem, PutItem, UpdateItem (SET / ADD / REMOVE / DELETE),
DeleteItem, TransactWriteItems (all conditions checked before anything is written, as DynamoDB does),
BatchWriteItem and Query on the base table (key conditions ``=``, ``begins_with``, ``BETWEEN``; pages cut at
1 MB of item size as DynamoDB counts it, ``Limit``, ``ExclusiveStartKey``). It speaks AttributeValues, so the
store's code runs unchanged. Every call is logged (operation, partition key read, items and bytes returned) and
the engine's own time is kept apart (:attr:`MemoryDynamo.server_s`).

Two ways in (:func:`installed`):

* ``"python"``: a client object whose methods call the engine directly (no botocore): the fast path used to
  load data through the real use cases;
* ``"wire"``: a real boto3 client whose HTTP send is answered by the engine (a ``before-send`` handler, as
  moto's in-process mock does), so request serialisation, signing and botocore's response parsing are the real
  client work and only DynamoDB's service time and the network are replaced.

Only ``dynamodb`` is replaced; every other service (S3 for attachments) keeps the process's client.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import dunning.aws
from tests.benchmarks.ddbmeter import item_size

PAGE_BYTES = 1024 * 1024  # a Query returns at most 1 MB of items per page


class DynamoError(Exception):
    def __init__(self, code: str, message: str, reasons: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.reasons = code, message, reasons


@dataclass
class Read:
    """One read call as the engine served it."""

    operation: str
    table: str
    partition: str
    items: int
    bytes: int


def _num(av: dict[str, Any]) -> Decimal:
    return Decimal(av["N"])


def _same(a: dict[str, Any] | None, b: dict[str, Any]) -> bool:
    if a is None:
        return False
    if "N" in a and "N" in b:
        return _num(a) == _num(b)
    return a == b


def _compare(a: dict[str, Any] | None, b: dict[str, Any], op: str) -> bool:
    if a is None:
        return False
    if op == "=":
        return _same(a, b)
    if op == "<>":
        return not _same(a, b)
    x, y = (_num(a), _num(b)) if "N" in a and "N" in b else (a.get("S"), b.get("S"))
    if x is None or y is None:
        return False
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]  # type: ignore[operator]


_TERM = re.compile(r"^(?:(attribute_exists|attribute_not_exists)\((\S+)\)|(\S+) (=|<>|<=|>=|<|>) (:\w+))$")


@functools.lru_cache(maxsize=256)
def _condition_terms(condition: str) -> tuple[tuple[str | None, ...], ...]:
    out = []
    for term in condition.split(" AND "):
        m = _TERM.match(term.strip())
        if not m:
            raise NotImplementedError(f"condition {term!r}")
        out.append(m.groups())
    return tuple(out)


@functools.lru_cache(maxsize=256)
def _update_clauses(expr: str) -> tuple[tuple[str, str, str], ...]:
    """(keyword, path, value placeholder or '') of each clause of an update expression."""
    out = []
    parts = re.split(r"\b(SET|ADD|REMOVE|DELETE)\b", expr)
    for keyword, body in zip(parts[1::2], parts[2::2], strict=True):
        for clause in (c.strip() for c in body.split(",") if c.strip()):
            if keyword == "REMOVE":
                out.append((keyword, clause, ""))
                continue
            m = re.fullmatch(r"(\S+) = (:\w+)" if keyword == "SET" else r"(\S+) (:\w+)", clause)
            if not m:
                raise NotImplementedError(f"{keyword} {clause!r}")
            out.append((keyword, m.group(1), m.group(2)))
    return tuple(out)


@dataclass
class MemoryDynamo:
    tables: dict[str, dict[str, dict[str, dict[str, Any]]]] = field(default_factory=dict)  # table -> pk -> sk -> item
    sizes: dict[tuple[str, str], tuple[dict[str, Any], int]] = field(default_factory=dict)  # (pk, sk) -> (item, size)
    calls: Counter[str] = field(default_factory=Counter)
    reads: list[Read] = field(default_factory=list)
    server_s: float = 0.0  # time spent in the engine (DynamoDB's side), summed over calls
    server_cpu_s: float = 0.0  # the same as this thread's CPU time

    def reset_log(self) -> None:
        self.calls.clear()
        self.reads.clear()
        self.server_s = 0.0
        self.server_cpu_s = 0.0

    def items(self, table: str) -> Iterator[dict[str, Any]]:
        for part in self.tables.get(table, {}).values():
            yield from part.values()

    # ------------------------------------------------------------------ dispatch
    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        t, c = time.perf_counter(), time.thread_time()
        try:
            self.calls[operation] += 1
            handler = getattr(self, f"_op_{operation}", None)
            if handler is None:
                raise NotImplementedError(f"MemoryDynamo has no {operation}")
            out: dict[str, Any] = handler(**params)
            return out
        finally:
            self.server_s += time.perf_counter() - t
            self.server_cpu_s += time.thread_time() - c

    # ------------------------------------------------------------------ expressions
    @staticmethod
    def _name(token: str, names: dict[str, str]) -> str:
        return names.get(token, token)

    def _check(self, item: dict[str, Any] | None, condition: str | None, names: dict[str, str],
               values: dict[str, Any]) -> bool:
        if not condition:
            return True
        for fn, fn_path, path, op, value in _condition_terms(condition):
            if fn:
                present = item is not None and self._name(str(fn_path), names) in item
                if present != (fn == "attribute_exists"):
                    return False
            elif not _compare((item or {}).get(self._name(str(path), names)), values[str(value)], str(op)):
                return False
        return True

    def _apply_update(self, item: dict[str, Any], expr: str, names: dict[str, str],
                      values: dict[str, Any]) -> None:
        for keyword, path, placeholder in _update_clauses(expr):
            name = self._name(path, names)
            if keyword == "SET":
                item[name] = values[placeholder]
            elif keyword == "REMOVE":
                item.pop(name, None)
            else:
                value, old = values[placeholder], item.get(name)
                if "N" in value:
                    if keyword != "ADD":
                        raise NotImplementedError(f"{keyword} on a number")
                    item[name] = {"N": str((_num(old) if old else Decimal(0)) + _num(value))}
                elif "SS" in value:
                    have = set(old["SS"]) if old else set()
                    have = have | set(value["SS"]) if keyword == "ADD" else have - set(value["SS"])
                    if have:
                        item[name] = {"SS": sorted(have)}
                    else:
                        item.pop(name, None)
                else:
                    raise NotImplementedError(f"{keyword} of {list(value)}")

    # ------------------------------------------------------------------ single items
    def _part(self, table: str, pk: str) -> dict[str, dict[str, Any]]:
        return self.tables.setdefault(table, {}).setdefault(pk, {})

    def _find(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        return self.tables.get(table, {}).get(key["pk"]["S"], {}).get(key["sk"]["S"])

    def _op_GetItem(self, TableName: str, Key: dict[str, Any], ConsistentRead: bool = False,
                    **rest: Any) -> dict[str, Any]:
        if rest:
            raise NotImplementedError(f"GetItem {sorted(rest)}")
        item = self._find(TableName, Key)
        self.reads.append(Read("GetItem", TableName, Key["pk"]["S"], int(item is not None), 0))
        return {"Item": item} if item is not None else {}

    def _put(self, table: str, item: dict[str, Any], condition: str | None, names: dict[str, str],
             values: dict[str, Any]) -> bool:
        if condition and not self._check(self._find(table, item), condition, names, values):
            return False
        self._part(table, item["pk"]["S"])[item["sk"]["S"]] = dict(item)
        return True

    def _update(self, table: str, key: dict[str, Any], expr: str, condition: str | None, names: dict[str, str],
                values: dict[str, Any]) -> dict[str, Any] | None:
        old = self._find(table, key)
        if not self._check(old, condition, names, values):
            return None
        new = dict(old) if old is not None else dict(key)
        self._apply_update(new, expr, names, values)
        self._part(table, key["pk"]["S"])[key["sk"]["S"]] = new
        return new

    def _delete(self, table: str, key: dict[str, Any], condition: str | None, names: dict[str, str],
                values: dict[str, Any]) -> bool:
        if not self._check(self._find(table, key), condition, names, values):
            return False
        self.tables.get(table, {}).get(key["pk"]["S"], {}).pop(key["sk"]["S"], None)
        return True

    def _op_PutItem(self, TableName: str, Item: dict[str, Any], ConditionExpression: str | None = None,
                    ExpressionAttributeNames: dict[str, str] | None = None,
                    ExpressionAttributeValues: dict[str, Any] | None = None) -> dict[str, Any]:
        if not self._put(TableName, Item, ConditionExpression, ExpressionAttributeNames or {},
                         ExpressionAttributeValues or {}):
            raise DynamoError("ConditionalCheckFailedException", "The conditional request failed")
        return {}

    def _op_UpdateItem(self, TableName: str, Key: dict[str, Any], UpdateExpression: str,
                       ConditionExpression: str | None = None,
                       ExpressionAttributeNames: dict[str, str] | None = None,
                       ExpressionAttributeValues: dict[str, Any] | None = None,
                       ReturnValues: str = "NONE") -> dict[str, Any]:
        new = self._update(TableName, Key, UpdateExpression, ConditionExpression, ExpressionAttributeNames or {},
                           ExpressionAttributeValues or {})
        if new is None:
            raise DynamoError("ConditionalCheckFailedException", "The conditional request failed")
        if ReturnValues == "ALL_NEW":
            return {"Attributes": dict(new)}
        if ReturnValues != "NONE":
            raise NotImplementedError(f"ReturnValues {ReturnValues}")
        return {}

    def _op_DeleteItem(self, TableName: str, Key: dict[str, Any], ConditionExpression: str | None = None,
                       ExpressionAttributeNames: dict[str, str] | None = None,
                       ExpressionAttributeValues: dict[str, Any] | None = None) -> dict[str, Any]:
        if not self._delete(TableName, Key, ConditionExpression, ExpressionAttributeNames or {},
                            ExpressionAttributeValues or {}):
            raise DynamoError("ConditionalCheckFailedException", "The conditional request failed")
        return {}

    def _op_TransactWriteItems(self, TransactItems: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        """Every condition is checked first; only if all hold is anything written (else a cancellation with
        the reason of each item, as DynamoDB answers)."""
        checks = []
        for entry in TransactItems:
            (kind, p), = entry.items()
            if kind not in ("Put", "Update", "Delete", "ConditionCheck"):
                raise NotImplementedError(kind)
            checks.append(self._check(self._find(p["TableName"], p.get("Key") or p["Item"]),
                                      p.get("ConditionExpression"), p.get("ExpressionAttributeNames") or {},
                                      p.get("ExpressionAttributeValues") or {}))
        if not all(checks):
            raise DynamoError("TransactionCanceledException", "Transaction cancelled",
                              [{"Code": "None" if c else "ConditionalCheckFailed"} for c in checks])
        for entry in TransactItems:
            (kind, p), = entry.items()
            names, values = p.get("ExpressionAttributeNames") or {}, p.get("ExpressionAttributeValues") or {}
            if kind == "Put":
                self._put(p["TableName"], p["Item"], None, names, values)
            elif kind == "Update":
                self._update(p["TableName"], p["Key"], p["UpdateExpression"], None, names, values)
            elif kind == "Delete":
                self._delete(p["TableName"], p["Key"], None, names, values)
        return {}

    def _op_BatchWriteItem(self, RequestItems: dict[str, list[dict[str, Any]]], **_: Any) -> dict[str, Any]:
        for table, requests in RequestItems.items():
            for r in requests:
                if "PutRequest" in r:
                    self._put(table, r["PutRequest"]["Item"], None, {}, {})
                else:
                    self._delete(table, r["DeleteRequest"]["Key"], None, {}, {})
        return {"UnprocessedItems": {}}

    # ------------------------------------------------------------------ query
    def _size(self, pk: str, sk: str, item: dict[str, Any]) -> int:
        """The item's size as DynamoDB counts it (measured once per stored version of the item)."""
        known = self.sizes.get((pk, sk))
        if known is not None and known[0] is item:
            return known[1]
        size = item_size(item)
        self.sizes[(pk, sk)] = (item, size)
        return size

    def _op_Query(self, TableName: str, KeyConditionExpression: str,
                  ExpressionAttributeValues: dict[str, Any],
                  ExpressionAttributeNames: dict[str, str] | None = None,
                  ScanIndexForward: bool = True, Limit: int | None = None,
                  ExclusiveStartKey: dict[str, Any] | None = None, ConsistentRead: bool = False,
                  ProjectionExpression: str | None = None, **rest: Any) -> dict[str, Any]:
        if rest:  # IndexName, FilterExpression: not used on this path
            raise NotImplementedError(f"Query {sorted(rest)}")
        names, values = ExpressionAttributeNames or {}, ExpressionAttributeValues
        m = re.fullmatch(r"(\S+) = (:\w+)(?: AND (?:begins_with\((\S+), (:\w+)\)|(\S+) BETWEEN (:\w+) AND (:\w+)))?",
                         KeyConditionExpression)
        if not m or self._name(m.group(1), names) != "pk" or \
                ((m.group(3) or m.group(5)) and self._name(m.group(3) or m.group(5), names) != "sk"):
            raise NotImplementedError(f"key condition {KeyConditionExpression!r}")
        pk = values[m.group(2)]["S"]
        part = self.tables.get(TableName, {}).get(pk, {})
        keys = sorted(part, reverse=not ScanIndexForward)
        if m.group(4):
            prefix = values[m.group(4)]["S"]
            keys = [k for k in keys if k.startswith(prefix)]
        elif m.group(6):
            low, high = values[m.group(6)]["S"], values[m.group(7)]["S"]
            keys = [k for k in keys if low <= k <= high]
        if ExclusiveStartKey is not None:
            after = ExclusiveStartKey["sk"]["S"]
            keys = [k for k in keys if (k > after if ScanIndexForward else k < after)]
        page: list[dict[str, Any]] = []
        size = 0
        more = False
        for n, k in enumerate(keys):
            if (Limit is not None and len(page) >= Limit) or size >= PAGE_BYTES:
                more = n < len(keys)
                break
            item = part[k]
            size += self._size(pk, k, item)  # DynamoDB reads (and bills) the whole item, projected or not
            if ProjectionExpression:
                wanted = [self._name(a.strip(), names) for a in ProjectionExpression.split(",")]
                item = {a: item[a] for a in wanted if a in item}
            page.append(item)
        self.reads.append(Read("Query", TableName, pk, len(page), size))
        out: dict[str, Any] = {"Items": page, "Count": len(page), "ScannedCount": len(page)}
        if more and page:
            out["LastEvaluatedKey"] = {"pk": {"S": pk}, "sk": {"S": keys[len(page) - 1]}}
        return out


# ---------------------------------------------------------------------------------------------- clients
class _Paginator:
    def __init__(self, client: PythonClient, operation: str) -> None:
        self.client, self.operation = client, operation

    def paginate(self, **params: Any) -> Iterator[dict[str, Any]]:
        while True:
            page = self.client._call(self.operation, params)
            yield page
            if "LastEvaluatedKey" not in page:
                return
            params = {**params, "ExclusiveStartKey": page["LastEvaluatedKey"]}


class PythonClient:
    """The engine behind the low-level client's method names (no botocore on the way)."""

    def __init__(self, engine: MemoryDynamo) -> None:
        self.engine = engine

    def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            return self.engine.call(operation, params)
        except DynamoError as exc:
            response: dict[str, Any] = {"Error": {"Code": exc.code, "Message": exc.message}}
            if exc.reasons is not None:
                response["CancellationReasons"] = exc.reasons
            raise ClientError(response, operation) from exc  # type: ignore[arg-type]

    def get_paginator(self, name: str) -> _Paginator:
        return _Paginator(self, "".join(p.capitalize() for p in name.split("_")))

    def __getattr__(self, name: str) -> Any:
        operation = "".join(p.capitalize() for p in name.split("_"))
        return lambda **params: self._call(operation, params)


class _Raw(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        contents = self.read()
        while contents:
            yield contents
            contents = self.read()


def wire_client(engine: MemoryDynamo) -> Any:
    """A real boto3 DynamoDB client (the functions' retry configuration) whose requests the engine answers."""
    import boto3
    from botocore.awsrequest import AWSResponse

    session: Any = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench",
                                         region_name="eu-west-1")
    ddb = session.client("dynamodb", config=dunning.aws.RETRY_CONFIG, endpoint_url="https://dynamodb.bench.invalid")

    def answer(request: Any, **_: Any) -> Any:
        target = request.headers["X-Amz-Target"]
        operation = (target.decode() if isinstance(target, bytes) else target).split(".", 1)[1]
        t, c = time.perf_counter(), time.thread_time()
        params = json.loads(request.body)  # DynamoDB's side (reading the request) ...
        engine.server_s += time.perf_counter() - t
        engine.server_cpu_s += time.thread_time() - c
        try:
            status, body = 200, engine.call(operation, params)  # ... the engine times itself ...
        except DynamoError as exc:
            status, body = 400, {"__type": f"com.amazonaws.dynamodb.v20120810#{exc.code}", "message": exc.message}
            if exc.reasons is not None:
                body["CancellationReasons"] = exc.reasons
        t, c = time.perf_counter(), time.thread_time()
        raw = json.dumps(body, separators=(",", ":")).encode()  # ... and writing the response
        engine.server_s += time.perf_counter() - t
        engine.server_cpu_s += time.thread_time() - c
        return AWSResponse(request.url, status, {"Content-Type": "application/x-amz-json-1.0",
                                                 "Content-Length": str(len(raw))}, _Raw(raw))

    ddb.meta.events.register("before-send.dynamodb", answer)
    return ddb


@contextlib.contextmanager
def installed(engine: MemoryDynamo, mode: str = "python") -> Iterator[MemoryDynamo]:
    """Serve ``dunning.aws.client("dynamodb")`` from the engine (``python`` or ``wire``, see the module doc)."""
    original = dunning.aws._client
    ddb = PythonClient(engine) if mode == "python" else wire_client(engine)

    def pick(service: str, endpoint: str | None, region: str | None) -> Any:
        return ddb if service == "dynamodb" else original(service, endpoint, region)

    dunning.aws._client = pick  # type: ignore[assignment]
    try:
        yield engine
    finally:
        dunning.aws._client = original


# ---------------------------------------------------------------------------------------------- data
PROCESS = "customer_requests"
STAGES = ("registered", "in_progress", "awaiting_customer", "resolved")
CHANNELS = ("phone", "call_centre", "direct_marketing", "internet", "agent_portal", "email", "chat")
EXTRA_CATEGORIES = (  # the demo configuration has 6 categories; the benchmark adds 6 more (12)
    ("move_in", "Moving in", "phone", "Home moves"), ("move_out", "Moving out", "phone", "Home moves"),
    ("direct_debit", "Direct debit mandate", "web_site", "aurora.example/direct-debit"),
    ("hardship", "Hardship and payment help", "phone", "Collections hotline"),
    ("outage", "Outage report", "event", "Grid incidents"),
    ("complaint", "Complaint", "product_group", "Customer service"),
)


def bench_config() -> Any:
    """The demo configuration with 12 interaction categories."""
    from dunning.config_loader import load_config_dir
    from dunning.models.config import Config
    from tests.support.local import ROOT

    data = load_config_dir(ROOT / "infra" / "config").model_dump(mode="json", by_alias=True)
    data["interactions"]["categories"] += [{"id": i, "name": n, "kind": k, "group": g, "process": PROCESS}
                                           for i, n, k, g in EXTRA_CATEGORIES]
    return Config.model_validate(data)


def principals(count: int) -> tuple[Any, Any, list[Any]]:
    """(an admin, a supervisor, ``count`` agents)."""
    from dunning.auth import Group, Principal

    admin = Principal(user_id="u-bench-admin", username="bench-admin", groups=frozenset({Group.ADMIN}))
    supervisor = Principal(user_id="u-bench-sup", username="bench-supervisor", groups=frozenset({Group.SUPERVISOR}))
    agents = [Principal(user_id=f"u-agent-{n:02d}", username=f"agent-{n:02d}", groups=frozenset({Group.AGENT}))
              for n in range(1, count + 1)]
    return admin, supervisor, agents


def deps_for(table: str, bucket: str, config: Any) -> Any:
    """The interaction use cases' dependencies on ``table`` (no ledger or contacts: links are not checked)."""
    from dunning.app.interactions import InteractionDeps
    from dunning.store.attachments import S3Attachments
    from dunning.store.interactions import DynamoInteractionsRepository

    return InteractionDeps(store=DynamoInteractionsRepository(table), attachments=S3Attachments(bucket),
                           config=lambda: config, ledger=None, contacts=None, signing_key=lambda: b"b" * 32)


@dataclass
class TimeLoad:
    interactions: int
    entries: int
    seconds: float  # the log_time calls only
    expected: dict[tuple[Any, str, str], list[int]]  # (day, category, agent) -> [minutes, entries]


def load_time_entries(deps: Any, *, entries: int, interactions: int, agents: int, first_day: Any, days: int,
                      seed: int = 13) -> TimeLoad:
    """``interactions`` recorded uniformly over the period in the configuration's categories (round robin), then
    ``entries`` time entries through ``log_time``, each on a random interaction by a random agent, starting within
    three days of its creation (inside the period), 1-120 minutes, in time order. Returns what was written."""
    import random
    from datetime import UTC, datetime, timedelta
    from datetime import time as clock

    from dunning.app import interactions as uc
    from dunning.models.interactions import NewInteraction

    rng = random.Random(seed)
    admin, _, staff = principals(agents)
    categories = [c.id for c in deps.config().interactions.categories]
    start = datetime.combine(first_day, clock(), UTC)
    end = start + timedelta(days=days)
    for a in staff:
        uc.add_member(deps, admin, PROCESS, "registered", a.username, now=start)
    made = []
    for n in range(interactions):
        created = start + timedelta(seconds=rng.uniform(0, days * 86400 - 60))
        new = NewInteraction(channel=rng.choice(CHANNELS), category=categories[n % len(categories)],
                             subject=f"Request {n}", person_id=f"P-{rng.randrange(20_000):05d}")
        made.append(uc.record_interaction(deps, rng.choice(staff), new, created))
    plan = []
    for _ in range(entries):
        it = rng.choice(made)
        started = min(it.created_at + timedelta(seconds=rng.uniform(0, 3 * 86400)), end - timedelta(seconds=1))
        plan.append((started.replace(microsecond=0), it, rng.choice(staff), rng.randint(1, 120)))
    plan.sort(key=lambda p: p[0])
    expected: dict[tuple[Any, str, str], list[int]] = {}
    t = time.perf_counter()
    for started, it, agent, minutes in plan:
        uc.log_time(deps, agent, it.id, started_at=started, minutes=minutes, note="",
                    now=started + timedelta(minutes=minutes + 1))
        cell = expected.setdefault((started.date(), it.category, agent.username), [0, 0])
        cell[0] += minutes
        cell[1] += 1
    return TimeLoad(interactions, entries, time.perf_counter() - t, expected)


SUBJECTS = ("Invoice is too high", "Payment plan please", "Direct debit failed", "Meter reading is wrong",
            "Moving out next month", "Tariff change", "Reminder received but I paid", "Power cut in my street",
            "Change of bank account", "Question about the final bill", "Complaint about the call centre",
            "Late payment fee", "Refund of credit balance", "Smart meter installation", "Payment confirmation")
ATTACHMENTS = (("bill-scan.pdf", "application/pdf", 120_000), ("meter-photo.jpg", "image/jpeg", 300_000),
               ("screenshot.png", "image/png", 40_000), ("bank-statement.txt", "text/plain", 2_000))
LINKS = (("account", "A-0001"), ("invoice", "INV-0001-03"), ("contact", "C-0001-0001"),
         ("activity", "C-0001-0002"), ("opportunity", "OPP-0007"), ("job", "JOB-0042"))


@dataclass
class ApiData:
    interactions: int
    thread_id: str
    thread_entries: int
    time_entries: int
    by_stage: Counter[str]
    read_partitions: set[str] = field(default_factory=set)  # INT#{id} partitions a measured route reads whole
    items: int = 0  # written to the stack's table


def load_api_data(deps: Any, *, count: int, member: str, agents: int, now: Any, s3: Any,
                  seed: int = 11) -> ApiData:
    """``count`` interactions over the 60 days before ``now`` (12 categories, random channels, subjects and
    customers, each with its first entry), 0-3 time entries each, spread over the stages (40% registered, 30% in
    progress, 20% awaiting the customer, 10% resolved) by real moves; and one conversation as an agent sees it
    after ten days: 50 thread entries, 10 time entries, 6 links, 4 attachments (presigned POST ticket, the object
    put where the browser would post it, then ``complete_upload``'s HEAD), 3 moves and 3 earlier similar
    requests. All through the use cases, as ``member`` (a member of every stage) and ``agents`` other agents."""
    import random
    from datetime import timedelta

    from dunning.app import interactions as uc
    from dunning.interactions.domain import attachment_key
    from dunning.models.interactions import NewInteraction

    rng = random.Random(seed)
    admin, _, staff = principals(agents)
    from dunning.auth import Group, Principal

    me = Principal(user_id=f"u-{member}", username=member, groups=frozenset({Group.AGENT}))
    staff = [me, *staff]
    for stage in STAGES:
        for p in staff:
            uc.add_member(deps, admin, PROCESS, stage, p.username, now=now - timedelta(days=90))
    config = deps.config().interactions
    categories = [c.id for c in config.categories]
    timed = {c.id for c in config.categories if c.time_required}
    stages: Counter[str] = Counter()
    time_entries = 0

    def log(it: Any, when: Any, who: Any = None) -> None:
        nonlocal time_entries
        uc.log_time(deps, who or rng.choice(staff), it.id, started_at=when, minutes=rng.randint(2, 45),
                    note="call with the customer", now=min(now, when + timedelta(hours=1)))
        time_entries += 1

    for n in range(count):
        created = now - timedelta(seconds=rng.uniform(3 * 3600, 60 * 86400))
        new = NewInteraction(channel=rng.choice(CHANNELS), category=categories[n % len(categories)],
                             subject=rng.choice(SUBJECTS), text="The customer explains the request. " * 6,
                             person_id=f"P-{rng.randrange(1500):05d}", customer_name="Customer",
                             customer_email=f"customer{n}@example.com")
        it = uc.record_interaction(deps, rng.choice(staff), new, created)
        for k in range(rng.choice((0, 1, 1, 2, 3)) or (1 if it.category in timed else 0)):
            log(it, created + timedelta(minutes=5 + 30 * k))
        target = rng.choices(("registered", "in_progress", "awaiting_customer", "resolved"), (4, 3, 2, 1))[0]
        path = {"registered": [], "in_progress": ["in_progress"], "awaiting_customer": ["in_progress",
                "awaiting_customer"], "resolved": ["resolved"]}[target]
        for k, stage in enumerate(path):
            it = uc.move_stage(deps, me, it.id, stage, expected_version=it.version,
                               now=created + timedelta(minutes=50 + 10 * k))
        stages[target] += 1
    # the conversation read by GET /api/interactions/{id}
    person, subject = "P-THREAD", "Invoice 2026-11 is too high"
    similar = []
    for days in (90, 60, 30):
        earlier = NewInteraction(channel="phone", category="invoice_dispute", subject=subject, person_id=person)
        similar.append(uc.record_interaction(deps, me, earlier, now - timedelta(days=days)).id)
    start = now - timedelta(days=10)
    thread = uc.record_interaction(deps, me, NewInteraction(
        channel="phone", category="invoice_dispute", subject=subject, person_id=person, customer_name="Customer",
        customer_email="thread@example.com", text="The November invoice is twice the usual amount. " * 5), start)
    entries = 1
    for k in range(49):
        kind = "note" if k % 3 == 2 else "comment"
        uc.add_entry(deps, rng.choice(staff), thread.id, kind, f"Entry {k}: " + "we checked the readings. " * 12,
                     visibility="agents" if kind == "note" else "customer", now=start + timedelta(hours=4 * (k + 1)))
        entries += 1
    for k in range(10):
        log(thread, start + timedelta(hours=4 * k + 1))
    for kind, ref in LINKS:
        uc.add_link(deps, me, thread.id, kind, ref, label=f"{kind} {ref}", now=start + timedelta(hours=2))
    for name, content_type, size in ATTACHMENTS:
        ticket = uc.start_upload(deps, me, thread.id, name, content_type, size, "agents")
        s3.put_object(Bucket=deps.attachments.bucket, Key=attachment_key(thread.id, ticket.attachment_id),
                      Body=b"x" * size, ContentType=content_type)
        assert uc.complete_upload(deps, me, thread.id, ticket.attachment_id).status == "stored"
    current = thread
    for k, stage in enumerate(("in_progress", "awaiting_customer", "in_progress")):
        current = uc.move_stage(deps, me, thread.id, stage, expected_version=current.version,
                                now=start + timedelta(days=2 + k))
    stages["in_progress"] += 1
    return ApiData(count + 4, thread.id, entries, time_entries, stages,
                   {f"INT#{i}" for i in (*similar, thread.id)})


def copy_table(engine: MemoryDynamo, source: str, ddb: Any, target: str, keep: set[str] | None = None) -> int:
    """The engine's ``source`` items into ``target`` (BatchWriteItem, 25 a call); the count. With ``keep``, of the
    ``INT#`` partitions only their ``META`` items, except the partitions in ``keep`` (copied whole)."""
    items = [i for i in engine.items(source) if keep is None or not i["pk"]["S"].startswith("INT#")
             or i["sk"]["S"] == "META" or i["pk"]["S"] in keep]
    for start in range(0, len(items), 25):
        pending: dict[str, Any] = {target: [{"PutRequest": {"Item": i}} for i in items[start:start + 25]]}
        while pending:
            pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return len(items)
