"""Copy pools: the variants written ahead of demand for one (ad, segment, copy style), and
the review decisions on them.

A pool (one JSON value, rewritten whole by its writer) holds the variants the screen
approved, best first, with the copy model that wrote them, the facts it wrote from (a
fingerprint of the brief) and when. Decisions (a Redis hash by variant id) are written only
by reviewers and outlive every rewrite: a variant rejected once stays rejected when a model
writes it into that pool again, and is never served from it. With ``review_required`` only
approved variants are served; otherwise every pooled variant not rejected is.

>>> pool = Pool(model="copy_generator", facts="f1", written_ms=5,
...             variants=[("v-1", "A soft dress. Shop now."), ("v-2", "Light and easy. Buy it.")])
>>> Pool.decode(pool.encode()) == pool
True
>>> no = Decision(status="rejected", by="ana", why="off brand", ts_ms=9)
>>> servable(pool, {"v-2": no}, review_required=False)
[('v-1', 'A soft dress. Shop now.')]
>>> servable(pool, {"v-2": no}, review_required=True)
[]
"""

from __future__ import annotations

import hashlib
from typing import Literal

import msgspec

from adcraft.shared.contract.copy_contract import CopyBrief

Status = Literal["approved", "rejected"]


class Pool(msgspec.Struct, frozen=True):
    """One (ad, segment, style)'s pooled variants, (id, text) best first."""

    model: str
    facts: str
    written_ms: int
    variants: list[tuple[str, str]]

    def encode(self) -> bytes:
        return msgspec.json.encode(self)

    @classmethod
    def decode(cls, blob: bytes) -> Pool:
        """The pool ``blob`` holds; :class:`msgspec.ValidationError` (or DecodeError) else."""
        return msgspec.json.decode(blob, type=cls)


class Decision(msgspec.Struct, frozen=True):
    """A reviewer's verdict on one variant: who, why, when."""

    status: Status
    by: str
    why: str
    ts_ms: int

    def encode(self) -> bytes:
        return msgspec.json.encode(self)

    @classmethod
    def decode(cls, blob: bytes) -> Decision:
        return msgspec.json.decode(blob, type=cls)


Pooled = tuple[Pool | None, dict[str, Decision]]  # a pool (None: none) and its decisions


def facts(brief: CopyBrief) -> str:
    """A fingerprint of what a pool was written from: a new one means rewrite it.

    >>> a = CopyBrief("dress", "Dresses", ("soft",), "adult", "warm", "direct")
    >>> facts(a) == facts(a), facts(a) == facts(a._replace(attributes=("linen",)))
    (True, False)
    """
    return hashlib.blake2b("\x1f".join(brief.fields()).encode(), digest_size=8).hexdigest()


def servable(
    pool: Pool | None, decisions: dict[str, Decision], review_required: bool
) -> list[tuple[str, str]]:
    """The pooled variants a request may get (see the module docstring)."""
    if pool is None:
        return []
    return [v for v in pool.variants if allowed(v[0], decisions, review_required)]


def allowed(variant: str, decisions: dict[str, Decision], review_required: bool) -> bool:
    """Whether a variant may be served, pooled or written for the request: never once
    rejected; with ``review_required``, only once approved."""
    decision = decisions.get(variant)
    status = None if decision is None else decision.status
    return status == "approved" if review_required else status != "rejected"


def read_pool(blob: bytes | None) -> Pool | None:
    """The pool ``blob`` holds; None for none, or for anything else (its writer rewrites it).

    >>> read_pool(None), read_pool(b"\\x00garbage"), read_pool(b'[["v-1", "x"]]')
    (None, None, None)
    """
    if blob is None:
        return None
    try:
        return Pool.decode(blob)
    except msgspec.MsgspecError:
        return None


def read_decisions(stored: dict[bytes, bytes]) -> dict[str, Decision]:
    """Review decisions by variant id; one that does not decode reads as a rejection: what
    a reviewer may have vetoed is never served.

    >>> read_decisions({b"v-1": b"garbage"})["v-1"].status
    'rejected'
    """
    found = {}
    for variant, blob in stored.items():
        name = variant.decode(errors="replace")
        try:
            found[name] = Decision.decode(blob)
        except msgspec.MsgspecError:
            found[name] = Decision("rejected", "?", "unreadable decision", 0)
    return found
