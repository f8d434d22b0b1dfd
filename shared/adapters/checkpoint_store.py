"""A worker group's partition checkpoints in Redis, and its fenced writes.

Every write of a partition's checkpoint, scores or posteriors runs as one Lua script that
first checks, atomically with the write:

- the group's *generation* key still holds the value this worker opened it with; a Redis
  that lost its data has lost that key too, so the write is refused (:class:`StateLost`)
  rather than leaving half a state beside nothing;
- each partition's *owner* token is still this worker's; a worker that takes a partition
  over increments it, so a paused old owner that wakes up writes nothing (fenced);
- for scores, the version they were computed at is not older than the newest the
  partition's owners wrote: a new owner restoring a checkpoint older than what the last
  owner published (it crashed in between) cannot roll Redis back (stale).

A refused partition writes nothing; the others of the same call are written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import NamedTuple, cast

import redis

from adcraft.shared.adapters.score_store import ScoreKey
from adcraft.shared.contract import keys
from adcraft.shared.runtime.errors import FatalError

# KEYS: generation, one owner key per partition, one published-version key per partition,
# then one key per operation. ARGV: generation, partition count, one token per partition,
# one version per partition ('' where none is checked), then per operation its partition's
# index (1-based), an opcode and two arguments. Returns the indices fenced and stale.
_GUARDED_WRITE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('ADCRAFT_STATE_LOST generation key missing or changed')
end
local n = tonumber(ARGV[2])
local skip, fenced, stale = {}, {}, {}
for i = 1, n do
  local version = ARGV[2 + n + i]
  if redis.call('GET', KEYS[1 + i]) ~= ARGV[2 + i] then
    skip[i] = true
    fenced[#fenced + 1] = i
  elseif version ~= '' then
    if tonumber(version) < tonumber(redis.call('GET', KEYS[1 + n + i]) or '-1') then
      skip[i] = true
      stale[#stale + 1] = i
    else
      redis.call('SET', KEYS[1 + n + i], version)
    end
  end
end
local k = 2 * n + 2
for j = 2 * n + 3, #ARGV, 4 do
  if not skip[tonumber(ARGV[j])] then
    local op, key = ARGV[j + 1], KEYS[k]
    if op == 'S' then redis.call('SET', key, ARGV[j + 2])
    elseif op == 'D' then redis.call('DEL', key)
    elseif op == 'R' then redis.call('RPUSH', key, ARGV[j + 2])
    else redis.call('HSET', key, ARGV[j + 2], ARGV[j + 3]) end
  end
  k = k + 1
end
return {fenced, stale}
"""


class StateLost(FatalError):
    """Redis no longer holds the state this worker checkpointed (it lost its data)."""


@dataclass
class StateWrite:
    """Changes to one partition's checkpoint: whole parts, and a chunk for its changelog
    (a ``pending`` part written with ``reset_log`` supersedes the log)."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    log_chunk: bytes | None = None
    reset_log: bool = False


class Refused(NamedTuple):
    """Partitions a write left out: fenced (another owner holds them) or stale (newer
    scores are stored)."""

    fenced: set[int]
    stale: set[int]


@dataclass(frozen=True)
class Checkpoint:
    """A partition's stored checkpoint, as written by :meth:`CheckpointStore.save`."""

    meta: bytes
    model: bytes
    pending: bytes | None
    log: list[bytes]
    layout: bytes | None = None


_Op = tuple[int, str, str, bytes | str, bytes | str]  # partition, opcode, key, arguments


