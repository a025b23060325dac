"""A spend window shared by a fleet, in Redis: a `SpendPolicy` beside a fleet coordinator.

One Lua script reserves, commits and releases, each atomically, on one sorted set per window,
so that N processes together stay within a policy's `max_per_window`. The screening that needs
no window (prices, networks, assets, payees) stays in `SpendPolicy`, in pure code.

Amounts are exact: each is an integer of 10^-18 units (`_amounts`), written as decimal digits,
and the script adds and compares them digit by digit (Redis's Lua has only doubles, exact to
2^53: an 18-decimal token's amounts are far past it). What guards the window has no TTL, so
`volatile-*` eviction never takes it; the window's marker tells a store that lost its data (a
`FLUSHDB`, a restart without persistence). Each process re-adds the entries it made, and the
window then refuses payments (fails closed) until a whole window passed since the loss, or
`reset()` says the operator accepts the risk.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ._amounts import amount_of, units
from ._store import Runner

__all__ = ["AsyncRedisSpendStore", "RedisSpendStore", "SpendRefused"]


class SpendRefused(Exception):
    """The shared window cannot say what was spent: nothing may be paid (fail closed)."""


_SPEND = """
local function le(a, b)
  if #a ~= #b then return #a < #b end
  return a <= b
end
local function add(a, b)
  local out, carry, i, j = {}, 0, #a, #b
  while i > 0 or j > 0 or carry > 0 do
    local d = carry
    if i > 0 then d = d + string.byte(a, i) - 48; i = i - 1 end
    if j > 0 then d = d + string.byte(b, j) - 48; j = j - 1 end
    out[#out + 1] = string.char(48 + d % 10)
    carry = (d - d % 10) / 10
  end
  local digits = string.reverse(table.concat(out))
  digits = string.gsub(digits, '^0+', '')
  if digits == '' then return '0' end
  return digits
end
local t = redis.call('time')
local server = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local now = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
-- Policies with different windows may share a store: entries are kept for the longest
-- window any of them uses, and each counts only those inside its own.
local longest = math.max(tonumber(redis.call('get', KEYS[4]) or '0'), window)
local mark = redis.call('get', KEYS[2])
if not mark then
  -- No marker: the store lost the window (a flush, a restart), or this is its first use,
  -- which each process announces as it starts ('hello'). Anything else pays nothing for a
  -- window: what was spent before cannot be counted (fail closed).
  mark = ARGV[6] .. ':' .. string.format('%d', server)
  redis.call('set', KEYS[2], mark)
  if ARGV[1] ~= 'hello' then
    redis.call('set', KEYS[3], string.format('%d', server + window))
  end
  if ARGV[5] ~= '' then return {'lost', mark} end
elseif ARGV[5] ~= '' and ARGV[5] ~= mark and ARGV[1] ~= 'reseed' then
  return {'lost', mark}
end
if ARGV[1] == 'hello' then
  return {'ok', mark}
end
if ARGV[1] == 'reset' then
  redis.call('del', KEYS[3])
  return {'ok', mark}
end
if ARGV[1] ~= 'hello' and ARGV[1] ~= 'reset' then
  redis.call('set', KEYS[4], string.format('%d', longest))
end
redis.call('zremrangebyscore', KEYS[1], '-inf', string.format('(%d', now - longest))
if ARGV[1] == 'reseed' then
  for i = 7, #ARGV - 1, 2 do redis.call('zadd', KEYS[1], 'NX', ARGV[i + 1], ARGV[i]) end
  local lost_until = tonumber(redis.call('get', KEYS[3]) or '0')
  local created = tonumber(string.match(mark, ':(%d+)$') or '0')
  redis.call('set', KEYS[3], string.format('%d', math.max(lost_until, created + window)))
  return {'ok', mark}
end
if ARGV[1] == 'release' or ARGV[1] == 'commit' then
  for i = 7, #ARGV do redis.call('zrem', KEYS[1], ARGV[i]) end
  if ARGV[1] == 'commit' and ARGV[4] ~= '' then
    redis.call('zadd', KEYS[1], now, ARGV[4])
  end
  return {'ok', mark}
end
local lost = tonumber(redis.call('get', KEYS[3]) or '0')
if lost > 0 then
  -- After a loss each window pays nothing for a whole window of its own.
  lost = math.max(lost, tonumber(string.match(mark, ':(%d+)$') or '0') + window)
end
if lost > server then
  return {'recovering', mark, string.format('%d', lost)}
end
local spent = {}
local inside = string.format('%d', now - window)
for _, member in ipairs(redis.call('zrangebyscore', KEYS[1], inside, '+inf')) do
  local asset, amount = string.match(member, '^[^:]*:([^:]*):([^:]*)$')
  if not asset or not string.match(amount, '^%d+$') then
    return {'unreadable', mark}
  end
  spent[asset] = add(spent[asset] or '0', amount)
end
local reply = {'ok', mark}
local i = 7
while i <= #ARGV do
  local asset, limit, count = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local already = spent[asset] or '0'
  local best = nil
  for j = i + 3, i + 2 + count do
    local amount = ARGV[j]
    if (limit == '' or le(add(already, amount), limit)) and (not best or le(best, amount)) then
      best = amount
    end
  end
  local member = ''
  if best and ARGV[1] == 'reserve' then
    member = ARGV[4] .. ':' .. asset .. ':' .. best
    redis.call('zadd', KEYS[1], now, member)
  end
  table.insert(reply, already)
  table.insert(reply, member)
  i = i + 3 + count
end
return reply
"""


class _Window:
    """What the sync and async stores share: keys, arguments, the entries this process made
    (to re-add after a loss), and reading replies; no I/O."""

    def __init__(
        self,
        *,
        name: str,
        namespace: str,
        wall: Callable[[], float],
    ) -> None:
        tag = f"{namespace}:{{spend:{name}}}"
        # `:window` (not the earlier `:entries`, counted in millionths): a new layout.
        self._keys = [f"{tag}:window", f"{tag}:marker", f"{tag}:lost", f"{tag}:longest"]
        self._wall = wall
        #: The longest window (ms) this process used the store with: its entries are kept
        #: (to re-add after a loss) for that long, whatever window a call counts.
        self._longest = 0
        self._marker_id = uuid.uuid4().hex
        self._known = ""
        #: The entries this process reserved or committed, and when: re-added after a loss.
        self._mine: dict[str, int] = {}

    def _args(self, operation: str, window: float, ticket: str, rest: list[Any]) -> list[Any]:
        now = int(self._wall() * 1000)
        self._longest = max(self._longest, int(window * 1000))
        horizon = now - self._longest
        for member in [m for m, at in self._mine.items() if at < horizon]:
            del self._mine[member]
        head = [operation, now, int(window * 1000), ticket, self._known, self._marker_id]
        return head + rest

    def _reseed_args(self, window: float) -> list[Any]:
        pairs = [item for member, at in self._mine.items() for item in (member, at)]
        return self._args("reseed", window, "", pairs)

    def _reserve_args(
        self,
        window: float,
        offers: dict[str, tuple[Decimal | None, list[Decimal]]],
        look_only: bool,
    ) -> tuple[list[Any], list[str]]:
        rest: list[Any] = []
        assets = list(offers)
        for asset in assets:
            limit, amounts = offers[asset]
            rest += [asset.encode().hex(), "" if limit is None else str(units(limit))]
            rest += [len(amounts), *(str(units(amount)) for amount in amounts)]
        ticket = uuid.uuid4().hex
        return self._args("look" if look_only else "reserve", window, ticket, rest), assets

    def _read(
        self, reply: list[Any], assets: list[str]
    ) -> tuple[list[str], dict[str, Decimal], dict[str, Decimal]]:
        status, *rest = (_text(item) for item in reply)
        if status == "recovering":
            until = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(rest[1]) / 1000))
            raise SpendRefused(
                "the fleet's spend window lost its records (Redis lost its data) and pays "
                f"nothing until {until} UTC, a whole window later; RedisSpendStore.reset() "
                "resumes at once"
            )
        if status == "unreadable":
            raise SpendRefused("the fleet's spend window holds an entry it cannot read")
        entries: list[str] = []
        spent: dict[str, Decimal] = {}
        reserved: dict[str, Decimal] = {}
        values = rest[1:]
        now = int(self._wall() * 1000)
        for asset, already, member in zip(assets, values[::2], values[1::2], strict=True):
            spent[asset] = amount_of(int(already))
            if member:
                entries.append(member)
                self._mine[member] = now
                reserved[asset] = amount_of(int(member.rpartition(":")[2]))
        return entries, spent, reserved

    def _commit_args(
        self, window: float, entries: list[str], paid: tuple[str, Decimal] | None
    ) -> list[Any]:
        member = ""
        for entry in entries:
            self._mine.pop(entry, None)
        if paid is not None:
            asset, amount = paid
            member = f"{uuid.uuid4().hex}:{asset.encode().hex()}:{units(amount)}"
            self._mine[member] = int(self._wall() * 1000)
        return self._args("commit", window, member, list(entries))

    def _release_args(self, window: float, entries: list[str]) -> list[Any]:
        for entry in entries:
            self._mine.pop(entry, None)
        return self._args("release", window, "", list(entries))

    def _lost(self, reply: list[Any]) -> bool:
        """`True` when the store lost its data since this process last saw it."""
        status, mark = _text(reply[0]), _text(reply[1])
        if status == "lost":
            return True
        self._known = mark
        return False


class RedisSpendStore(_Window):
    """A spend window shared by every process: a `SpendPolicy` given to a transport whose
    coordinator is a `RedisCoordinator` uses `coordinator.spend_store()` unless told
    `per_process=True`; pass `store=` to name another window.

    Reservations, commits and releases are one Lua script each time, on one sorted set per
    window (`<namespace>:{spend:<name>}:window`): N processes together stay within
    `max_per_window`, exactly, for any asset and any number of decimals. Entries are stamped
    with the wall clock, so keep the fleet's clocks in sync.

    When Redis does not answer, or lost its data within the last window, reserving raises
    `SpendRefused` or the client's error, and the spend policy refuses the offer (fails
    closed): nothing is paid.

    Args:
        client: A sync `redis.Redis`, `RedisCluster` or `valkey.Valkey` client.
        name: The window's name: policies with the same name share their spending.
        namespace: Prefix of the key.
        wall: Wall-clock seconds.
        store_timeout: Most seconds one call may take, or `None` to trust the client.

    Example:
        ```python
        policy = http402.SpendPolicy(
            max_amount={USDC: 50_000},
            max_per_window={USDC: 100_000},
            store=coordinator.spend_store("wallet-a"),
        )
        ```
    """

    def __init__(
        self,
        client: Any,
        *,
        name: str = "default",
        namespace: str = "http402",
        wall: Callable[[], float] = time.time,
        store_timeout: float | None = 1.0,
    ) -> None:
        super().__init__(name=name, namespace=namespace, wall=wall)
        self._script = client.register_script(_SPEND)
        self._runner = Runner(store_timeout)
        # Announce this process before it pays: a window whose marker then goes missing
        # was lost, not new.
        with contextlib.suppress(Exception):
            self._call(0.0, self._args("hello", 0.0, "", []))

    def reserve(
        self,
        window: float,
        offers: dict[str, tuple[Decimal | None, list[Decimal]]],
        *,
        look_only: bool = False,
    ) -> tuple[list[str], dict[str, Decimal], dict[str, Decimal]]:
        """Reserves, per asset, the dearest amount that fits under its limit, atomically.

        Args:
            window: The window's length, in seconds.
            offers: Per asset, its `max_per_window` (or `None`) and the amounts on offer.
            look_only: Reserve nothing; only read what was spent.

        Returns:
            The reservation's entries (for `commit` and `release`), what was spent per
            asset before it, and the amount reserved per asset.
        """
        args, assets = self._reserve_args(window, offers, look_only)
        return self._read(self._call(window, args), assets)

    def commit(self, window: float, entries: list[str], paid: tuple[str, Decimal] | None) -> None:
        """Replaces a reservation's `entries` with the amount `paid` (asset, amount); with
        `None`, the reservation stays as the amount spent."""
        if paid is not None:
            self._call(window, self._commit_args(window, entries, paid))

    def release(self, window: float, entries: list[str]) -> None:
        """Gives a reservation's `entries` back."""
        self._call(window, self._release_args(window, entries))

    def reset(self, window: float = 0.0) -> None:
        """Lets the window pay again at once after Redis lost its data, accepting that what
        was spent before the loss and not re-added by a live process is not counted."""
        self._call(window, self._args("reset", window, "", []))

    def _call(self, window: float, args: list[Any]) -> list[Any]:
        reply = self._runner.run(lambda: self._script(keys=self._keys, args=args))
        if self._lost(reply):
            self._known = ""
            self._lost(
                self._runner.run(
                    lambda: self._script(keys=self._keys, args=self._reseed_args(window))
                )
            )
            args = [*args[:4], self._known, *args[5:]]
            reply = self._runner.run(lambda: self._script(keys=self._keys, args=args))
            self._lost(reply)
        return reply  # type: ignore[no-any-return]


