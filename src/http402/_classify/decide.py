"""The one decision: from what a payload states (`Fields`) to a reason, or no gate.

`decide(fields, strict=...)` climbs one ladder, each rung stated once:

1. **A throttle is no gate.** Throttle wording ("per minute", "too many requests",
   "concurrent requests") in any message vetoes everything, billing codes included: it lifts
   by itself. A throttle's code vetoes too, unless a finer code names a billing family
   (Anthropic's category `rate_limit_error` next to `enforced_spend_limit_reached`) or the
   error's own words plainly state one ("you have exceeded your monthly spend limit"). A
   message that restates the status ("Too many requests") or says only that the request was
   "throttled", naming no rate, window or concurrency, is such a category too: "Your scrape
   request has been throttled. API Credit Budget reached." is the budget's. Every piece of
   evidence states its time window (`windows.py`: none, named, a rate, a day, a period),
   and the windows are weighed in one place (`_throttle_gives_way`, `_field_windows`): a
   limit named with no window gives way to a period stated with a gate in another text, a
   rate's or a day's window never does. On a
   strict reading a weak throttle vetoes too (a daily or hourly window), and so does throttle
   wording anywhere in the first 4 KiB of the body when no billing code speaks and the
   words state no gate plainly (`context`: Google's `...PerMinute...` quota id sits in
   `details`).
   A refused transfer of the application's own money is no gate either: a payout or a
   transfer that lacks funds, by its words, its code, or (`moves_money`) its request's URL
   (issue 23's judgement: the API is not asking to be paid; a top-up hook must not answer).
   The code gives way to the error's own words when they state plainly that the account's
   balance ran out and name no movement (`_balance_stated`: YCloud's `BALANCE_INSUFFICIENT`).
2. **Another refusal stated plainly outvotes a code.** A message that says a key is invalid,
   an account is locked for security or banned for a policy, a storage quota, a validation
   error: the codes are not read, nor is weak wording; strong billing wording still is.
3. **A code that names what happened** (`card_declined`, `insufficient_balance`,
   `billing_not_active`, `paid_plan_required`) decides: the first such code.
4. **Wording that names what happened** decides, with the codes that are vague
   (`insufficient_quota`) and the codes read only by their words' concepts: the family of
   lowest rank wins (`families.py` says why). A vague family (a quota, an allowance) takes
   the reason of the remedy the message asks for, if any ("change plan to get more" makes a
   quota a plan limit); a bare quota next to a `limit` object that says a fixed allowance
   is used up is the plan's.
5. **A remedy alone** ("top up", "upgrade your plan", "add a payment method") decides;
   on a strict reading, not when another refusal is stated plainly (rung 2).
6. **Fields alone**, only on a reading that is not strict: a price with where to pay it
   (`price`, `price_usdc`, `amount_wei` beside `pay_to`, `recipient`, `payment_options`,
   a `chain`, a CAIP-2 `network`, a `protocol` that names one) is a
   challenge of no known protocol (no offer is built from it); a required plan is a plan
   limit; an amount required or available, or a `limit` object with nothing remaining, is
   money.

7. **A 402's own reading** (`read_a_402`), only on a 402 whose rungs 1 to 6 named no gate:
   the status already says "pay", so a 402 is no gate only when its words plainly say
   something else and name no billing at all (`lifts_by_itself`). A window, a throttle's
   words or a retry asked vetoes the clause it is stated in, never the billing stated
   beside it: "Your credit balance is too low to use AI Gateway. ... please try again in a
   little bit" is a balance, and rungs 1 to 6 decide again on what the error states outside
   its windows, when that states a gate plainly (a family by a strong rule or a code, not a
   remedy, not a bare quota: "Too many requests per minute. Upgrade your plan for higher
   limits." and "You cannot make more than 10 requests per minute on your current plan."
   stay a throttle's). Where no window, bad key or other look-alike is stated, the concepts
   a clause names give the reason with the vetoes that lift nothing set aside (a lookup's
   "with ID", a sandbox: `clauses.SET_ASIDE_ON_A_402`), down to one billing concept named
   ("You must upgrade to make additional requests." is the plan's): `vocabulary/
   combinations.py`'s fallback rules and `NAMED_ON_A_402`. Else the 402 is `unknown`. A
   refused transfer's veto holds on a 402 too (issue 23).

`strict` is for a status other than 402 from a host with no adapter of its own (and for a
stream's event): only strong rules count there. Weak rules count on a 402 and on a
provider's own host, where the status or the host already says "pay".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

import attrs

from .._models import Reason
from .clauses import CONCEPT_SCAN, ConceptReading, read_concepts, read_on_a_402
from .families import Family
from .fields import RESET_UNITS, Code, Fields, Message
from .rules import Strength, WordRule, code_words, normalize_code, without_suffix
from .vocabulary import CODE_AS_WORDS, CODE_WORDS, CODES, WORDING
from .vocabulary.lookalikes import NO_PAYMENT_LIFTS, NO_PAYMENT_LIFTS_CODES
from .vocabulary.throttle import PERIOD_WINDOW
from .windows import RETRY_SOON, SHORT, THROTTLE_ORDER, Window, window_of_seconds

__all__ = [
    "Statements",
    "Verdict",
    "decide",
    "first_code",
    "lifts_by_itself",
    "read_a_402",
    "read_code",
    "read_words",
    "says_payment_required",
    "unless_a_transfer",
]

#: How much of a text the wording rules search: a provider states the reason up front.
WORDS_SCAN = 4096
#: How much of a body a strict reading searches for throttle wording beyond the messages.
CONTEXT_SCAN = 4096

_STRONG = Strength.STRONG
_VETOES = frozenset({Family.THROTTLE, Family.TRANSFER_REFUSED})
#: What a lack of funds decides: on a request that moves the application's own money, it is
#: that transfer's, not the API's bill.
_FUNDS = frozenset({Family.BALANCE_EXHAUSTED, Family.INSTRUMENT_DECLINED, Family.TOP_UP_ASKED})
#: What a license's state decides: on a request that asks about a license key, that license's.
_LICENSE_STATES = frozenset({Family.SUBSCRIPTION_INACTIVE, Family.TRIAL_RESTRICTION})


@attrs.frozen
class Statements:
    """What one text or one code states: the families of its strong and of its weak rules,
    and the names of the rules that matched (for `http402 explain`).

    What the ladder asks of it is worked out once, here: a text or a code is read once and
    kept (`read_words`, `read_code`), and asked on every decision.
    """

    strong: frozenset[Family] = frozenset()
    weak: frozenset[Family] = frozenset()
    rules: tuple[str, ...] = ()
    #: Stated by a code's words' concepts (no code rule knows it), or by a code that names
    #: what the request needs rather than what happened (`CodeRule.joins_words`): such a
    #: code does not decide before the message's words, it joins them (rung 4).
    by_concepts: bool = False
    #: Whether it states a limit that lifts by itself: a rate limit, a time window, a
    #: resource in use (memory). A 402 that states one and no gate is no gate.
    lifts: bool = False
    #: Whether its words say the credits that ran out are the plan's allowance for a period
    #: (a concept rule that replaces a balance read by a wording rule: "your monthly credits
    #: are used up", credits the next billing cycle renews): such words refine a code that
    #: says credits or a balance ran out (rung 3).
    credits_of_plan: bool = False
    #: Whether its words say a charge of the account failed and name no card, no payment
    #: method and no other decline ("We had a problem billing your account"): what failed
    #: is then named by a remedy that points at the balance (rung 4).
    charge_unnamed: bool = False
    #: The window its throttle states (`windows.py`), `None` when it states none: the one
    #: its rules state most precisely (`THROTTLE_ORDER`); `NONE` for the status restated
    #: ("Too many requests") or "throttled" with no rate, window or concurrency, a category
    #: that a gate the error's words state plainly outranks ("throttled. API Credit Budget
    #: reached."); `NAMED` for a throttle its concepts state, with no rule's window.
    window: Window | None = None
    #: Whether its words state a window of months or the billing period (`PERIOD_WINDOW`).
    period: bool = False
    #: The gate families that count on a strict reading (strong ones), then on any reading,
    #: each by rank.
    strict_gates: tuple[Family, ...] = attrs.field(init=False, repr=False, eq=False)
    gates: tuple[Family, ...] = attrs.field(init=False, repr=False, eq=False)
    #: Whether a throttle or a refused transfer vetoes a strict reading, and any reading.
    strict_veto: bool = attrs.field(init=False, repr=False, eq=False)
    veto: bool = attrs.field(init=False, repr=False, eq=False)
    #: Whether it states a refused transfer, or another refusal plainly (strong rules).
    transfer: bool = attrs.field(init=False, repr=False, eq=False)
    contrary: bool = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        every = self.strong | self.weak
        derived = {
            "strict_gates": _by_rank(f for f in self.strong if f.is_gate),
            "gates": _by_rank(f for f in every if f.is_gate),
            "veto": not _VETOES.isdisjoint(self.strong),
            # A weak veto (a daily window) holds only on a strict reading: the inverse of a
            # weak gate rule, since a 402 may state a daily limit as its reason.
            "strict_veto": not _VETOES.isdisjoint(every),
            "transfer": Family.TRANSFER_REFUSED in self.strong,
            "contrary": Family.NOT_BILLING in self.strong,
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)

    def counted(self, strict: bool) -> tuple[Family, ...]:
        """The gate families that count on this reading, by rank."""
        return self.strict_gates if strict else self.gates


def _by_rank(families: Iterable[Family]) -> tuple[Family, ...]:
    return tuple(sorted(families, key=_rank))


def _rank(family: Family) -> int:
    return family.rank


_NOTHING = Statements()


class Verdict(NamedTuple):
    """What `decide` concluded: the reason, the family that decided it, the code and
    message to show, which rung of the ladder decided (`"code"`, `"wording"`, `"remedy"`,
    `"fields"`, or `"named"`: a 402's concepts, rung 7), and the remedy that gave a vague
    family its reason, if one did.

    A named tuple, not an attrs class: one is made per body read (its message is the
    body's), and a tuple is made in a third of the time."""

    reason: Reason
    family: Family
    code: str | None
    message: str | None
    by: str
    remedy: Family | None = None


def decide(
    fields: Fields,
    *,
    strict: bool,
    context: str | None = None,
    moves_money: Callable[[], bool] | None = None,
) -> Verdict | None:
    """The reason `fields` state, or `None` when they state no gate (see the module).

    Args:
        fields: What the payload states.
        strict: Count only strong rules (a status other than 402 from a host with no
            adapter of its own, or a stream's event).
        context: For a strict reading, the body's text in lower case, searched for throttle
            wording.
        moves_money: Whether the request moves the application's own money (a payout or
            a transfer, by its URL), asked only when a lack of funds would decide.
    """
    return unless_a_transfer(_climb(fields, strict, context), moves_money)


def unless_a_transfer(
    verdict: Verdict | None,
    moves_money: Callable[[], bool] | None,
    checks_a_license: Callable[[], bool] | None = None,
) -> Verdict | None:
    """`verdict`, unless it is a lack of funds on a request that moves the application's
    own money (issue 23): that is the transfer's, not the API's bill; or a lapse or a
    trial's end on a request that asks a licensing API about a license key
    (`vocabulary.movement.LICENSE_CHECK`): that is the license's it was asked about."""
    if verdict is None:
        return None
    if verdict.family in _FUNDS and moves_money is not None:
        return None if moves_money() else verdict
    if verdict.family in _LICENSE_STATES and checks_a_license is not None:
        return None if checks_a_license() else verdict
    return verdict


def _climb(fields: Fields, strict: bool, context: str | None) -> Verdict | None:
    """Rungs 1 to 6 of the ladder (the module)."""
    codes = [(code, read_code(code.normalized)) for code in fields.codes]
    texts = [(message, read_words(message.text)) for message in fields.messages]
    remedied = _with_its_remedies(fields.messages)
    if remedied is not None:
        # What happened is read in the message with its remedies; a remedy alone says only
        # what to do ("have a valid payment method" names no declined card).
        texts = [(m, _only_remedies(said) if m.remedy else said) for m, said in texts]
        texts.append(remedied)
    # 1. Vetoes, by the window each piece of evidence states (`windows.py`). A field's window
    # under a day vetoes a strict reading; one of a day or more is a period's allowance.
    windows = _field_windows(fields)
    if strict and not SHORT.isdisjoint(windows):
        return None
    period = Window.PERIOD in windows
    if strict and not period and _weak_allowance(texts, codes):
        period = _period_stated(texts)
    if period and strict:
        texts = [(message, _for_a_period(said)) for message, said in texts]
        codes = [(code, _for_a_period(said)) for code, said in codes]
    category = names_billing = contrary = False
    for message, said in texts:
        if said.strict_veto if strict else said.veto:
            if not _throttle_gives_way(message, said, texts):
                return None
            category = True  # it gave way as a category: a `NONE` window, or outranked
    for _, said in codes:
        if said.transfer and not _balance_stated(texts):
            return None
        # A throttle's code states a `NONE` window: a category (Anthropic's
        # `rate_limit_error` on every 429).
        category = category or (said.strict_veto if strict else said.veto)
        names_billing = names_billing or any(
            not family.is_remedy for family in said.counted(strict)
        )
        contrary = contrary or said.contrary
    if category and not _category_outranked(names_billing, texts):
        return None
    if (
        strict
        and context
        and not names_billing
        and _throttle_in(context[:CONTEXT_SCAN])
        and not _states_plainly(texts)
    ):
        return None
    # 2. Another refusal stated plainly: no code counts, nor weak wording.
    contrary = contrary or any(said.contrary for _, said in texts)
    if contrary:
        codes = []
    stated: dict[Family, str] = {}
    for message, said in texts:
        if message.own:  # a form field's message is not the error's reason
            for family in said.counted(strict or contrary):
                stated.setdefault(family, message.text)
    # 3. A code that names what happened. A code that says credits or a balance ran out is
    # refined by words that say whose they are: the plan's allowance for a period (a period's
    # credits, credits the plan's next billing cycle renews) joins the wording, as a vague
    # code does (ScrapeGraphAI's `insufficient_credits` with "upgrade your plan or wait for
    # the next billing cycle" is the plan's).
    vague_codes: list[tuple[Family, Code]] = []
    for code, said in codes:
        for family in said.counted(strict):
            if family.is_remedy:
                continue
            if (
                not family.is_vague
                and not said.by_concepts
                and not (family is Family.BALANCE_EXHAUSTED and _credits_of_plan(texts))
            ):
                return Verdict(_reason(family), family, code.value, _shown(code, fields), "code")
            vague_codes.append((family, code))
    # 4. Wording that names what happened, with the vague codes. A code that names a limit
    # by its window and nothing it counts (`monthly_limit_exceeded`) says when the limit
    # renews, not what it is: words that state a cap the account set in money say what
    # ("Monthly spending limit reached", API Direct's 429), and the cap is not the plan's.
    if Family.SPEND_CAP_REACHED in stated:
        vague_codes = [(f, code) for f, code in vague_codes if f is not Family.PLAN_VOLUME_USED]
    candidates = [family for family in stated if not family.is_remedy]
    candidates.extend(family for family, _ in vague_codes)
    remedies = sorted((family for family in stated if family.is_remedy), key=_rank)
    shown_code = _code_value(vague_codes[0][1] if vague_codes else _billing_code(codes), fields)
    if strict and not candidates and remedies and not contrary:
        # A remedy asked plainly makes the message a gate; what happened is then read as on
        # a 402, by every rule ("Your account has live mode disabled. Subscribe to a plan"
        # is the lapse, not the plan).
        for message, said in texts:
            if message.own:
                for family in said.gates:
                    if not family.is_remedy and family not in stated:
                        stated[family] = message.text
                        candidates.append(family)
    if candidates:
        family = min(candidates, key=_rank)
        remedy = remedies[0] if family.is_vague and remedies else None
        text = stated.get(family)
        if text is None:  # stated by a vague code
            text = _shown(next(code for f, code in vague_codes if f is family), fields)
        if (
            family is Family.QUOTA_EXHAUSTED
            and remedy is None
            and (fields.exhausted or period or _period_stated(texts))
        ):
            # A quota whose `limit` object says a fixed allowance is used up (`"limit":
            # 2500, "remaining": 0`), or that resets in days, is an allowance, not a
            # balance.
            family = Family.PLAN_VOLUME_USED
        elif (
            family is Family.INSTRUMENT_DECLINED
            and remedies
            and remedies[0] is Family.TOP_UP_ASKED
            and Family.PAYMENT_METHOD_ASKED not in remedies
            and _charge_unnamed(texts)
        ):
            # A charge of the account that failed, naming no instrument, says that billing
            # failed, not what failed: the remedy that points at the balance names it
            # ("We had a problem billing your account. Please, check your account's
            # balance.", DataForSEO's 402). A card's or a payment method's decline stays one.
            family = Family.BALANCE_EXHAUSTED
            text = next((m.text for m, said in texts if said.charge_unnamed), text)
        return Verdict(_reason(remedy or family), family, shown_code, text, "wording", remedy)
    # 5. A remedy alone; on a strict reading, not when another refusal is stated plainly
    # ("that API key does not exist ... upgrade to a paid plan").
    if remedies and not (strict and contrary):
        family = remedies[0]
        return Verdict(_reason(family), family, shown_code, stated[family], "remedy")
    # 6. Fields alone.
    return None if strict else _from_fields(fields)


#: HTTP's reason phrases that a body restates as its error (`"error": "Too many requests"`).
_REASON_PHRASES = frozenset(
    {"too many requests", "payment required", "forbidden", "unauthorized", "bad request"}
)


#: What a limit that resets in a day or more states on a strict reading as well: the
#: families of an allowance, whose weak words ("Quota exceeded", `QUOTA_EXCEEDED`) a reset
#: in days says are the plan's period's, not a throttle's.
_ALLOWANCES = frozenset(
    {Family.QUOTA_EXHAUSTED, Family.PLAN_VOLUME_USED, Family.FREE_ALLOWANCE_USED}
)


def _field_windows(fields: Fields) -> frozenset[Window]:
    """The windows the payload's fields state (`windows.py`): a retry asked within the hour
    (`retry_in_seconds: 1`) is a `RATE`, whatever ran out ("complexity budget exhausted");
    a reset stated as a duration (`daysUntilReset`) is the window of that many seconds."""
    values = fields.values
    retry = values.get("retry_after")
    windows = _RATE if isinstance(retry, float) and retry < RETRY_SOON else _NO_WINDOWS
    for role in RESET_UNITS:
        seconds = values.get(role)
        if isinstance(seconds, float):
            return windows | {window_of_seconds(seconds)}
    return windows


_RATE = frozenset({Window.RATE})
_NO_WINDOWS: frozenset[Window] = frozenset()


def _for_a_period(said: Statements) -> Statements:
    """`said` with the allowances of its weak rules counted as strong: a limit of a
    `PERIOD` window is the plan's allowance for a period."""
    allowances = said.weak & _ALLOWANCES
    if not allowances:
        return said
    return attrs.evolve(said, strong=said.strong | allowances, weak=said.weak - allowances)


def _weak_allowance(
    texts: list[tuple[Message, Statements]], codes: list[tuple[Code, Statements]]
) -> bool:
    """`True` when a text or a code states an allowance by a weak rule only (a bare "Quota
    exceeded", `quota_exceeded`): what a stated period makes the plan's."""
    return any(not _ALLOWANCES.isdisjoint(said.weak) for _, said in (*texts, *codes))


def _period_stated(texts: list[tuple[Message, Statements]]) -> bool:
    """`True` when one of the error's own texts states a `PERIOD` window ("this month's
    quota", "for this billing period") and no throttle: a period's allowance, as a reset a
    field states in days is (payloads16: a bare `quota_exceeded` is the plan's only where
    its words say the window is a month's; with no window stated it stays what it was,
    since the same code is Amazon SP-API's 429 rate and YouTube's 403 daily quota)."""
    return any(message.own and said.period and said.window is None for message, said in texts)


def _with_its_remedies(messages: list[Message]) -> tuple[Message, Statements] | None:
    """The error's message read with the remedies beside it, as one text, shown as the
    message: a remedy field (`suggestion`, `hint`, `fix`...) may name the cause of what the
    message states. Lambda Cloud's 403 "Your account is inactive." with the suggestion
    "Make sure you have ... a valid payment method" is an account off for want of payment,
    as the same words in one message are (payloads13). `None` when there is no remedy."""
    remedies = [message.text for message in messages if message.remedy]
    if not remedies:
        return None
    own = next((m for m in messages if m.own and not m.remedy), None)
    if own is None:
        return None
    return own, read_words(" ".join((own.text, *remedies)))


def _only_remedies(said: Statements) -> Statements:
    """`said` without the gates it states that are no remedy (its look-alikes are kept)."""
    if all(family.is_remedy for family in said.gates):
        return said
    return attrs.evolve(
        said,
        strong=frozenset(f for f in said.strong if f.is_remedy or not f.is_gate),
        weak=frozenset(f for f in said.weak if f.is_remedy or not f.is_gate),
    )


def _throttle_gives_way(
    throttle: Message, said: Statements, texts: list[tuple[Message, Statements]]
) -> bool:
    """Whether a text's throttle (or refused transfer) gives way, by the window its words
    state (`windows.py`, the one place where windows are weighed against each other):

    - `NONE`: yes, as a category: a finer billing code, or a gate the error's own words state
      plainly, then outranks it ("Too many requests" beside the error's own words is the
      status restated; "throttled" with no rate, window or concurrency names no cause).
    - `NAMED`: when another of the error's own texts states a gate of a `PERIOD` window and
      none states a window under a month (Proofio's 429 `"error": "Rate limit exceeded"`
      beside "You have exceeded the monthly rate limit of 1000 requests. Please try again
      next month."): the time window decides, not the name. One text that states both
      stays a throttle ("Too many requests; your monthly limit has been exceeded").
    - `DAY`, stated in the words that state a cap the account set in money ("Daily spending
      limit reached", API Direct's 429): the window is the cap's period, not a throttle's;
      a cap in money is raised by the account whatever its window (payloads17, 18), and
      the cap, stated plainly, then outranks the window as it does a category.
    - `RATE`, another `DAY`, or a refused transfer: never.
    """
    window = said.window
    if window is Window.NONE:
        return not said.transfer
    if window is Window.DAY and not said.transfer and not said.contrary:
        return Family.SPEND_CAP_REACHED in said.strong and _only_a_day_stated(said)
    if window is not Window.NAMED or said.transfer or said.contrary:
        return False
    if any(message.own and other.window in SHORT for message, other in texts):
        return False
    return any(
        message.own
        and message is not throttle
        and other.period
        and any(
            family is not Family.QUOTA_EXHAUSTED and not family.is_remedy
            for family in other.strict_gates
        )
        for message, other in texts
    )


def _only_a_day_stated(said: Statements) -> bool:
    """`True` when a text's throttle is stated only by the words of a day ("daily"): no
    throttle of its own words ("throttled", "rate limit", "too many requests") beside it,
    which keeps a day's budget a throttle's ("You have been throttled: your daily budget is
    exhausted", payloads11)."""
    return all(name in _DAY_RULES for name in said.rules if name in _THROTTLE_NAMES)


def _category_outranked(names_billing: bool, texts: list[tuple[Message, Statements]]) -> bool:
    """Whether a throttle of a `NONE` window (a category: a throttle's code, the status
    restated, "throttled" alone, or a `NAMED` one a period outranked) is outranked: by a
    finer code that names a billing family (`names_billing`: Anthropic's `rate_limit_error`
    beside `enforced_spend_limit_reached`), or by words that plainly state one ("you have
    exceeded your monthly spend limit", "throttled. API Credit Budget reached.")."""
    return names_billing or _states_plainly(texts)


def _is_reason_phrase(lowered: str) -> bool:
    return len(lowered) <= 24 and lowered.strip(" .!") in _REASON_PHRASES


def says_payment_required(fields: Fields) -> bool:
    """`True` when the error's own words are HTTP's "Payment Required" and nothing else, and
    no code says anything else: a gate on any readable 4xx, whose reason no word gives
    (`unknown`), as on a 402. IQAir AirVisual answers a key whose paid plan lapses with a 403
    `{"status": "fail", "data": {"message": "Payment Required"}}`: the phrase names what the
    server wants, not another refusal. A longer message is read by the rules; a code that
    names a throttle, a bad key or a transfer outvotes the phrase."""
    own = [message.text for message in fields.messages if message.own]
    if not own or not all(_is_payment_required(text) for text in own):
        return False
    for code in fields.codes:
        said = read_code(code.normalized)
        if said.strict_veto or said.contrary or said.lifts:
            return False
    return True


def _is_payment_required(text: str) -> bool:
    if len(text) > 32:
        return False
    phrase = text.strip(" .!:").lower()
    return phrase.removeprefix("402").strip(" -:") == "payment required"


def lifts_by_itself(fields: Fields) -> bool:
    """`True` when the error's own words, or a code read by its words, state a limit that
    lifts by itself or by no payment (a rate limit, a time window, a resource in use, a
    cloud's service quota, bad credentials) and no gate: then even a 402 is no gate ("you
    will exceed the memory limit of 8192MB for all your runs", AWS Sign-In's
    `SERVICE_QUOTA_EXCEEDED`, Plaid's legacy 402 "invalid credentials"). Any billing word
    or code makes `decide` answer, so it stays a gate."""
    if decide(fields, strict=False) is not None or read_a_402(fields) is not None:
        return False
    if any(read_words(message.text).lifts for message in fields.messages if message.own):
        return True
    return any(read_code(code.normalized).lifts for code in fields.codes)


def read_a_402(fields: Fields) -> Verdict | None:
    """Rung 7 (the module): the reason a 402 states when rungs 1 to 6 named no gate, or
    `None` (the 402 is `unknown`, or no gate when `lifts_by_itself`).

    Asked only of a 402, after `decide(fields, strict=False)` answered `None`; the callers
    apply `unless_a_transfer` to what it answers, as to `decide`'s."""
    made = fields.answers.get(_A_402, _UNREAD)
    if made is not _UNREAD:
        return made  # type: ignore[no-any-return]
    made = fields.answers[_A_402] = _read_a_402(fields)
    return made


#: The key of a 402's own reading among the answers kept on its fields (`Fields.answers`):
#: a function of the fields alone, asked again by `lifts_by_itself`.
_A_402 = ("a 402's own reading",)
_UNREAD = object()


def _read_a_402(fields: Fields) -> Verdict | None:
    texts = [(message, read_words(message.text)) for message in fields.messages if message.own]
    codes = [read_code(code.normalized) for code in fields.codes]
    if any(said.transfer for _, said in texts) or any(said.transfer for said in codes):
        return None  # a refused transfer of the application's own money (issue 23)
    if any(_states_a_window(said) for _, said in texts) or any(said.lifts for said in codes):
        return _beside_a_window(fields, texts, codes)
    return _named(fields, texts)


def _states_a_window(said: Statements) -> bool:
    """`True` when a text states a limit that lifts by itself (a window, a throttle, a retry
    asked, a resource in use, a bad key) or another look-alike: what a 402's own reading
    sets aside, clause by clause."""
    return said.lifts or not _LOOK_ALIKES.isdisjoint(said.strong | said.weak)


def _beside_a_window(
    fields: Fields, texts: list[tuple[Message, Statements]], codes: list[Statements]
) -> Verdict | None:
    """Rung 7 for a 402 that states a window (or another look-alike) somewhere: rungs 1 to 6
    climbed again on what the error states outside it (its other texts, and the clauses of a
    text that state none), when that states a gate plainly: a family by a strong rule of the
    whole text, stated in a clause free of windows (a concept read in the clause alone is
    not enough: "This limit applies to your current plan" beside a rate limit is the rate's),
    or a code that names what happened."""
    kept: list[Message] = []
    whole_text: dict[str, str] = {}
    split = 0
    plain = any(_names_what_happened(said.strict_gates) for said in codes)
    for message, said in texts:
        if not _states_a_window(said):
            kept.append(message)
            plain = plain or _names_what_happened(said.strict_gates)
            continue
        scanned = message.text[:CONCEPT_SCAN]
        if split >= _TEXTS_SPLIT or not any(mark in scanned for mark in _CLAUSE_MARKS):
            continue  # one clause: the text itself, which states the window
        split += 1
        for clause in _SENTENCE_END.split(scanned, maxsplit=_CLAUSES_READ)[:_CLAUSES_READ]:
            if not clause.strip():
                continue
            part = read_words(clause)
            if _states_a_window(part):
                continue
            kept.append(Message(clause, message.upstream, message.own, message.remedy))
            whole_text.setdefault(clause, message.text)
            plain = plain or _names_what_happened(
                family for family in part.strict_gates if family in said.strict_gates
            )
    if not plain:
        return None
    outside = Fields()
    outside.messages = [*kept, *(message for message in fields.messages if not message.own)]
    outside.codes = fields.codes
    outside.values = fields.values
    outside.exhausted = fields.exhausted
    verdict = _climb(outside, False, None)
    if verdict is None or verdict.by == "fields" or not _names_what_happened((verdict.family,)):
        return None
    if verdict.message in whole_text:
        return verdict._replace(message=whole_text[verdict.message])
    return verdict


#: What ends a sentence, as `clauses.clauses_of` reads it (a 402's own reading splits a
#: text that states a window only there: a clause joined by ", and" stays in its sentence),
#: and its marks, one of which a text needs to hold more than one.
_SENTENCE_END = re.compile("[.!?;]+(?:\\s+|$)|[\u3002\uff01\uff1f\uff1b]+")
_CLAUSE_MARKS = (".", "!", "?", ";", "\u3002", "\uff01", "\uff1f", "\uff1b")
#: How many sentences of a text, and how many texts, a 402's own reading splits: of each
#: text its first `CONCEPT_SCAN` characters (what the concept layer reads too), since a
#: provider states the reason up front; the bounds keep a hostile body's cost.
_CLAUSES_READ = 8
_TEXTS_SPLIT = 4


def _names_what_happened(families: Iterable[Family]) -> bool:
    """`True` for a gate family that says what happened: not a remedy, not a bare quota
    (a throttle's words too: "you exceeded your current quota")."""
    return any(
        family.is_gate and not family.is_remedy and family is not Family.QUOTA_EXHAUSTED
        for family in families
    )


def _named(fields: Fields, texts: list[tuple[Message, Statements]]) -> Verdict | None:
    """Rung 7 for a 402 that states no window and no look-alike: the families its texts'
    concepts name with the vetoes that lift nothing set aside (`clauses.read_on_a_402`),
    the one of lowest rank; a vague one takes the reason of a remedy named beside it."""
    named: dict[Family, str] = {}
    for message, _ in texts:
        for family in read_on_a_402(shape_of(message.text[:CONCEPT_SCAN])):
            named.setdefault(family, message.text)
    if not named:
        return None
    remedies = sorted((family for family in named if family.is_remedy), key=_rank)
    stated = [family for family in named if not family.is_remedy]
    family = min(stated, key=_rank) if stated else remedies[0]
    remedy = remedies[0] if family.is_vague and stated and remedies else None
    return Verdict(
        _reason(remedy or family), family, first_code(fields), named[family], "named", remedy
    )


def _charge_unnamed(texts: list[tuple[Message, Statements]]) -> bool:
    """`True` when every one of the error's own texts that states a decline says only that a
    charge of the account failed, naming no instrument (`Statements.charge_unnamed`)."""
    declines = [
        said
        for message, said in texts
        if message.own and Family.INSTRUMENT_DECLINED in said.strong | said.weak
    ]
    return bool(declines) and all(said.charge_unnamed for said in declines)


def _credits_of_plan(texts: list[tuple[Message, Statements]]) -> bool:
    """`True` when the error's own words say the credits that ran out are the plan's
    allowance for a period (`Statements.credits_of_plan`)."""
    return any(said.credits_of_plan for message, said in texts if message.own)


def _balance_stated(texts: list[tuple[Message, Statements]]) -> bool:
    """`True` when the error's own words state, by a strong rule, that the account's balance
    ran out: then a code that names a refused transfer (Stripe's `balance_insufficient`) is
    another API's name for the same lack, not a movement of money the words never name
    (YCloud's 403 `BALANCE_INSUFFICIENT` "The account has insufficient balance. Top up
    before trying again."). Words that name the transfer veto on their own ("insufficient
    funds in your Stripe account for this transfer"), and so does a request that moves money
    (`unless_a_transfer`); the code alone stays the transfer's."""
    return any(Family.BALANCE_EXHAUSTED in said.strong for message, said in texts if message.own)


def _states_plainly(texts: list[tuple[Message, Statements]]) -> bool:
    """`True` when the error's own words state what happened by a strong rule: not a
    remedy, not a bare quota ("you exceeded your current quota" is a throttle's words too);
    an allowance the plan grants, named as such ("your token-plan quota has been
    exhausted", "monthly limit reached"), is no throttle's."""
    return any(
        family is not Family.QUOTA_EXHAUSTED and not family.is_remedy
        for message, said in texts
        if message.own
        for family in said.strict_gates
    )


def _reason(family: Family) -> Reason:
    reason = family.reason
    assert reason is not None, family  # only gate families reach a verdict
    return reason


def _shown(code: Code, fields: Fields) -> str | None:
    """The message to show with a deciding code: its own object's, else the first."""
    return code.message if code.message is not None else fields.message


def _billing_code(codes: Iterable[tuple[Code, Statements]]) -> Code | None:
    for code, said in codes:
        if said.gates:
            return code
    return None


def _code_value(code: Code | None, fields: Fields) -> str | None:
    """The code to show: the billing one, else the first the payload states (not a limit's
    name or a category)."""
    if code is not None:
        return code.value
    return first_code(fields)


def first_code(fields: Fields) -> str | None:
    """The first code the payload states that is no limit's name or category."""
    return next((code.value for code in fields.codes if not code.aux), None)


#: The fields that say where or how a price is paid (`fields.py`: `_PAYEE_KEYS`,
#: `_RAIL_KEYS`, `_NETWORK_KEYS`, `_PROTOCOL_VALUE_KEYS`).
_WHERE_TO_PAY = ("pay_to", "rail", "network", "protocol")


def _from_fields(fields: Fields) -> Verdict | None:
    """Rung 6: a price and where to pay it (a challenge); a required plan; a named limit
    with nothing left, by its name's family; an amount required or available; a bare limit
    with nothing left."""
    values = fields.values
    family: Family | None = None
    if values.get("price") is not None and any(values.get(role) for role in _WHERE_TO_PAY):
        # A price for this request and where to pay it (a payee, the chain it is paid on,
        # the protocol it is paid by), in a shape of no known protocol: a challenge, whose
        # offers stay empty (none is built from a shape no spec defines, and a placeholder
        # payee such as "0x..." is no offer).
        family = Family.CHARGE_ASKED
    elif values.get("required_plan") is not None:
        family = Family.PLAN_FEATURE
    for name in fields.exhausted if family is None else ():
        for said in (read_code(normalize_code(name)), read_words(name)):
            named = [f for f in said.gates if not f.is_remedy]
            if named:
                family = min(named, key=_rank)
                break
        if family is not None:
            break
    if family is None:
        amounts = ("credits_required", "credits_available")
        if any(values.get(amount) is not None for amount in amounts):
            family = Family.BALANCE_EXHAUSTED
        elif fields.exhausted:
            family = Family.QUOTA_EXHAUSTED
        else:
            return None
    return Verdict(_reason(family), family, _code_value(None, fields), fields.message, "fields")


# --------------------------------------------------------------------------- reading

#: Needle -> the wording rules that hold it, to run only the rules whose needles are there.
_BY_NEEDLE: dict[str, tuple[WordRule, ...]] = {}
#: The throttle rules that name no cause (`Window.NONE`), read after the others
#: (`_read_lowered`).
_UNCAUSED_RULES = tuple(rule for rule in WORDING if rule.window is Window.NONE)
for _rule in WORDING:
    if _rule in _UNCAUSED_RULES:
        continue
    for _needle in _rule.needles:
        _BY_NEEDLE[_needle] = (*_BY_NEEDLE.get(_needle, ()), _rule)
_NEEDLES = tuple(_BY_NEEDLE)
_THROTTLE_RULES = tuple(rule for rule in WORDING if rule.family is Family.THROTTLE)
_THROTTLE_NAMES = frozenset(rule.name for rule in _THROTTLE_RULES)
#: The throttle's rules whose words state only a day (`_only_a_day_stated`).
_DAY_RULES = frozenset(rule.name for rule in _THROTTLE_RULES if rule.window is Window.DAY)


@functools.lru_cache(maxsize=256)
def read_words(text: str) -> Statements:
    """What a message states, by the wording rules (its first `WORDS_SCAN` characters).

    Read in its *shape*: lower case, with every run that starts with a digit and holds three
    or more digits that are not all zero (a request id, an amount, the tail of an
    organisation's id) made `9`s, lengths and separators kept; a run glued to a name's
    letters ("x402") is the name's, and stays. No rule tells one such run from another of
    its length, so a provider's message that differs from the last only by the request id
    it quotes is read once.

    Cached by the text too: one answer is decided up to three times (strictly, leniently,
    and whether a 402 states only a limit that lifts by itself), and a long message's shape
    costs more than a lookup by the text, whose hash the string keeps.
    """
    return _read_shape(shape_of(text[:WORDS_SCAN]))


def shape_of(text: str) -> str:
    """`text` in lower case, its ids and large numbers made alike (`read_words`)."""
    lowered = text.lower()
    if not _HAS_DIGIT.search(lowered):
        return lowered
    return _DIGIT_RUN.sub(_shaped_run, lowered)


@functools.lru_cache(maxsize=512)
def _read_shape(shape: str) -> Statements:
    # Cached: a provider sends the same few messages over and over.
    return _read_lowered(shape)


_HAS_DIGIT = re.compile(r"[0-9]")
#: A run that starts with a digit and holds three or more ("24-hour" and "0.5" do not), not
#: glued to the letters of a name before it ("x402", "l402": a protocol's name, read as such).
_DIGIT_RUN = re.compile(r"(?<![a-z])[0-9](?:[\w-]*?[0-9]){2,}[\w-]*")
_ALNUM = re.compile(r"[a-z0-9]")
_NOT_ZERO = re.compile(r"[1-9]")


def _shaped_run(match: re.Match[str]) -> str:
    run = match.group()
    # A run of zeros stays: a rule may read "0" ("reached 0 balance").
    return _ALNUM.sub("9", run) if _NOT_ZERO.search(run) else run


def _read_lowered(lowered: str) -> Statements:
    """The wording rules, then the concept layer for what they leave unsaid."""
    rules: dict[str, WordRule] = {}
    for needle in _NEEDLES:
        if needle in lowered:
            for rule in _BY_NEEDLE[needle]:
                rules.setdefault(rule.name, rule)
    strong: set[Family] = set()
    weak: set[Family] = set()
    matched: list[str] = []
    windows: set[Window] = set()
    for rule in rules.values():
        into = strong if rule.strength is _STRONG else weak
        window = rule.window
        if rule.family in into:
            # A throttle's other rules are read for the window they state: "Rate limit
            # exceeded: 10 requests per minute" states a `RATE`, not only a `NAMED` one.
            if (
                window is not None
                and window not in windows
                and Window.RATE not in windows
                and rule.matches(lowered)
            ):
                windows.add(window)
            continue
        if not rule.matches(lowered):
            continue
        into.add(rule.family)
        matched.append(rule.name)
        if window is not None:
            windows.add(window)
    uncaused: WordRule | None = None
    if Family.THROTTLE not in strong:
        # "Throttled" is read only where no strong throttle rule names a cause.
        for rule in _UNCAUSED_RULES:
            if any(needle in lowered for needle in rule.needles) and rule.matches(lowered):
                strong.add(Family.THROTTLE)
                matched.append(rule.name)
                # A weak cause (a daily window) names the throttle's cause too.
                uncaused = None if Family.THROTTLE in weak else rule
                break
    concepts = read_concepts(lowered, vetoed=not _LOOK_ALIKES.isdisjoint(strong | weak))
    if concepts.rules:
        if concepts.replaces and concepts.strong:
            strong -= concepts.replaces
            weak -= concepts.replaces
        _fill(strong, weak, concepts.strong, concepts.weak)
        matched.extend(f"concept: {name}" for name in concepts.rules)
    lifts = (
        concepts.lifts
        or Family.THROTTLE in strong
        or (Family.NOT_BILLING in strong and not NO_PAYMENT_LIFTS.isdisjoint(matched))
    )
    period = _PERIOD_NEEDLES.search(lowered) is not None and PERIOD_WINDOW.matches(lowered)
    if not matched and not lifts and not period:
        return _NOTHING
    credits_of_plan = Family.BALANCE_EXHAUSTED in concepts.replaces and bool(concepts.strong)
    charge_unnamed = _CHARGE_UNNAMED in concepts.rules and _DECLINE_RULES.isdisjoint(matched)
    return Statements(
        frozenset(strong),
        frozenset(weak - strong),
        tuple(matched),
        lifts=lifts,
        credits_of_plan=credits_of_plan,
        charge_unnamed=charge_unnamed,
        window=_throttle_window(strong | weak, windows, uncaused, lowered, concepts),
        period=period,
    )


#: The concept rule that reads a charge of the account that failed naming no instrument, and
#: the wording rules that name a decline (a card's, a payment method's): beside one of them,
#: the charge's failure is that decline's (`Statements.charge_unnamed`).
_CHARGE_UNNAMED = "charge failed, no instrument named"
_DECLINE_RULES = frozenset(
    rule.name for rule in WORDING if rule.family is Family.INSTRUMENT_DECLINED
)

#: Any of `PERIOD_WINDOW`'s needles, searched at once.
_PERIOD_NEEDLES = re.compile("|".join(re.escape(needle) for needle in PERIOD_WINDOW.needles))


def _throttle_window(
    families: set[Family],
    windows: set[Window],
    uncaused: WordRule | None,
    lowered: str,
    concepts: ConceptReading,
) -> Window | None:
    """The window a text's throttle states (`Statements.window`), `None` without one."""
    if Family.THROTTLE not in families:
        return None
    if _is_reason_phrase(lowered):
        return Window.NONE  # the status restated: "Too many requests"
    if uncaused is not None:
        # "Throttled" names no cause, unless the concepts read a window beside its words.
        windows.discard(Window.NONE)
        if not windows:
            return Window.RATE if _other_window(uncaused, lowered, concepts) else Window.NONE
    windows.discard(Window.NONE)  # a weak cause beside "throttled" names its cause
    for window in THROTTLE_ORDER:
        if window in windows:
            return window
    return Window.NAMED  # stated by the concepts: no rule's window


def _other_window(uncaused: WordRule, lowered: str, concepts: ConceptReading) -> bool:
    """`True` when the concepts read a limit that lifts by itself in `lowered` besides the
    words of `uncaused` ("throttled" is a window's word to the concept layer too)."""
    if not concepts.lifts:
        return False
    for alternative in uncaused.compiled:
        lowered = alternative.pattern.sub(" ", lowered)
    return read_concepts(lowered, vetoed=True).lifts


#: The look-alikes the wording rules state: the concept layer's strong rules count as weak.
_LOOK_ALIKES = frozenset({Family.THROTTLE, Family.TRANSFER_REFUSED, Family.NOT_BILLING})


def _fill(
    strong: set[Family],
    weak: set[Family],
    concept_strong: frozenset[Family],
    concept_weak: frozenset[Family],
) -> None:
    """Adds what the concept layer states where the wording rules state nothing of its kind:
    a precise rule that names what happened, or a remedy, is kept over a combination of
    concepts (`strong` and `weak` are the wording rules' families, changed in place). A
    failed payment is added over a lack of funds all the same: the funds are the cause of
    the failure, the payer's ("your payment could not be completed due to insufficient
    account balance. Try another card")."""
    every = strong | weak
    stated = any(not f.is_remedy for f in strong if f.is_gate)
    funds_only = stated and all(f is Family.BALANCE_EXHAUSTED for f in strong if f.is_gate)
    stated_any = any(not f.is_remedy for f in every if f.is_gate)
    asked = any(f.is_remedy for f in every)
    for family in concept_strong:
        if not family.is_gate:
            strong.add(family)  # a look-alike the concepts state vetoes in its turn
        elif family.is_remedy:
            if not asked:
                strong.add(family)
        elif not stated or (funds_only and family is Family.INSTRUMENT_DECLINED):
            strong.add(family)
    for family in concept_weak:
        if family.is_remedy:
            if not asked:
                weak.add(family)
        elif not stated_any:
            weak.add(family)


@functools.lru_cache(maxsize=1024)
def read_code(normalized: str) -> Statements:
    """What a normalized code states: its rule in `CODES`, else the families whose words it
    holds (`CODE_WORDS`)."""
    rule = CODES.get(normalized) or CODES.get(without_suffix(normalized))
    if rule is not None:
        joins = rule.joins_words
        if rule.strength is _STRONG:
            lifts = normalized in NO_PAYMENT_LIFTS_CODES  # a bad key: no payment lifts it
            return Statements(
                frozenset({rule.family}), frozenset(), (normalized,), by_concepts=joins, lifts=lifts
            )
        return Statements(frozenset(), frozenset({rule.family}), (normalized,), by_concepts=joins)
    words = code_words(normalized)
    strong: set[Family] = set()
    weak: set[Family] = set()
    matched: list[str] = []
    for by_words in CODE_WORDS:
        if by_words.matches(words):
            (strong if by_words.strength is _STRONG else weak).add(by_words.family)
            matched.append(by_words.name)
    if not matched:
        return _code_as_words(normalized)
    if not strong:
        # A weak record ("a count of resources reached") yields to what the code's words
        # state by strong rules (`SetLimitExceeded`: a limit the account set).
        said = _code_as_words(normalized)
        if said.strong:
            return said
    return Statements(frozenset(strong), frozenset(weak - strong), tuple(matched))


def _code_as_words(normalized: str) -> Statements:
    """What a code no record knows states by its words (`ERROR_ZERO_BALANCE` is "error zero
    balance", `RateLimited` "rate limited"), read as a message is: by the wording rules and
    the concepts. How much they count is `CODE_AS_WORDS` (`vocabulary/__init__.py`)."""
    said = _read_lowered(normalized.replace("_", " "))
    strong = frozenset(f for f in said.strong if f in CODE_AS_WORDS.states)
    if strong:
        names = tuple(f"code as words: {name}" for name in said.rules)
        return Statements(strong, frozenset(), names, by_concepts=True, lifts=said.lifts)
    if said.lifts:
        # A code that states a limit no payment lifts (`SERVICE_QUOTA_EXCEEDED`).
        return Statements(lifts=True)
    return _NOTHING


#: Every throttle rule's needles, each with its rule.
_THROTTLE_NEEDLES = tuple((needle, rule) for rule in _THROTTLE_RULES for needle in rule.needles)


@functools.lru_cache(maxsize=256)
def _throttle_in(lowered: str) -> bool:
    """`True` when a body's lower-case text reads as a throttle's, by any throttle rule.

    Cached: a provider sends the same few bodies over and over.
    """
    tried: WordRule | None = None
    for needle, rule in _THROTTLE_NEEDLES:
        if rule is not tried and needle in lowered:
            if rule.matches(lowered):
                return True
            tried = rule  # its other needles would run the same search again
    return False
