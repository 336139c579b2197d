import pytest

from accounts.domains import ip_key, parse_ip_range, registrable_domain


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("acme.com", "acme.com"),
        ("https://Mail.EU.Acme.co.uk/pricing?x=1", "acme.co.uk"),
        ("jane.roe@sales.acme.com", "acme.com"),
        ("acme.com:8443/path", "acme.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("www.example.com.", "example.com"),
    ],
)
def test_registrable_domain_normalises(value, expected):
    assert registrable_domain(value) == expected


@pytest.mark.parametrize("value", ["", "co.uk", "localhost", "http://", "com"])
def test_registrable_domain_refuses_values_without_one(value):
    with pytest.raises(ValueError):
        registrable_domain(value)


def test_ip_keys_order_ipv4_inside_the_ipv6_space():
    assert ip_key("10.0.0.1") < ip_key("10.0.0.2") < ip_key("203.0.113.5")
    assert ip_key("203.0.113.5") == "00000000000000000000ffffcb007105"
    assert ip_key("2001:db8::1") > ip_key("255.255.255.255")


def test_parse_ip_range_accepts_cidr_and_start_end():
    start, end, text = parse_ip_range("203.0.113.7/24")
    assert text == "203.0.113.0/24"
    assert (start, end) == (ip_key("203.0.113.0"), ip_key("203.0.113.255"))
    start, end, text = parse_ip_range(" 198.51.100.10 - 198.51.100.20 ")
    assert text == "198.51.100.10-198.51.100.20"
    assert (start, end) == (ip_key("198.51.100.10"), ip_key("198.51.100.20"))


@pytest.mark.parametrize("value", ["nonsense", "10.0.0.9-10.0.0.1", "10.0.0.1-2001:db8::1"])
def test_parse_ip_range_refuses_bad_ranges(value):
    with pytest.raises(ValueError):
        parse_ip_range(value)