class AsyncRedisSpendStore(_Window):
    """`RedisSpendStore` on an async client (`AsyncRedisCoordinator.spend_store()`): its
    methods are `areserve`, `acommit`, `arelease` and `areset`. `commit` and `release` also
    work from a worker thread of the event loop (where the async transport settles a hook's
    reservation) and from the loop itself (as a task)."""

    def __init__(
        self,
        client: Any,
        *,
        name: str = "default",
        namespace: str = "http402",
        wall: Callable[[], float] = time.time,
        store_timeout: float | None = 1.0,
    ) -> None:
        super().__init__(name=name, namespace=namespace, wall=wall)
        self._script = client.register_script(_SPEND)
        self._timeout = store_timeout

    async def areserve(
        self,
        window: float,
        offers: dict[str, tuple[Decimal | None, list[Decimal]]],
        *,
        look_only: bool = False,
    ) -> tuple[list[str], dict[str, Decimal], dict[str, Decimal]]:
        if not self._known:  # this process's first call announces it (see `RedisSpendStore`)
            with contextlib.suppress(Exception):
                await self._call(0.0, self._args("hello", 0.0, "", []))
        args, assets = self._reserve_args(window, offers, look_only)
        return self._read(await self._call(window, args), assets)

    async def acommit(
        self, window: float, entries: list[str], paid: tuple[str, Decimal] | None
    ) -> None:
        if paid is not None:
            await self._call(window, self._commit_args(window, entries, paid))

    async def arelease(self, window: float, entries: list[str]) -> None:
        await self._call(window, self._release_args(window, entries))

    async def areset(self, window: float = 0.0) -> None:
        await self._call(window, self._args("reset", window, "", []))

    def commit(self, window: float, entries: list[str], paid: tuple[str, Decimal] | None) -> None:
        self._bridge(self.acommit, window, entries, paid)

    def release(self, window: float, entries: list[str]) -> None:
        self._bridge(self.arelease, window, entries)

    def reserve(
        self,
        window: float,
        offers: dict[str, tuple[Decimal | None, list[Decimal]]],
        *,
        look_only: bool = False,
    ) -> tuple[list[str], dict[str, Decimal], dict[str, Decimal]]:
        raise TypeError("an async spend store reserves with areserve (the async transport)")

    def _bridge(self, method: Any, *args: Any) -> None:
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            import anyio.from_thread

            anyio.from_thread.run(method, *args)
            return
        task = loop.create_task(method(*args))
        _SETTLING.add(task)
        task.add_done_callback(_SETTLING.discard)

    async def _run(self, args: list[Any]) -> list[Any]:
        import asyncio

        call = self._script(keys=self._keys, args=args)
        reply: list[Any] = await (
            call if self._timeout is None else asyncio.wait_for(call, self._timeout)
        )
        return reply

    async def _call(self, window: float, args: list[Any]) -> list[Any]:
        reply = await self._run(args)
        if self._lost(reply):
            self._known = ""
            self._lost(await self._run(self._reseed_args(window)))
            args = [*args[:4], self._known, *args[5:]]
            reply = await self._run(args)
            self._lost(reply)
        return reply


#: Settlements scheduled from the event loop: referenced until done.
_SETTLING: set[Any] = set()


def _text(item: Any) -> str:
    if item is None:
        return ""
    return item.decode() if isinstance(item, bytes) else str(item)
