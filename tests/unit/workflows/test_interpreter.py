"""The interpreter on the seed's VIP routing (S4.1-S4.5) and the other templates: every path, retries counted
exactly, jump limits, the step guard, seq/transitions, and (hypothesis) no run ever exceeds max_steps."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dunning.models.workflows import AskPrompt, Event, HttpCall, RecordPromise, RouteTo, SaveRow, SendMessage
from dunning.workflows import interpreter
from tests.unit.workflows.helpers import TODAY, answer, http, kinds, load, parse, start, timeout

VIP = load("vip_routing")


def test_given_a_contact_with_an_email_when_the_crm_says_vip_then_the_vip_team_gets_the_conversation():
    first = start(VIP, {"email": "ana@example.com"})
    assert first.wait == "http" and first.state.status == "waiting_http"
    call = first.actions[0]
    assert isinstance(call, HttpCall) and call.method == "GET"
    assert call.url == "https://crm.example.com/api/contacts?email=ana%40example.com"
    assert call.headers["Authorization"] == "Bearer «secret:crm_token»"
    assert (call.timeout_seconds, call.retries) == (5, 2)
    done = http(VIP, first.state, {"customerType": "VIP", "name": "Ana"})
    assert done.state.variables["CustomerType"] == "VIP"
    route = done.actions[-1]
    assert isinstance(route, RouteTo) and (route.team, route.skill, route.rule) == ("vip", "vip", "round_robin")
    assert done.wait == "end" and done.state.status == "handed_off"
    assert [s.step for s in first.steps + done.steps] == ["has_email", "get_contact", "get_contact",
                                                          "vip_or_normal", "route_vip"]


def test_given_a_normal_customer_type_or_none_then_the_normal_team_gets_it():
    for body in ({"customerType": "Regular"}, {}, "not json at all"):
        first = start(VIP, {"email": "bo@example.com"})
        done = http(VIP, first.state, body)
        route = done.actions[-1]
        assert isinstance(route, RouteTo) and route.team == "normal", body
    missing = http(VIP, start(VIP, {"email": "bo@example.com"}).state, {})
    assert missing.state.variables["CustomerType"] is None


def test_given_no_email_when_a_valid_one_is_given_then_success_message_jump_lookup_and_route():
    asked = start(VIP, {})
    prompt = asked.actions[0]
    assert isinstance(prompt, AskPrompt) and prompt.kind == "email" and prompt.timeout_seconds == 3600
    assert asked.wait == "answer" and asked.state.status == "waiting_answer"
    got = answer(VIP, asked.state, "  Carla@Example.COM ")
    assert kinds(got) == ["update", "send", "http"]
    assert got.actions[0].field == "email" and got.actions[0].value == "carla@example.com"  # type: ignore[union-attr]
    assert isinstance(got.actions[1], SendMessage) and got.actions[1].text == "Thanks, carla@example.com is saved."
    assert got.state.contact["email"] == "carla@example.com"
    assert [s.step for s in got.steps] == ["ask_email", "email_saved", "to_lookup", "get_contact"]
    assert got.state.attempts["jump:to_lookup"] == 1
    done = http(VIP, got.state, {"customerType": "vip"})  # equals is case-insensitive
    assert isinstance(done.actions[-1], RouteTo) and done.actions[-1].team == "vip"


def test_given_retries_3_then_three_re_asks_and_the_fourth_invalid_answer_routes_to_managers():
    state = start(VIP, {}).state
    for n in (1, 2, 3):
        step = answer(VIP, state, f"not an email {n}")
        prompt = step.actions[0]
        assert isinstance(prompt, AskPrompt) and prompt.attempt == n
        assert prompt.text == "That doesn't look like an email address. Please try again."
        assert step.wait == "answer" and state.attempts.get("ask:ask_email", 0) == n - 1
        state = step.state
    fourth = answer(VIP, state, "still no")
    assert isinstance(fourth.actions[-1], RouteTo) and fourth.actions[-1].team == "managers"
    assert fourth.state.status == "handed_off" and "ask:ask_email" not in fourth.state.attempts


def test_given_two_invalid_answers_then_a_valid_one_is_accepted():
    state = start(VIP, {}).state
    for text in ("x", "y@"):
        state = answer(VIP, state, text).state
    done = answer(VIP, state, "d@example.org")
    assert done.wait == "http" and "ask:ask_email" not in done.state.attempts


def test_given_silence_then_the_timeout_branch_closes_the_chat():
    done = timeout(VIP, start(VIP, {}).state)
    assert kinds(done) == ["close"] and done.state.status == "closed"
    assert done.actions[0].message.startswith("We'll close this chat")  # type: ignore[union-attr]
    assert done.steps[0].outcome == "timeout"


def test_given_the_crm_down_then_the_failure_branch_routes_normal():
    first = start(VIP, {"email": "e@example.com"})
    done = http(VIP, first.state, None, ok=False, status=503)
    assert isinstance(done.actions[-1], RouteTo) and done.actions[-1].team == "normal"
    assert done.steps[0].outcome == "failure status 503"


def test_seq_increments_once_per_call_and_transitions_count_steps():
    first = start(VIP, {"email": "e@example.com"})
    assert (first.state.seq, first.state.transitions) == (1, 2)
    done = http(VIP, first.state, {"customerType": "VIP"})
    assert (done.state.seq, done.state.transitions) == (2, 5)
    assert [s.at_transition for s in done.steps] == [3, 4, 5]
    assert done.steps[1].variables == {"CustomerType": "VIP"}


def test_an_event_that_does_not_fit_changes_nothing_but_seq():
    first = start(VIP, {"email": "e@example.com"})
    stray = answer(VIP, first.state, "hello")
    assert stray.actions == [] and stray.steps == [] and stray.wait == "http"
    assert stray.state.model_dump(exclude={"seq"}) == first.state.model_dump(exclude={"seq"})
    assert stray.state.seq == first.state.seq + 1
    ended = http(VIP, first.state, {"customerType": "VIP"})
    after = answer(VIP, ended.state, "more")
    assert after.wait == "end" and after.actions == [] and after.state.status == "handed_off"


LOOP = """
id: loop_test
name: Loop
start: ask
steps:
  - {id: ask, type: ask, kind: text, text: "Again?", next: say, on_timeout: bye}
  - {id: say, type: send, text: "once more", next: back}
  - {id: back, type: jump, to: ask, max: 2}
  - {id: bye, type: close}
