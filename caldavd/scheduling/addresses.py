"""Calendar user addresses (RFC 6638 §2.4.1, RFC 5545 §3.3.3)."""

from __future__ import annotations

from typing import TypeAlias

Address: TypeAlias = str
"""A calendar user address as written (``mailto:a@example.com``, ``urn:uuid:...``)."""


def normalise(address: str) -> str:
    """The form addresses are compared in: case-insensitive on the scheme and the address,
    so ``MAILTO:A@x`` and ``mailto:a@X`` are one calendar user."""
    return address.strip().lower()
