"""An ad's reward model posterior as the combination generator reads it.

The reward worker writes one :class:`AdPosterior` per (ad, segment) to Redis (key from
:mod:`adcraft.shared.contract.keys`); a request reads it back in one round trip. Everything is on
the logit scale of the reward model: an element's mean and sd are its own weight plus its segment
personalisation, a pair's weight is the learned interaction of two elements shown together
(only pairs that have been observed are published: the rest sit at their prior of zero).
Encoded as msgpack arrays, checked on decode.
"""

from __future__ import annotations

import math

import msgspec

MAX_LOGIT = 50.0
"""The largest logit mean, sd or pair weight a sane posterior holds (a click probability of
1 - 2e-22): past it, or not finite, the posterior is broken, and read as the prior."""
MAX_OBSERVATIONS = 1e15


class ElementPosterior(msgspec.Struct, array_like=True, frozen=True):
    """One candidate element of a slot: logit mean and sd, observations, and the
    value-weighted conversion probability."""

    element_id: str
    mean: float
    sd: float
    observations: float
    conversion: float


class PairPosterior(msgspec.Struct, array_like=True, frozen=True):
    """The learned interaction (logit weight and sd) of two elements of different slots."""

    slot_a: str
    element_a: str
    slot_b: str
    element_b: str
    weight: float
    sd: float


class AdPosterior(msgspec.Struct, array_like=True, frozen=True):
    """Every slot's candidates (in catalogue order) and the learned pairs of one ad for one
    segment.

    >>> p = AdPosterior("ad", "all", "v1", {"title": [ElementPosterior("t1", 0.2, 0.5, 3, 0)]}, [])
    >>> AdPosterior.decode(p.encode()) == p
    True
    """

    ad_id: str
    segment: str
    model_version: str
    slots: dict[str, list[ElementPosterior]]
    pairs: list[PairPosterior]

    def encode(self) -> bytes:
        """Compact msgpack bytes."""
        return _ENCODER.encode(self)

    @staticmethod
    def decode(raw: bytes) -> AdPosterior:
        """The posterior ``raw`` holds; :class:`ValueError` if it is not one."""
        try:
            return _DECODER.decode(raw)
        except msgspec.DecodeError as exc:
            raise ValueError(f"not an ad posterior: {exc}") from None


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(AdPosterior)


def problem(posterior: AdPosterior) -> str | None:
    """What is wrong with ``posterior`` (a number out of range or not finite), or None: a
    posterior that holds such a number must not reach the generator (float32 overflows) or
    an explanation (an infinite contribution).

    >>> def titles(mean): return {"title": [ElementPosterior("t1", mean, 0.5, 3, 0)]}
    >>> problem(AdPosterior("ad", "all", "v", titles(0.2), [])) is None
    True
    >>> problem(AdPosterior("ad", "all", "v", titles(1e39), []))
    "slot 'title' element 't1': mean 1e+39 is outside [-50, 50]"
    """
    for slot, elements in posterior.slots.items():
        for e in elements:
            where = f"slot {slot!r} element {e.element_id!r}"
            for name, value, low, high in (
                ("mean", e.mean, -MAX_LOGIT, MAX_LOGIT),
                ("sd", e.sd, 0.0, MAX_LOGIT),
                ("observations", e.observations, 0.0, MAX_OBSERVATIONS),
                ("conversion", e.conversion, 0.0, 1.0),
            ):
                if not (math.isfinite(value) and low <= value <= high):
                    return f"{where}: {name} {value:g} is outside [{low:g}, {high:g}]"
    for pair in posterior.pairs:
        for name, value, low in (("weight", pair.weight, -MAX_LOGIT), ("sd", pair.sd, 0.0)):
            if not (math.isfinite(value) and low <= value <= MAX_LOGIT):
                where = f"pair {pair.element_a!r}/{pair.element_b!r}"
                return f"{where}: {name} {value:g} is outside [{low:g}, {MAX_LOGIT:g}]"
    return None
