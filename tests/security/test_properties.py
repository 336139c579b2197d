"""Hypothesis property tests: identity normalisation and the condition compiler."""

import ipaddress
import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from accounts.domains import ip_key, registrable_domain
from accounts.models import Account
from playbooks.compiler import compile_snapshot
from playbooks.evaluation import match_accounts
from tests.accounts.factories import AccountFactory

LABEL = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12).filter(
    lambda label: not label.startswith("xn")
)
SUFFIX = st.sampled_from(["com", "io", "co.uk", "com.au", "de", "org"])
SCHEME = st.sampled_from(["", "http://", "https://", "HTTPS://"])
PATH = st.sampled_from(["", "/", "/pricing", "/a/b?c=d", ":8443/x"])


@given(LABEL, SUFFIX, st.lists(LABEL, max_size=3), SCHEME, PATH, st.booleans())
def test_registrable_domain_ignores_case_url_parts_and_subdomains(
    name, suffix, subdomains, scheme, path, upper
):
    host = ".".join([*subdomains, name, suffix])
    text = f"{scheme}{host}{path}"

    result = registrable_domain(text.upper() if upper else text)

    assert result == f"{name}.{suffix}"
    assert registrable_domain(result) == result  # idempotent
    assert registrable_domain(f"jane.doe@{host}") == result  # an email's domain too


@given(st.text(max_size=60))
def test_registrable_domain_answers_a_domain_or_a_value_error_for_any_text(text):
    try:
        result = registrable_domain(text)
    except ValueError:
        return
    assert result == result.lower().strip()
    assert registrable_domain(result) == result


ADDRESSES = st.one_of(
    st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address),
    st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address),
)


@given(ADDRESSES, ADDRESSES)
def test_ip_key_orders_like_the_addresses_within_a_family(a, b):
    assume(a.version == b.version)
    assert (ip_key(a) < ip_key(b)) == (a < b)
    assert (ip_key(a) == ip_key(b)) == (a == b)
    assert ip_key(str(a)) == ip_key(a)
    assert len(ip_key(a)) == 32


@given(st.integers(0, 2**32 - 1))
def test_an_ipv4_address_and_its_mapped_ipv6_form_share_a_key(number):
    v4 = ipaddress.IPv4Address(number)
    assert ip_key(v4) == ip_key(ipaddress.IPv6Address(f"::ffff:{v4}"))


# The condition compiler against a plain Python reading of the same condition ----------

INDUSTRIES = ["Software", "Retail Banking", "Health", ""]
NUMBER_OPS = ["eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "not_in", "is_set"]
TEXT_OPS = ["eq", "ne", "contains", "in", "not_in", "is_set", "is_not_set"]
SMALL = st.integers(0, 400)


def python_holds(account, condition) -> bool:
    """What the condition means, read by hand (missing values match only is_not_set)."""
    feature, op, value = condition["feature"], condition["operator"], condition["value"]
    actual = {"employee_count": account.employee_count, "industry": account.industry}[feature]
    if feature == "industry" and actual == "":
        actual = None  # an empty text is not set
    if op == "is_not_set":
        return actual is None
    if actual is None:
        return False
    if feature == "industry" and op == "contains":
        return value.lower() in actual.lower()
    return {
        "eq": lambda: actual == value,
        "ne": lambda: actual != value,
        "gt": lambda: actual > value,
        "gte": lambda: actual >= value,
        "lt": lambda: actual < value,
        "lte": lambda: actual <= value,
        "between": lambda: value[0] <= actual <= value[1],
        "in": lambda: actual in value,
        "not_in": lambda: actual not in value,
        "is_set": lambda: True,
    }[op]()


@st.composite
def conditions(draw):
    if draw(st.booleans()):
        op = draw(st.sampled_from(NUMBER_OPS))
        value = {
            "between": lambda: sorted(draw(st.lists(SMALL, min_size=2, max_size=2))),
            "in": lambda: draw(st.lists(SMALL, min_size=1, max_size=4)),
            "not_in": lambda: draw(st.lists(SMALL, min_size=1, max_size=4)),
            "is_set": lambda: None,
        }.get(op, lambda: draw(SMALL))()
        return {"feature": "employee_count", "operator": op, "value": value, "params": {}}
    op = draw(st.sampled_from(TEXT_OPS))
    named = st.sampled_from(INDUSTRIES[:-1])
    value = {
        "contains": lambda: draw(st.sampled_from(["soft", "BANK", "e", "zzz"])),
        "in": lambda: draw(st.lists(named, min_size=1, max_size=3)),
        "not_in": lambda: draw(st.lists(named, min_size=1, max_size=3)),
        "is_set": lambda: None,
        "is_not_set": lambda: None,
    }.get(op, lambda: draw(named))()
    return {"feature": "industry", "operator": op, "value": value, "params": {}}


@pytest.fixture
def random_accounts(db):
    return [
        AccountFactory(employee_count=count, industry=industry)
        for count in (None, 0, 50, 100, 250, 399)
        for industry in INDUSTRIES
    ]


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(triggers=st.lists(st.lists(conditions(), min_size=1, max_size=3), min_size=1, max_size=3))
def test_the_compiled_filter_agrees_with_a_python_reading(random_accounts, triggers):
    # given a playbook whose triggers (OR) hold conditions (AND)
    snapshot = {
        "triggers": [
            {"name": f"T{n}", "conditions": conditions} for n, conditions in enumerate(triggers)
        ]
    }

    # when it is compiled and matched in SQL
    matched = set(match_accounts([compile_snapshot(snapshot, key="p")]).by_playbook["p"])

    # then it picks exactly the accounts the plain reading picks
    expected = {
        account.pk
        for account in Account.objects.filter(pk__in=[a.pk for a in random_accounts])
        if any(all(python_holds(account, c) for c in trigger) for trigger in triggers)
    }
    assert matched == expected
