"""The client's address behind trusted reverse proxies (TRACKER_TRUSTED_PROXIES).

Login limits count failures per client address. Behind an HTTPS proxy every request comes from the proxy, so
without this one user's mistakes would lock everybody out. X-Forwarded-For is believed only when the peer is a
trusted proxy, and read from the right: each trusted proxy appends the address it saw, so the first untrusted
address from the right is the client, and anything to its left is whatever the client chose to send.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(items: Sequence[str]) -> tuple[Network, ...]:
    """The networks of TRACKER_TRUSTED_PROXIES (already checked when the settings were read)."""
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


def client_address(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """`forwarded_for` holds the X-Forwarded-For header values in the order received."""
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    address = peer
    for hop in reversed(hops):
        parsed = _parse(hop)
        if parsed is None:
            break  # a malformed entry ends the chain the proxies vouch for
        address = str(parsed)
        if not any(parsed in network for network in trusted):
            break
    return address


def _is_trusted(peer: str, trusted: Sequence[Network]) -> bool:
    parsed = _parse(peer)
    return parsed is not None and any(parsed in network for network in trusted)


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