"""


def test_a_jump_taken_more_than_its_max_fails_the_run():
    defn = parse(LOOP)
    state = start(defn).state
    for _ in range(2):
        step = answer(defn, state, "yes")
        assert step.wait == "answer"
        state = step.state
    third = answer(defn, state, "yes")
    assert third.state.status == "failed" and third.wait == "end"
    assert "more than 2 times" in third.state.error
    assert third.steps[-1].outcome == "jump limit 2 reached"


def test_max_steps_guards_a_long_run():
    chain = "\n".join(f"  - {{id: s{i}, type: send, text: m{i}, next: s{i + 1}}}" for i in range(12))
    defn = parse(f"id: chain\nname: Chain\nstart: s0\nsteps:\n{chain}\n  - {{id: s12, type: close}}\n")
    assert start(defn).state.status == "closed"
    limited = start(defn, max_steps=5)
    assert limited.state.status == "failed" and limited.wait == "end" and len(limited.steps) == 5
    assert "more than 5 steps" in limited.state.error


def test_a_template_that_fails_to_render_fails_the_run():
    defn = parse("id: bad_tpl\nname: B\nstart: a\nsteps:\n"
                 "  - {id: a, type: send, text: \"{{ contact.n / 0 }}\", next: b}\n"
                 "  - {id: b, type: close}\n")
    result = start(defn, {"n": "12"})
    assert result.state.status == "failed" and result.state.error


def test_new_vs_returning_welcomes_back_or_asks_the_name_and_saves_it():
    defn = load("new_vs_returning")
    back = start(defn, {"returning": True, "name": "Dana"})
    assert [a.text for a in back.actions if isinstance(a, SendMessage)] == [
        "Welcome back, Dana! An agent will be with you shortly."]
    assert isinstance(back.actions[-1], RouteTo) and back.actions[-1].team == "normal"
    new = start(defn, {"returning": False})
    assert isinstance(new.actions[0], AskPrompt)
    named = answer(defn, new.state, "Eve")
    assert kinds(named) == ["update", "send", "route"]
    assert named.state.contact["name"] == "Eve" and named.actions[1].text.startswith("Nice to meet you, Eve")  # type: ignore[union-attr]


def test_csat_saves_a_row_with_or_without_a_comment():
    defn = load("csat_survey")
    asked = start(defn, {"email": "f@example.com"})
    assert [c.value for c in asked.actions[0].choices] == ["1", "2", "3", "4", "5"]  # type: ignore[union-attr]
    rated = answer(defn, asked.state, "Satisfied")
    assert rated.state.variables["rating"] == "4"
    with_comment = answer(defn, rated.state, "Quick and kind")
    row = next(a for a in with_comment.actions if isinstance(a, SaveRow))
    assert row.sheet == "csat"
    assert row.columns == {"conversation_id": "c-1", "rating": "4", "comment": "Quick and kind",
                           "email": "f@example.com"}
    assert with_comment.state.status == "closed"
    silent = timeout(defn, rated.state)
    row = next(a for a in silent.actions if isinstance(a, SaveRow))
    assert row.columns["comment"] == "" and row.columns["rating"] == "4"


DEBTOR = {"email": "g@example.com", "balance": "1250.00", "currency": "EUR", "lead_invoice": "INV-7",
          "lead_invoice_amount": "800.00", "lead_invoice_due": "2026-01-31", "account_id": "A1"}


def test_collections_promise_records_a_promise_within_30_days():
    defn = load("collections_promise")
    shown = start(defn, DEBTOR)
    assert "1250.00 EUR" in shown.actions[0].text and "INV-7" in shown.actions[0].text  # type: ignore[union-attr]
    chose = answer(defn, shown.state, "promise to pay")
    assert isinstance(chose.actions[0], AskPrompt) and chose.actions[0].kind == "date"
    too_late = answer(defn, chose.state, "2026-04-15")
    assert too_late.wait == "answer" and too_late.actions[0].attempt == 1  # type: ignore[union-attr]
    dated = answer(defn, too_late.state, "20.3.2026")
    assert dated.wait == "promise"
    promise = dated.actions[-1]
    assert isinstance(promise, RecordPromise)
    assert (promise.invoice, promise.amount, promise.until) == ("INV-7", "800.00", "2026-03-20")
    ok = interpreter.advance(defn, dated.state, Event(kind="promise_result", ok=True, today=TODAY))
    assert kinds(ok) == ["send", "close"] and ok.state.status == "closed"
    refused = interpreter.advance(defn, dated.state, Event(kind="promise_result", ok=False, today=TODAY))
    assert isinstance(refused.actions[-1], RouteTo) and refused.actions[-1].team == "collections"


def test_collections_plan_and_talk_route_to_collections():
    defn = load("collections_promise")
    shown = start(defn, DEBTOR)
    plan = answer(defn, shown.state, "2")
    assert plan.actions[0].kind == "number"  # type: ignore[union-attr]
    assert answer(defn, plan.state, "24").wait == "answer"  # above max 12
    months = answer(defn, plan.state, "6")
    assert months.state.variables["plan_months"] == "6"
    assert [a.text for a in months.actions if isinstance(a, SendMessage)] == [
        "Thank you. A collector will call you to set up a 6-month payment plan."]
    assert isinstance(months.actions[-1], RouteTo) and months.actions[-1].team == "collections"
    talk = answer(defn, shown.state, "3")
    assert isinstance(talk.actions[-1], RouteTo) and talk.actions[-1].team == "collections"


def test_a_promise_without_an_amount_takes_on_failure_without_recording():
    defn = load("collections_promise")
    state = answer(defn, start(defn, {**DEBTOR, "lead_invoice_amount": ""}).state, "1").state
    result = answer(defn, state, "2026-03-10")
    assert not any(isinstance(a, RecordPromise) for a in result.actions)
    assert isinstance(result.actions[-1], RouteTo) and result.actions[-1].team == "collections"


_events = st.lists(st.one_of(
    st.builds(lambda t: Event(kind="answer", text=t, today=TODAY),
              st.sampled_from(["", "x", "a@example.com", "1", "2", "3", "5", "2026-03-05", "6", "Eve"])),
    st.just(Event(kind="timeout", today=TODAY)),
    st.builds(lambda ok, v: Event(kind="http_result", today=TODAY,
                                  http={"ok": ok, "status": 200 if ok else 500, "body": {"customerType": v}}),
              st.booleans(), st.sampled_from(["VIP", "x"])),
    st.builds(lambda ok: Event(kind="promise_result", ok=ok, today=TODAY), st.booleans()),
), max_size=15)


@settings(max_examples=60, deadline=None)
@given(template=st.sampled_from(["vip_routing", "new_vs_returning", "csat_survey", "collections_promise"]),
       events=_events, email=st.booleans(), max_steps=st.integers(min_value=1, max_value=12))
def test_no_run_exceeds_max_steps_and_a_finished_run_stays_finished(template, events, email, max_steps):
    defn = load(template)
    result = start(defn, {**DEBTOR, "email": "h@example.com"} if email else {"returning": email}, max_steps=max_steps)
    for event in events:
        before = result.state
        assert len(result.steps) <= max_steps + 1  # the applied event's step + at most max_steps run
        result = interpreter.advance(defn, before, event, max_steps=max_steps)
        assert result.state.seq == before.seq + 1
        if before.status in ("handed_off", "closed", "failed"):
            assert result.actions == [] and result.wait == "end"
        if result.wait == "answer":
            assert result.state.status == "waiting_answer"
        if result.wait == "http":
            assert result.state.status == "waiting_http"
    assert len(result.steps) <= max_steps + 1
