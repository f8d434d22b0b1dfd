"""Experiment arms by a salted hash of the user id: a user stays in one arm across
requests, processes and restarts, and a new salt reshuffles everyone."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

_SCALE = float(2**64)


def unit_hash(*parts: str) -> float:
    """A uniform number in [0, 1) fixed by ``parts``.

    >>> unit_hash("salt", "user-1") == unit_hash("salt", "user-1")
    True
    >>> 0 <= unit_hash("salt", "user-1") < 1
    True
    """
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def arm_of(user_id: str, arms: Mapping[str, float], salt: str) -> str:
    """The arm of ``user_id``: arms take consecutive shares of the unit interval in their
    given order, in proportion to their weights.

    >>> arms = {"generator": 0.9, "thompson": 0.1}
    >>> users = [f"u{i}" for i in range(10_000)]
    >>> share = sum(arm_of(u, arms, "s1") == "thompson" for u in users) / len(users)
    >>> round(share, 2)
    0.1
    >>> arm_of("u1", {"only": 1.0}, "s1")
    'only'
    """
    point = unit_hash(salt, user_id) * sum(arms.values())
    for arm, weight in arms.items():
        point -= weight
        if point < 0:
            return arm
    return next(reversed(list(arms)))  # rounding at the very top of the interval
