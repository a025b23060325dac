"""A fake Redis for the simulation: the coordinators' own Lua scripts, run by Lua 5.1 (the
version Redis embeds, through lupa) on an in-memory keyspace, on the simulation's clock.

Only what the scripts and the spend store use is here: `TIME`, strings, hashes, sorted sets,
`PUBLISH`. Replies convert as Redis converts them (a missing bulk is `false` in Lua and `None`
outside; Lua numbers become integers; strings become bytes). Faults act on the keyspace:
`flush` empties it, `evict` deletes what a `volatile-*` or `allkeys-*` policy may pick,
`snapshot`/`restore` stand in for a failover to a replica that lags.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from lupa.lua51 import LuaRuntime


class FakeRedis:
    """An in-memory keyspace that runs Lua scripts atomically, at `now_ms()`."""

    def __init__(self, now_ms: Callable[[], int]) -> None:
        self.now_ms = now_ms
        self.data: dict[str, Any] = {}
        self.expires: dict[str, int] = {}
        self.published: defaultdict[str, list[bytes]] = defaultdict(list)
        self.listeners: defaultdict[str, list[Callable[[], None]]] = defaultdict(list)
        self._lua = LuaRuntime(unpack_returned_tuples=True)
        redis = self._lua.table()
        redis.call = self._call_from_lua
        self._lua.globals().redis = redis
        self._compiled: dict[str, Any] = {}
        self.scripts_run = 0

    # --- scripts --------------------------------------------------------------------------

    def eval(self, script: str, keys: list[Any], args: list[Any]) -> Any:
        """Runs `script` atomically, as `EVALSHA` does."""
        function = self._compiled.get(script)
        if function is None:
            function = self._compiled[script] = self._lua.compile(script)
        g = self._lua.globals()
        g.KEYS = self._lua.table_from([_str(k) for k in keys])
        g.ARGV = self._lua.table_from([_str(a) for a in args])
        self.scripts_run += 1
        return _to_reply(function())

    def _call_from_lua(self, command: str, *args: Any) -> Any:
        reply = self.command(command, *args)
        return self._to_lua(reply)

    def _to_lua(self, reply: Any) -> Any:
        if reply is None:
            return False
        if isinstance(reply, list):
            return self._lua.table_from([self._to_lua(item) for item in reply])
        return reply

    # --- commands -------------------------------------------------------------------------

    def command(self, name: str, *args: Any) -> Any:
        handler = getattr(self, f"_{name.lower()}")
        self._expire()
        return handler(*[_str(a) for a in args])

    def _expire(self) -> None:
        now = self.now_ms()
        for key in [k for k, at in self.expires.items() if at <= now]:
            self.data.pop(key, None)
            del self.expires[key]

    def _time(self) -> list[str]:
        now = self.now_ms()
        return [str(now // 1000), str((now % 1000) * 1000)]

    def _get(self, key: str) -> str | None:
        value = self.data.get(key)
        return value if isinstance(value, str) else None

    def _set(self, key: str, value: str, *options: str) -> str | None:
        upper = [o.upper() for o in options]
        if "NX" in upper and key in self.data:
            return None
        self.data[key] = value
        self.expires.pop(key, None)
        if "PX" in upper:
            self.expires[key] = self.now_ms() + int(options[upper.index("PX") + 1])
        return "OK"

    def _del(self, *keys: str) -> int:
        count = 0
        for key in keys:
            if self.data.pop(key, None) is not None:
                count += 1
            self.expires.pop(key, None)
        return count

    def _exists(self, *keys: str) -> int:
        return sum(key in self.data for key in keys)

    def _hash(self, key: str) -> dict[str, str]:
        value = self.data.setdefault(key, {})
        assert isinstance(value, dict), f"WRONGTYPE {key}"
        return value

    def _hset(self, key: str, *pairs: str) -> int:
        table = self._hash(key)
        added = 0
        for field, value in zip(pairs[::2], pairs[1::2], strict=True):
            added += field not in table
            table[field] = value
        return added

    def _hget(self, key: str, field: str) -> str | None:
        value = self.data.get(key)
        return value.get(field) if isinstance(value, dict) else None

    def _hmget(self, key: str, *fields: str) -> list[str | None]:
        return [self._hget(key, field) for field in fields]

    def _hkeys(self, key: str) -> list[str]:
        value = self.data.get(key)
        return list(value) if isinstance(value, dict) else []

    def _hlen(self, key: str) -> int:
        value = self.data.get(key)
        return len(value) if isinstance(value, dict) else 0

    def _hgetall(self, key: str) -> list[str]:
        value = self.data.get(key)
        return [x for pair in value.items() for x in pair] if isinstance(value, dict) else []

    def _hdel(self, key: str, *fields: str) -> int:
        table = self.data.get(key)
        if not isinstance(table, dict):
            return 0
        count = sum(table.pop(field, None) is not None for field in fields)
        if not table:
            self._del(key)
        return count

    def _zset(self, key: str) -> dict[str, float]:
        value = self.data.setdefault(key, _ZSet())
        assert isinstance(value, _ZSet), f"WRONGTYPE {key}"
        return value

    def _zadd(self, key: str, *args: str) -> int:
        nx = args and args[0].upper() == "NX"
        pairs = args[1:] if nx else args
        zset = self._zset(key)
        added = 0
        for score, member in zip(pairs[::2], pairs[1::2], strict=True):
            if member in zset and nx:
                continue
            added += member not in zset
            zset[member] = float(score)
        return added

    def _zrem(self, key: str, *members: str) -> int:
        zset = self.data.get(key)
        if not isinstance(zset, _ZSet):
            return 0
        count = sum(zset.pop(m, None) is not None for m in members)
        if not zset:
            self._del(key)
        return count

    def _zremrangebyscore(self, key: str, low: str, high: str) -> int:
        zset = self.data.get(key)
        if not isinstance(zset, _ZSet):
            return 0
        gone = self._zrangebyscore(key, low, high)
        for member in gone:
            del zset[member]
        if not zset:
            self._del(key)
        return len(gone)

    def _zcard(self, key: str) -> int:
        zset = self.data.get(key)
        return len(zset) if isinstance(zset, _ZSet) else 0

    def _ordered(self, key: str) -> list[tuple[str, float]]:
        zset = self.data.get(key)
        if not isinstance(zset, _ZSet):
            return []
        return sorted(zset.items(), key=lambda item: (item[1], item[0]))

    def _zrange(self, key: str, start: str, stop: str, *options: str) -> list[str]:
        items = _slice(self._ordered(key), int(start), int(stop))
        if options and options[0].upper() == "WITHSCORES":
            return [x for member, score in items for x in (member, _score(score))]
        return [member for member, _ in items]

    def _zrangebyscore(self, key: str, low: str, high: str) -> list[str]:
        # Redis's score bounds: inclusive, or exclusive after "(" ("+inf" and "-inf" parse).
        def bound(text: str) -> tuple[float, bool]:
            return float(text.lstrip("(")), text.startswith("(")

        (lo, lo_open), (hi, hi_open) = bound(low), bound(high)
        return [
            member
            for member, score in self._ordered(key)
            if (score > lo if lo_open else score >= lo) and (score < hi if hi_open else score <= hi)
        ]

    def _zrevrange(self, key: str, start: str, stop: str) -> list[str]:
        items = _slice(list(reversed(self._ordered(key))), int(start), int(stop))
        return [member for member, _ in items]

    def _publish(self, channel: str, message: str) -> int:
        self.published[channel].append(message.encode())
        listeners, self.listeners[channel] = self.listeners[channel], []
        for wake in listeners:
            wake()
        return len(listeners)

    # --- faults ---------------------------------------------------------------------------

    def flush(self) -> None:
        """`FLUSHDB`, or a restart without persistence."""
        self.data.clear()
        self.expires.clear()

    def evict(self, choose: Callable[[list[str]], list[str]], volatile: bool) -> list[str]:
        """Deletes the keys `choose` picks among those a `volatile-*` (keys with a TTL) or
        `allkeys-*` policy may evict."""
        self._expire()
        candidates = sorted(self.expires) if volatile else sorted(self.data)
        gone = choose(candidates)
        self._del(*gone)
        return gone

    def snapshot(self) -> tuple[dict[str, Any], dict[str, int]]:
        return copy.deepcopy(self.data), dict(self.expires)

    def restore(self, snapshot: tuple[dict[str, Any], dict[str, int]]) -> None:
        """A failover to a replica that has only what `snapshot` had."""
        self.data, self.expires = copy.deepcopy(snapshot[0]), dict(snapshot[1])


class _ZSet(dict[str, float]):
    pass


def _slice(items: list[Any], start: int, stop: int) -> list[Any]:
    size = len(items)
    start = start + size if start < 0 else start
    stop = stop + size if stop < 0 else stop
    return items[max(start, 0) : stop + 1]


def _score(score: float) -> str:
    return str(int(score)) if score == int(score) else repr(score)


def _str(value: Any) -> Any:
    """An argument as Redis sees it: text (a Lua number as Redis formats it)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    return value


def _to_reply(value: Any) -> Any:
    """A script's return value as a client receives it."""
    if value is None or value is False:
        return None
    if value is True:
        return 1
    if isinstance(value, float):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes):
        return value
    items = []
    index = 1
    while True:
        item = value[index]
        if item is None:
            return items
        items.append(_to_reply(item))
        index += 1
