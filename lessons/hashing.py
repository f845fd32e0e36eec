"""The one content hash: BLAKE2b, from CPython's own module where it exists.

``hashlib`` loads OpenSSL before it can hand out BLAKE2b, about 3 ms that every
command would pay on start-up for a hash it takes from elsewhere anyway.
"""

from __future__ import annotations

try:
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - an interpreter without CPython's module
    from hashlib import blake2b


def digest(data: bytes, size: int = 16) -> str:
    """Hex BLAKE2b of ``data``, ``size`` bytes long."""
    return blake2b(data, digest_size=size).hexdigest()
