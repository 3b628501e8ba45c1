"""Is a host this machine? Plain (non-TLS) connections are accepted only there (DPA III.10)."""

from __future__ import annotations

import ipaddress


def is_local_host(host: str, *, unix_socket_dir: bool = False) -> bool:
    """localhost or a loopback address (127.0.0.0/8, ::1); with `unix_socket_dir`, also a path
    (PostgreSQL's Unix-socket directory)."""
    if host == "localhost" or (unix_socket_dir and host.startswith("/")):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
