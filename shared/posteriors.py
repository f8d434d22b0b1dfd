"""An ad's reward model posterior as the combination generator reads it.

The reward worker writes one :class:`AdPosterior` per (ad, segment) to Redis (key from
:mod:`shared.keys`); a request reads it back in one round trip. Everything is on the logit
scale of the reward model: an element's mean and sd are its own weight plus its segment
personalisation, a pair's weight is the learned interaction of two elements shown together
(only pairs that have been observed are published: the rest sit at their prior of zero).
Encoded as msgpack arrays, checked on decode.
"""

from __future__ import annotations

import msgspec


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
