"""A spend window shared by a fleet, in Redis: `SpendPolicy(store=RedisSpendStore(...))`.

One Lua script reserves, commits and releases, each atomically, on one sorted set per window,
so that N processes together stay within a policy's `max_per_window`. The screening that needs
no window (amounts, networks, assets, payees) stays in `SpendPolicy`, in pure code.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

__all__ = ["RedisSpendStore"]


_SPEND = """
local now = tonumber(ARGV[2])
redis.call('zremrangebyscore', KEYS[1], '-inf', now - tonumber(ARGV[3]))
if ARGV[1] == 'release' or ARGV[1] == 'commit' then
  for i = 5, #ARGV do redis.call('zrem', KEYS[1], ARGV[i]) end
  if ARGV[1] == 'commit' and ARGV[4] ~= '' then
    redis.call('zadd', KEYS[1], now, ARGV[4])
  end
  redis.call('pexpire', KEYS[1], ARGV[3])
  return {}
end
local spent = {}
for _, member in ipairs(redis.call('zrange', KEYS[1], 0, -1)) do
  local asset, amount = string.match(member, '^[^:]*:([^:]*):([^:]*)$')
  if asset then spent[asset] = (spent[asset] or 0) + tonumber(amount) end
end
local reply = {}
local i = 5
while i <= #ARGV do
  local asset, limit, count = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local already = spent[asset] or 0
  local best = nil
  for j = i + 3, i + 2 + count do
    local amount = tonumber(ARGV[j])
    if (limit == '' or already + amount <= tonumber(limit)) and (not best or amount > best) then
      best = amount
    end
  end
  local member = ''
  if best and ARGV[1] == 'reserve' then
    member = ARGV[4] .. ':' .. asset .. ':' .. string.format('%d', best)
    redis.call('zadd', KEYS[1], now, member)
  end
  table.insert(reply, string.format('%d', already))
  table.insert(reply, member)
  i = i + 3 + count
end
redis.call('pexpire', KEYS[1], ARGV[3])
return reply
"""
#: Amounts are kept in millionths, as integers: exact in Lua's doubles up to 2**53.
_SPEND_SCALE = Decimal(10**6)


class RedisSpendStore:
    """A spend window shared by every process, for `SpendPolicy(store=...)`.

    Reservations, commits and releases are one Lua script each time, on one sorted set per
    window (`<namespace>:{spend:<name>}:entries`): N processes together stay within
    `max_per_window`. Amounts are counted in millionths of their unit, as integers (exact up
    to about 9·10^9 units per window); a reservation rounds up, a limit down. Entries are
    stamped with the wall clock, so keep the fleet's clocks in sync.

    When Redis does not answer, `reserve` raises the client's error: the spend policy fails
    closed, and the challenge is not paid.

    Args:
        client: A sync `redis.Redis`, `RedisCluster` or `valkey.Valkey` client.
        name: The window's name: policies with the same name share their spending.
        namespace: Prefix of the key.
        wall: Wall-clock seconds.

    Example:
        ```python
        policy = http402.SpendPolicy(
            max_amount={USDC: 50_000},
            max_per_window={USDC: 100_000},
            store=coordinator.spend_store(),
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
    ) -> None:
        self._key = f"{namespace}:{{spend:{name}}}:entries"
        self._script = client.register_script(_SPEND)
        self._wall = wall

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
        ticket = uuid.uuid4().hex
        args: list[Any] = ["look" if look_only else "reserve", *self._now(window), ticket]
        assets = list(offers)
        for asset in assets:
            limit, amounts = offers[asset]
            args += [asset.encode().hex(), "" if limit is None else _units(limit, ROUND_FLOOR)]
            args += [len(amounts), *(_units(amount, ROUND_CEILING) for amount in amounts)]
        reply = self._script(keys=[self._key], args=args)
        entries: list[str] = []
        spent: dict[str, Decimal] = {}
        reserved: dict[str, Decimal] = {}
        for asset, (already, member) in zip(assets, _pairs(reply), strict=True):
            spent[asset] = Decimal(already) / _SPEND_SCALE
            if member:
                entries.append(member)
                reserved[asset] = Decimal(member.rpartition(":")[2]) / _SPEND_SCALE
        return entries, spent, reserved

    def commit(self, window: float, entries: list[str], paid: tuple[str, Decimal] | None) -> None:
        """Replaces a reservation's `entries` with the amount `paid` (asset, amount); with
        `None`, the reservation stays as the amount spent."""
        if paid is None:
            return
        asset, amount = paid
        member = f"{uuid.uuid4().hex}:{asset.encode().hex()}:{_units(amount, ROUND_CEILING)}"
        self._script(keys=[self._key], args=["commit", *self._now(window), member, *entries])

    def release(self, window: float, entries: list[str]) -> None:
        """Gives a reservation's `entries` back."""
        self._script(keys=[self._key], args=["release", *self._now(window), "", *entries])

    def _now(self, window: float) -> tuple[int, int]:
        return int(self._wall() * 1000), int(window * 1000)


def _units(amount: Decimal, rounding: str) -> str:
    return str(int((amount * _SPEND_SCALE).to_integral_value(rounding)))


def _pairs(reply: Iterable[Any]) -> list[tuple[str, str]]:
    items = [item.decode() if isinstance(item, bytes) else str(item) for item in reply]
    return list(zip(items[::2], items[1::2], strict=True))