class CheckpointStore:
    """Checkpoints and fenced writes of one consumer group; see the module docstring."""

    def __init__(self, redis_client: redis.Redis, group: str) -> None:
        self._redis = redis_client
        self._group = group
        self._script = redis_client.register_script(_GUARDED_WRITE)
        self.generation = ""

    def open(self) -> bool:
        """Adopt the group's generation, creating it when Redis has none; True if it was
        created (a new group, or a Redis that lost its data)."""
        created = bool(self._redis.set(keys.generation(self._group), uuid.uuid4().hex, nx=True))
        self.generation = cast(bytes, self._redis.get(keys.generation(self._group))).decode()
        return created

    def claim(self, partition: int) -> int:
        """Take ``partition`` over: a new owner token that fences every earlier owner."""
        return int(cast(int, self._redis.incr(keys.owner(self._group, partition))))

    def load(self, partition: int) -> Checkpoint | None:
        """The partition's checkpoint, read in one round trip; None if it has none."""
        pipe = self._redis.pipeline(transaction=True)
        for part in ("meta", "model", "pending"):
            pipe.get(keys.checkpoint(self._group, partition, part))
        pipe.lrange(keys.checkpoint(self._group, partition, "log"), 0, -1)
        pipe.get(keys.checkpoint(self._group, partition, "layout"))
        meta, model, pending, log, layout = pipe.execute()
        if meta is None or model is None:
            return None
        return Checkpoint(meta, model, pending, log, layout)

    def save(self, tokens: dict[int, int], writes: dict[int, StateWrite]) -> set[int]:
        """Write each partition's changes; return the partitions fenced (not written)."""
        ops: list[_Op] = []
        for partition, write in writes.items():
            for part, blob in write.blobs.items():
                ops.append((partition, "S", self._key(partition, part), blob, ""))
            if write.reset_log:
                ops.append((partition, "D", self._key(partition, "log"), "", ""))
            if write.log_chunk is not None:
                ops.append((partition, "R", self._key(partition, "log"), write.log_chunk, ""))
        return self._guarded(tokens, dict.fromkeys(writes, ""), ops).fenced

    def write_scores(
        self,
        tokens: dict[int, int],
        versions: dict[int, int],
        scores: dict[int, list[tuple[ScoreKey, bytes]]],
        posteriors: dict[int, list[tuple[str, str, bytes]]] | None = None,
    ) -> Refused:
        """Write encoded scores into the per-(ad, segment) hashes, and encoded posteriors
        (each with its ad and segment) over the previous ones, grouped by the partition
        that computed them at its ``versions``; return the partitions left out."""
        posteriors = posteriors or {}
        ops: list[_Op] = [
            (partition, "H", keys.scores(ad, segment), keys.element_field(slot, element), value)
            for partition, encoded in scores.items()
            for (ad, segment, slot, element), value in encoded
        ]
        ops += [
            (partition, "S", keys.posterior(ad, segment), blob, "")
            for partition, encoded in posteriors.items()
            for ad, segment, blob in encoded
        ]
        written = scores.keys() | posteriors.keys()
        return self._guarded(tokens, {p: versions[p] for p in written}, ops)

    def _key(self, partition: int, part: str) -> str:
        return keys.checkpoint(self._group, partition, part)

    def _guarded(
        self, tokens: dict[int, int], versions: dict[int, int | str], ops: list[_Op]
    ) -> Refused:
        order = sorted(versions)
        if not order:
            return Refused(set(), set())
        index = {partition: i for i, partition in enumerate(order, start=1)}
        argv: list[bytes | str | int] = [self.generation, len(order)]
        argv += [tokens[partition] for partition in order]
        argv += [versions[partition] for partition in order]
        for partition, op, _, first, second in ops:
            argv += [index[partition], op, first, second]
        script_keys = [keys.generation(self._group)]
        script_keys += [keys.owner(self._group, partition) for partition in order]
        script_keys += [keys.published(self._group, partition) for partition in order]
        script_keys += [key for _, _, key, _, _ in ops]
        try:
            fenced, stale = self._script(keys=script_keys, args=argv)
        except redis.ResponseError as exc:
            if "ADCRAFT_STATE_LOST" in str(exc):
                raise StateLost(
                    f"Redis lost the state of consumer group {self._group!r} (its generation "
                    "key is gone or changed): restart to rebuild it from Kafka"
                ) from None
            raise
        return Refused({order[i - 1] for i in fenced}, {order[i - 1] for i in stale})
