"""Normalising the identities an account owns: registrable domains and IP ranges."""

import ipaddress
from functools import lru_cache
from urllib.parse import urlsplit

import tldextract

# Offline: the public-suffix list snapshot bundled with tldextract; never fetched.
_extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

_IPV4_MAPPED = int(ipaddress.IPv6Address("::ffff:0:0"))


@lru_cache(maxsize=131_072)
def registrable_domain(value: str) -> str:
    """`https://Mail.EU.Acme.co.uk/x` -> `acme.co.uk`; IDN labels as punycode.

    Raises ValueError when the value holds no registrable domain (a bare suffix, an IP
    address, an empty string). Remembered: ingestion meets the same domains all day.
    """
    text = (value or "").strip().lower()
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    if "//" in text:
        text = urlsplit(text).hostname or ""
    else:
        text = text.split("/", 1)[0].split(":", 1)[0]
    text = text.strip(".")
    if not text:
        raise ValueError("Give a domain such as acme.com.")
    try:
        text = text.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"'{value}' is not a valid domain name.") from None
    parts = _extract(text)
    if not parts.domain or not parts.suffix:
        raise ValueError(f"'{value}' has no registrable domain (e.g. acme.com).")
    return f"{parts.domain}.{parts.suffix}"


def ip_key(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """An address as 32 hex digits in the IPv6 space (IPv4 mapped), ordered like the address."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    number = int(ip) + _IPV4_MAPPED if ip.version == 4 else int(ip)
    return f"{number:032x}"


def parse_ip_range(text: str) -> tuple[str, str, str]:
    """`203.0.113.0/24` or `203.0.113.5-203.0.113.90` -> (start key, end key, canonical text)."""
    text = (text or "").strip()
    try:
        if "-" in text:
            first, last = (ipaddress.ip_address(part.strip()) for part in text.split("-", 1))
            if first.version != last.version:
                raise ValueError("Both ends of a range must be IPv4 or both IPv6.")
            if first > last:
                raise ValueError("The range starts after it ends.")
            canonical = f"{first}-{last}"
        else:
            network = ipaddress.ip_network(text, strict=False)
            first, last = network.network_address, network.broadcast_address
            canonical = str(network)
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a CIDR network or a start-end range: {exc}") from None
    return ip_key(first), ip_key(last), canonical
