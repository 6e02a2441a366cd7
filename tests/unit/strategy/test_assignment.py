"""Assignment of accounts to collection strategies (S2.3, S2.14): pools, ranks, manual assignment."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from dunning.models.config import Criteria, Criterion
from dunning.strategy import (
    NO_POOL_MATCHED,
    UnknownHierarchyError,
    account_subject,
    assign,
    evaluate_account,
    preview_hierarchy,
)

from .factories import (
    after,
    before,
    config,
    crit,
    day,
    hierarchy,
    invoice,
    payment,
    pool,
    view,
)

# --------------------------------------------------------------------------- criteria operators
SEGMENT_VIP = crit("attributes.segment", equals="vip")


@pytest.mark.parametrize(
    ("criteria", "attributes", "expected"),
    [
        pytest.param([SEGMENT_VIP], {"segment": "vip"}, True, id="equals-matches-the-same-value"),
        pytest.param([SEGMENT_VIP], {"segment": "retail"}, False, id="equals-rejects-another-value"),
        pytest.param([SEGMENT_VIP], {}, False, id="equals-rejects-a-missing-attribute"),
        pytest.param(
            [crit("attributes.employees", equals=10)],
            {"employees": "10"},
            True,
            id="equals-compares-numeric-text-as-a-number",
        ),
        pytest.param(
            [crit("attributes.segment", in_=["retail", "home"])],
            {"segment": "home"},
            True,
            id="in-matches-any-listed-value",
        ),
        pytest.param(
            [crit("attributes.segment", in_=["retail", "home"])],
            {"segment": "vip"},
            False,
            id="in-rejects-an-unlisted-value",
        ),
        pytest.param(
            [crit("attributes.employees", min=10, max=50)],
            {"employees": 10},
            True,
            id="range-includes-its-lower-bound",
        ),
        pytest.param(
            [crit("attributes.employees", min=10, max=50)],
            {"employees": 50},
            True,
            id="range-includes-its-upper-bound",
        ),
        pytest.param(
            [crit("attributes.employees", min=10, max=50)],
            {"employees": 51},
            False,
            id="range-rejects-above-the-upper-bound",
        ),
        pytest.param(
            [crit("attributes.employees", min=10)],
            {"employees": 9.5},
            False,
            id="open-range-rejects-below-the-lower-bound",
        ),
        pytest.param([crit("attributes.blocked", missing=True)], {}, True, id="missing-matches-an-absent-attribute"),
        pytest.param(
            [crit("attributes.blocked", missing=True)],
            {"blocked": True},
            False,
            id="missing-rejects-a-present-attribute",
        ),
        pytest.param(
            [crit("attributes.region", present=True)],
            {"region": "north"},
            True,
            id="present-matches-a-present-attribute",
        ),
        pytest.param(
            [SEGMENT_VIP, crit("attributes.region", equals="north")],
            {"segment": "vip"},
            False,
            id="all-needs-every-criterion",
        ),
        pytest.param(
            [SEGMENT_VIP, crit("attributes.region", equals="north")],
            {"segment": "vip", "region": "north"},
            True,
            id="all-matches-when-every-criterion-holds",
        ),
        pytest.param(
            [Criteria(any=[SEGMENT_VIP, crit("attributes.region", equals="north")])],
            {"region": "north"},
            True,
            id="nested-any-needs-one-criterion",
        ),
        pytest.param([], {}, True, id="empty-all-matches-every-account"),
    ],
)
def test_pool_criteria_select_accounts_by_their_attributes(
    criteria: list[Criterion | Criteria], attributes: dict[str, Any], expected: bool
) -> None:
    # Given a single hierarchy whose only pool has these criteria
    cfg = config(hierarchy("h", 1, pools=["p"]), pools=[pool("p", *criteria)])
    # When an account with these attributes is assigned
    result = assign(view(invoice("I1", day(0)), attributes=attributes), cfg)
    # Then it is in the hierarchy exactly when the criteria match
    assert (result.hierarchy_id == "h") is expected
    assert result.reason == ("pool 'p' matched (hierarchy 'h', rank 1)" if expected else NO_POOL_MATCHED)


def test_pool_criteria_can_use_the_open_balance_and_currency() -> None:
    # Given pools on ledger figures of the account subject
    cfg = config(
        hierarchy("big", 1, pools=["big"]),
        hierarchy("usd", 2, pools=["usd"]),
        pools=[pool("big", crit("open_balance", min=1000)), pool("usd", crit("currency", equals="USD"))],
    )
    # When accounts with different balances and currencies are assigned
    big = assign(view(invoice("I1", day(0), "1500.00")), cfg)
    small_usd = assign(view(invoice("I1", day(0), "10.00", currency="USD"), currency="USD"), cfg)
    # Then the subject's fields decide
    assert (big.hierarchy_id, small_usd.hierarchy_id) == ("big", "usd")


# --------------------------------------------------------------------------- ranks, manual, none
RANKED = config(
    hierarchy("standard", 2, pools=["retail", "north"]),  # declared first on purpose: rank decides, not order
    hierarchy("vip", 1, pools=["vip"]),
    hierarchy("fallback", 5, pools=["x"]),
    pools=[
        pool("retail", crit("attributes.segment", equals="retail")),
        pool("north", crit("attributes.region", equals="north")),
        pool("vip", crit("attributes.tier", equals="gold")),
        pool("x", crit("attributes.region", present=True)),
    ],
)


@pytest.mark.parametrize(
    ("attributes", "manual", "hierarchy_id", "is_manual", "reason"),
    [
        pytest.param(
            {"segment": "retail"},
            None,
            "standard",
            False,
            "pool 'retail' matched (hierarchy 'standard', rank 2)",
            id="one-pool-gives-its-hierarchy",
        ),
        pytest.param(
            {"segment": "retail", "region": "south"},
            None,
            "standard",
            False,
            "pool 'retail' matched (hierarchy 'standard', rank 2); also matched 'x' at rank 5",
            id="several-pools-best-rank-wins-and-the-others-are-named",
        ),
        pytest.param(
            {"segment": "retail", "tier": "gold"},
            None,
            "vip",
            False,
            "pool 'vip' matched (hierarchy 'vip', rank 1); also matched 'retail' at rank 2",
            id="rank-1-beats-a-hierarchy-declared-earlier",
        ),
        pytest.param(
            {"segment": "retail", "region": "north"},
            None,
            "standard",
            False,
            "pool 'retail' matched (hierarchy 'standard', rank 2); also matched 'north' at rank 2, 'x' at rank 5",
            id="two-pools-of-one-hierarchy-name-the-first-listed",
        ),
        pytest.param(
            {"segment": "retail"},
            "fallback",
            "fallback",
            True,
            "manual assignment to 'fallback'",
            id="manual-assignment-overrides-the-pools",
        ),
        pytest.param(
            {"segment": "retail"},
            "gone",
            None,
            True,
            "manual assignment to unknown hierarchy 'gone'",
            id="manual-assignment-to-unknown-hierarchy-is-unassigned",
        ),
        pytest.param({"segment": "other"}, None, None, False, "no pool matched", id="no-pool-is-unassigned"),
    ],
)
def test_account_goes_to_the_best_ranked_matching_hierarchy(
    attributes: dict[str, Any], manual: str | None, hierarchy_id: str | None, is_manual: bool, reason: str
) -> None:
    # Given the ranked strategies and an account with these attributes (and maybe a manual assignment)
    account = view(invoice("I1", day(0)), attributes=attributes, manual=manual)
    # When it is assigned
    result = assign(account, RANKED)
    # Then it gets the expected hierarchy with a reason a user can read
    assert (result.hierarchy_id, result.manual, result.reason) == (hierarchy_id, is_manual, reason)
    assert result.account_id == "A1"


def test_config_without_hierarchies_leaves_every_account_unassigned() -> None:
    # Given a config with no strategies at all
    cfg = config()
    # When an account is assigned and evaluated
    account = view(invoice("I1", day(-30)))
    decision = evaluate_account(account, cfg, day(0))
    # Then it is unassigned, and the decision says why
    assert assign(account, cfg).hierarchy_id is None
    assert (decision.outcome, decision.reasons) == ("unassigned", [NO_POOL_MATCHED])


# ------------------------------------------------------------------ config validation (models/config.py)
@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(
            lambda: config(hierarchy("a", 1, pools=["p"]), hierarchy("b", 2, pools=["p"])),
            "pool 'p' is assigned to both 'a' and 'b'",
            id="a-pool-assigned-to-two-hierarchies",
        ),
        pytest.param(
            lambda: config(hierarchy("a", 3), hierarchy("b", 3)),
            "hierarchies 'a' and 'b' have the same rank 3",
            id="two-hierarchies-with-the-same-rank",
        ),
        pytest.param(
            lambda: hierarchy(
                "a", 1, [before("p1", 5, pre_dunning=True), before("p2", 2, pre_dunning=True), after("r", 7)]
            ),
            "at most one step may be pre-dunning",
            id="two-pre-dunning-steps-in-a-hierarchy",
        ),
        pytest.param(
            lambda: config(hierarchy("a", 1, pools=["nope"]), auto_pools=False),
            "names unknown pool 'nope'",
            id="a-hierarchy-naming-an-unknown-pool",
        ),
        pytest.param(lambda: hierarchy("a", 0), "greater than or equal to 1", id="rank-below-1"),
    ],
)
def test_config_validation_rejects_inconsistent_strategies(build: Any, message: str) -> None:
    # Given an inconsistent strategy set-up / When it is validated / Then it is rejected with the reason
    with pytest.raises(ValidationError, match=message):
        build()


# --------------------------------------------------------------------------- previews and the subject
def test_preview_hierarchy_lists_the_accounts_it_would_get_including_manual_ones() -> None:
    # Given accounts in various pools, one manually assigned
    accounts = [
        view(invoice("I1", day(0), account_id="R1"), account_id="R1", attributes={"segment": "retail"}),
        view(invoice("I2", day(0), account_id="V1"), account_id="V1", attributes={"tier": "gold"}),
        view(invoice("I3", day(0), account_id="M1"), account_id="M1", manual="standard"),
        view(account_id="R2", attributes={"segment": "retail"}),  # no invoices: assignment ignores balance
    ]
    # When the standard hierarchy is previewed
    preview = preview_hierarchy(accounts, RANKED, "standard")
    # Then it lists its accounts in input order, with their reasons
    assert [(a.account_id, a.manual) for a in preview] == [("R1", False), ("M1", True), ("R2", False)]


def test_preview_of_an_unknown_hierarchy_is_an_error() -> None:
    with pytest.raises(UnknownHierarchyError, match="unknown hierarchy 'nope'"):
        preview_hierarchy([], RANKED, "nope")


def test_account_subject_exposes_attributes_and_ledger_figures() -> None:
    # Given an account with two invoices, one part paid, and a collections agent
    account = view(
        invoice("I1", day(-10), "100.00"),
        invoice("I2", day(5), "50.00"),
        payments=[payment("P1", "30.00", day(-1), invoice_id="I1")],
        attributes={"segment": "retail"},
        agent="agent-7",
    )
    # When its subject is built
    subject = account_subject(account)
    # Then the pool criteria can see these fields
    assert subject == {
        "account_id": "A1",
        "currency": "EUR",
        "attributes": {"segment": "retail"},
        "open_balance": 120.0,
        "open_invoice_count": 2,
        "invoice_count": 2,
        "oldest_due_date": day(-10).isoformat(),
        "unapplied_credit": 0.0,
        "collections_agent": "agent-7",
    }
    # And the attributes are a copy: changing them does not touch the account
    subject["attributes"]["segment"] = "changed"
    assert account.account is not None and account.account.attributes["segment"] == "retail"


def test_account_subject_before_the_account_arrives_uses_the_invoice_currency() -> None:
    # Given invoices but no account.upserted yet
    account = view(invoice("I1", day(0), currency="USD"), with_account=False)
    # When its subject is built / Then it still has a currency and empty attributes
    # And without open invoices there is no oldest due date
    subject = account_subject(account)
    assert (subject["currency"], subject["attributes"], "collections_agent" in subject) == ("USD", {}, False)
    assert "oldest_due_date" not in account_subject(view())
