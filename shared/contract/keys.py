"""Every Redis key adcraft reads or writes is built here, and nowhere else.

An ad's keys carry its id as a hash tag (``{ad}``) so they share a Redis Cluster slot; a
worker group's state keys carry the group the same way.
"""

from __future__ import annotations

PREFIX = "adcraft"


def scores(ad_id: str, segment: str) -> str:
    """Hash holding every element score of one ad for one segment.

    >>> scores("ad-1", "young")
    'adcraft:scores:{ad-1}:young'
    """
    return f"{PREFIX}:scores:{{{ad_id}}}:{segment}"


def element_field(slot: str, element_id: str) -> str:
    """Field of one element within its ad's and segment's score hash.

    >>> element_field("title", "t1")
    'title|t1'
    """
    return f"{slot}|{element_id}"


def posterior(ad_id: str, segment: str) -> str:
    """One ad's reward model posterior for one segment (an encoded
    :class:`~adcraft.shared.contract.posteriors.AdPosterior`).

    >>> posterior("ad-1", "young")
    'adcraft:posterior:{ad-1}:young'
    """
    return f"{PREFIX}:posterior:{{{ad_id}}}:{segment}"


def every_posterior() -> str:
    """SCAN pattern of every ad posterior key.

    >>> every_posterior()
    'adcraft:posterior:*'
    """
    return f"{PREFIX}:posterior:*"


def generation(group: str) -> str:
    """The group's state generation: set once when its state is first created, so a Redis
    that lost its data (and with it this key) is told apart from one that has it.

    >>> generation("adcraft-rewards")
    'adcraft:state:{adcraft-rewards}:generation'
    """
    return f"{PREFIX}:state:{{{group}}}:generation"


def owner(group: str, partition: int) -> str:
    """Fencing token of a partition: incremented by each worker that takes it over.

    >>> owner("adcraft-rewards", 3)
    'adcraft:state:{adcraft-rewards}:3:owner'
    """
    return f"{PREFIX}:state:{{{group}}}:{partition}:owner"


def checkpoint(group: str, partition: int, part: str) -> str:
    """One part (``meta``, ``model``, ``layout``, ``pending``, ``log``) of a partition's
    checkpoint.

    >>> checkpoint("adcraft-rewards", 3, "meta")
    'adcraft:state:{adcraft-rewards}:3:meta'
    """
    return f"{PREFIX}:state:{{{group}}}:{partition}:{part}"


def published(group: str, partition: int) -> str:
    """The version of the newest scores a partition's owners wrote: a write of an older one
    (a new owner restoring a checkpoint older than what the last one published) is refused.

    >>> published("adcraft-rewards", 3)
    'adcraft:state:{adcraft-rewards}:3:published'
    """
    return f"{PREFIX}:state:{{{group}}}:{partition}:published"


def copy_pool(ad_id: str, segment: str, style: str) -> str:
    """The copy pool of one ad, segment and copy style (an encoded
    :class:`~adcraft.shared.contract.copy_pool.Pool`, rewritten whole by its writer).

    >>> copy_pool("ad-1", "young", "warm/urgent")
    'adcraft:copy:{ad-1}:young:warm/urgent'
    """
    return f"{PREFIX}:copy:{{{ad_id}}}:{segment}:{style}"


def copy_review(ad_id: str, segment: str, style: str) -> str:
    """Hash of the review decisions on one pool's variants, by variant id (written only by
    reviewers: they outlive every rewrite of the pool).

    >>> copy_review("ad-1", "young", "warm/urgent")
    'adcraft:copy-review:{ad-1}:young:warm/urgent'
    """
    return f"{PREFIX}:copy-review:{{{ad_id}}}:{segment}:{style}"


def answer(group: str, ad_id: str, request_id: str) -> str:
    """The recommendation a request worker group published for a request (its bytes, kept
    a while past its deadline): a redelivered request gets the same answer.

    >>> answer("adcraft-requests", "ad-1", "r-9")
    'adcraft:answer:{ad-1}:adcraft-requests:r-9'
    """
    return f"{PREFIX}:answer:{{{ad_id}}}:{group}:{request_id}"


def experiment(name: str) -> str:
    """The design (arms, shares, policies) an experiment started with: the same name may
    not run with another.

    >>> experiment("creative-1")
    'adcraft:experiment:creative-1'
    """
    return f"{PREFIX}:experiment:{name}"
