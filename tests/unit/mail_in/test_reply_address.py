"""Signed reply addresses: a reply finds its interaction (or dunning contact); a made-up address finds nothing."""

from __future__ import annotations

import pytest

from dunning.interactions.mail import (
    SIGNATURE_HEX,
    InboundMail,
    contact_reply_address,
    find_reply_target,
    interaction_reply_address,
    verify_reply_address,
)

KEY = b"k" * 32
DOMAIN = "reply.example.com"


def test_an_interaction_reply_address_verifies_to_its_interaction():
    address = interaction_reply_address("int-01HX", KEY, DOMAIN)
    local = address.split("@")[0]
    assert local.startswith("reply+i.int-01HX.") and len(local.rsplit(".", 1)[1]) == SIGNATURE_HEX
    assert len(local) <= 64
    target = verify_reply_address(f"Customer service <{address}>", KEY, DOMAIN)
    assert target is not None and (target.kind, target.ref) == ("i", "int-01HX")


def test_a_contact_reply_address_verifies_to_its_contact():
    address = contact_reply_address("c-0123456789abcdef01234567", KEY, DOMAIN)
    local, _, domain = address.partition("@")
    ref, _, sig = local.rpartition(".")
    shouted = f"{ref.replace('reply+c.', 'REPLY+C.')}.{sig.upper()}@{domain.upper()}"  # MTAs may change case
    target = verify_reply_address(shouted, KEY, DOMAIN)
    assert target is not None and (target.kind, target.ref) == ("c", "c-0123456789abcdef01234567")


@pytest.mark.parametrize("tamper", [
    lambda a: a.replace("int-1.", "int-2."),  # another interaction, same signature
    lambda a: a.replace("reply+i.", "reply+c."),  # another kind
    lambda a: a[: a.index("@") - 1] + ("0" if a[a.index("@") - 1] != "0" else "1") + a[a.index("@"):],
    lambda a: a.replace(DOMAIN, "evil.example"),
    lambda a: a.replace("reply+", "noreply+"),
    lambda a: a.split("@")[0][:-2] + "@" + DOMAIN,
])
def test_a_tampered_address_does_not_verify(tamper):
    address = interaction_reply_address("int-1", KEY, DOMAIN)
    assert verify_reply_address(tamper(address), KEY, DOMAIN) is None


def test_another_key_does_not_verify_and_an_empty_key_never_does():
    address = interaction_reply_address("int-1", KEY, DOMAIN)
    assert verify_reply_address(address, b"other", DOMAIN) is None
    assert verify_reply_address(address, b"", DOMAIN) is None
    with pytest.raises(ValueError):
        interaction_reply_address("int-1", b"", DOMAIN)


@pytest.mark.parametrize("bad_id", ["a.b", "a@b", "x" * 41, "", "a b"])
def test_ids_that_would_break_the_address_are_refused(bad_id):
    with pytest.raises(ValueError):
        interaction_reply_address(bad_id, KEY, DOMAIN)


def test_the_first_signed_recipient_wins():
    good = interaction_reply_address("int-7", KEY, DOMAIN)
    mail = InboundMail(message_id="m@x", from_address="a@customer.example",
                       recipients=["support@reply.example.com", "reply+i.int-9.0000000000000000@" + DOMAIN, good])
    target = find_reply_target(mail, KEY, DOMAIN)
    assert target is not None and target.ref == "int-7"
