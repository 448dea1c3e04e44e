"""Properties (hypothesis): resolve is idempotent; equivalent spellings reach one
contact; bad input raises BadRequest and writes nothing."""

from __future__ import annotations

import tempfile
from typing import Any, Dict, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import contactstore
from contactstore import BadRequest

# Numbers of the fictional 555-01XX range, valid under libphonenumber's metadata.
AREA = st.sampled_from(["415", "212", "617", "312", "206", "303"])
LINE = st.integers(min_value=100, max_value=199).map(lambda n: f"{n:04d}")


@st.composite
def phone_spellings(draw: Any) -> tuple[str, list[str]]:
    area, line = draw(AREA), draw(LINE)
    e164 = f"+1{area}555{line}"
    spellings = [
        e164,
        f"({area}) 555-{line}",
        f"{area}.555.{line}",
        f"+1 {area} 555 {line}",
        f"1-{area}-555-{line}",
        f"tel:+1-{area}-555-{line}",
        f"sip:+1{area}555{line}@sip.example.com",
        f'"Caller" <sip:+1{area}555{line}@pbx.example.com;user=phone>',
        f"  {area} 555 {line}  ",
    ]
    return e164, draw(st.permutations(spellings))


@st.composite
def email_spellings(draw: Any) -> tuple[str, list[str]]:
    local = draw(st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True))
    domain = draw(st.sampled_from(["example.com", "example.org", "mail.example.net"]))
    canonical = f"{local}@{domain}"
    spellings = [canonical, canonical.upper(), f"  {canonical}  ", f"{local.capitalize()}@{domain.upper()}"]
    return canonical, draw(st.permutations(spellings))


@pytest.fixture(scope="module")
def prop_store() -> Iterator[contactstore.Store]:
    with tempfile.TemporaryDirectory() as directory:
        with contactstore.open(f"{directory}/props.db") as store:
            yield store


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(phone=phone_spellings(), email=email_spellings(), name=st.one_of(st.none(), st.text(max_size=20)))
def test_resolve_is_idempotent(prop_store: contactstore.Store, phone: Any, email: Any, name: Any) -> None:
    org = prop_store.org("idempotent")
    kwargs: Dict[str, Any] = {"phone_number": phone[0], "email": email[0]}
    try:
        first = org.resolve(**kwargs, name=name)
    except BadRequest as e:
        # Only a name no contact may carry (control characters, too long).
        assert "name" in e.message
        return
    before = org.changes(0, limit=10_000)["next"]
    for _ in range(3):
        again = org.resolve(**kwargs, name=name)
        assert again["created"] is False
        assert again["contact"] == org.resolve(**kwargs, name=name)["contact"]
        assert again["contact"]["id"] == first["contact"]["id"]
    assert org.changes(0, limit=10_000)["next"] == before


@FAST
@given(phone=phone_spellings(), email=email_spellings())
def test_equivalent_spellings_reach_one_contact(prop_store: contactstore.Store, phone: Any, email: Any) -> None:
    org = prop_store.org(f"spellings-{phone[0]}-{email[0]}"[:128])
    e164, phones = phone
    canonical, emails = email
    ids = {org.resolve(phone_number=p)["contact"]["id"] for p in phones}
    ids |= {org.resolve(email=e, phone_number=phones[0])["contact"]["id"] for e in emails}
    ids |= {org.resolve(email=e)["contact"]["id"] for e in emails}
    assert len(ids) == 1
    found = org.find(email=canonical)
    assert found is not None
    assert {i["identifier_value"] for i in found["identifiers"]} == {e164, canonical}


BAD_PHONES = st.one_of(
    st.sampled_from(["anonymous", "unknown", "12345", "+266696687", "", "   ", "+1 415 555 0192 ext. 12",
                     "sip:+14155550192;ext=1@host", "1" * 40]),
    st.sampled_from(["restricted", "private", "withheld", "", "+", "++1", "tel:", "sip:@host"]),
)
BAD_EMAILS = st.sampled_from(["", "plain", "a@", "@example.com", "a@@example.com", "a b@example.com",
                              "x" * 250 + "@example.com"])
BAD_EXTRAS = st.sampled_from([
    {"metadata": [1]}, {"metadata": "x"}, {"metadata": {"x": float("inf")}}, {"name": 5},
    {"persona_id": ""}, {"agent_number": "anonymous"},
])


@FAST
@given(
    bad=st.one_of(
        BAD_PHONES.map(lambda p: {"phone_number": p}),
        BAD_EMAILS.map(lambda e: {"email": e}),
        BAD_EXTRAS.map(lambda x: {"email": "ok@example.com", **x}),
        st.just({}),
    )
)
def test_bad_input_raises_bad_request_and_writes_nothing(prop_store: contactstore.Store, bad: Dict[str, Any]) -> None:
    org = prop_store.org("bad-input")
    before = prop_store.changes(0, limit=10_000)["next"]
    with pytest.raises(BadRequest) as caught:
        org.resolve(**bad)
    assert caught.value.code == "BAD_REQUEST"
    value = bad.get("phone_number") or bad.get("email")
    if isinstance(value, str) and len(value.strip()) >= 6:
        assert value.strip() not in caught.value.message
    assert prop_store.changes(0, limit=10_000)["next"] == before
    assert list(org.list()) == []
