"""Which address a request comes from, for the per-address rate limit.

The socket peer, unless the peer is one of TRUSTED_PROXIES: then X-Forwarded-For, read from the
right (each proxy appends the address it saw), skipping trusted proxies; the first address that
is not one is the client. Everything left of it was written by the client and may be made up.
Nobody is trusted by default, so a client cannot choose its address by sending the header.
uvicorn is given the same list (bot.cli.launcher), uses the same rule and may already have put the
client into the peer; reading the header again then gives the same answer.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

__all__ = ["Networks", "client_address", "parse_trusted_proxies"]

Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
MAX_ADDRESS_CHARS = 64  # a key in the rate limiter's memory, whatever a proxy passes on


def parse_trusted_proxies(value: str) -> Networks:
    """`"10.0.0.1, 192.168.0.0/16, ::1"`; raises ValueError on anything else."""
    return tuple(
        ipaddress.ip_network(item.strip(), strict=False)
        for item in value.split(",")
        if item.strip()
    )


def client_address(peer: str | None, forwarded_for: Iterable[str], trusted: Networks) -> str:
    """The client's address: `peer`, or from the X-Forwarded-For header values when `peer` is
    a trusted proxy."""
    peer = peer or ""
    if not _is_trusted(peer, trusted):
        return _short(peer)
    hops = [_host(hop) for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return _short(hop)
    # Every hop is a trusted proxy (or there is no header): the leftmost is the closest we know.
    return _short(hops[0] if hops else peer)


def _is_trusted(host: str, trusted: Networks) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # "unknown", a unix socket, a made-up name: never a proxy of ours
    # A dual-stack socket shows an IPv4 proxy as ::ffff:10.0.0.1.
    address = getattr(address, "ipv4_mapped", None) or address
    return any(address in network for network in trusted)


def _host(hop: str) -> str:
    """An address from an X-Forwarded-For entry: `1.2.3.4`, `1.2.3.4:5678`, `[::1]:5678`, `::1`."""
    hop = hop.strip()
    if hop.startswith("[") and "]" in hop:
        return hop[1 : hop.index("]")]
    if hop.count(":") == 1:
        return hop.split(":", 1)[0]
    return hop


def _short(host: str) -> str:
    return host[:MAX_ADDRESS_CHARS]
