"""Order-book manipulation: spoofing and layering (large orders away from the touch, cancelled unfilled while
their owner trades the other side) and quote stuffing (a burst of order messages with few trades)."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.base import Detector, register
from detectors.features import TradeFlow
from detectors.orderflow import TRACK_MULTIPLE, Episode, LargeOrders
from detectors.rules import Rule, RuleParams, check, check_history
from detectors.quantiles import RollingQuantile
from detectors.stats import EveryGrid, KeyedCounter


@dataclass(frozen=True)
class SpoofingParams(RuleParams):
    scored = False
    size_multiple: float = 20.0  # an order this many times the usual size is large
    min_away_bps: float = 0.2  # resting at least this far behind the touch ...
    min_away_ticks: float = 1.0  # ... and at least this many ticks ...
    max_away_bps: float = 10.0  # ... but near enough to be seen as real interest (deep ladders are not spoofs):
    max_away_ticks: float = 10.0  # within this many bps or this many ticks (a big-tick book's levels are wide)
    max_life_s: float = 5.0  # cancelled within this long, while its owner traded the other side aggressively
    # (passive fills would catch every market maker's ordinary quote management) ...
    reaction_s: float = 2.0  # ... and pulled within this long of that trading
    l2_size_multiple: float = 50.0  # without order data (L2 levels, no owner): a level this many times the usual ...
    l2_opposite_share: float = 0.1  # ... pulled after the other side traded at least this share of its size
    window_s: float = 30.0  # episodes of one account counted over this window
    min_episodes: int = 2  # warning at this many episodes (cancelled large orders with opposite-side trading)
    critical_episodes: int = 5
    zscore: float | None = None
    cooldown_s: float = 15.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.size_multiple >= TRACK_MULTIPLE, f"size_multiple must be at least {TRACK_MULTIPLE:g}")
        check(self.min_away_bps >= 0 and self.min_away_ticks >= 0, "min_away_bps and min_away_ticks must not be negative")
        check(self.max_life_s > 0 and self.window_s > 0 and self.reaction_s > 0,
              "max_life_s, window_s and reaction_s must be positive")
        check(1 <= self.min_episodes <= self.critical_episodes, "need 1 <= min_episodes <= critical_episodes")


@register
class Spoofing(Detector):
    """Counts, per account, large orders placed away from the touch and cancelled unfilled within
    `max_life_s` while the same account traded the other side (on L2 data: while the other side traded)."""

    kind = "spoofing"
    family = "abuse"
    params_type = SpoofingParams

    def __init__(self, context, params: SpoofingParams) -> None:
        super().__init__(context, params)
        self.orders = context.feature(LargeOrders)
        self.orders.listeners.append(self.on_episode)
        self.episodes = KeyedCounter(params.window_s)
        self.rule = Rule.from_params(self.signal, self.describe, params.min_episodes, params.critical_episodes,
                                     params)
        self.account: str | None = None  # whose episodes the rule is counting
        self.last: Episode | None = None

    def qualifies(self, episode: Episode) -> bool:
        p, order = self.params, episode.order
        if order.account is None and (order.size_multiple < p.l2_size_multiple
                                      or order.opposite_qty < p.l2_opposite_share * order.qty):
            return False  # public L2 books flicker with big passive ladders: only blatant cases count
        return (order.size_multiple >= p.size_multiple and order.away_bps >= p.min_away_bps
                and (order.away_bps <= p.max_away_bps or order.away_ticks <= p.max_away_ticks)
                and order.away_ticks >= p.min_away_ticks and episode.life_s <= p.max_life_s
                and order.opposite_qty > 0 and episode.ts - order.opposite_ts <= p.reaction_s)

    def describe(self, count: float, threshold: float, z: float | None) -> tuple[str, dict]:
        if not self.rule.active:
            return "no more cancelled large orders", {}
        order = self.last.order
        who = f"account {self.account}" if self.account is not None else "the book (no account data; consistent with spoofing)"
        return (f"{count:.0f} large orders cancelled unfilled in {self.params.window_s:g} s by {who}: last "
                f"{order.side} {order.qty:g} @ {order.price:g} ({order.size_multiple:.0f}x usual size, "
                f"{order.away_bps:.1f} bps off the touch, {self.last.life_s:.1f} s) while "
                f"{order.opposite_qty:g} traded the other side",
                {"account": self.account, "orders": count, "last_qty": order.qty, "last_price": order.price,
                 "size_multiple": order.size_multiple, "life_s": self.last.life_s,
                 "opposite_qty": order.opposite_qty})

    def on_episode(self, episode: Episode) -> None:
        if not self.qualifies(episode):
            return
        account = episode.order.account
        count = self.episodes.add(episode.ts, account)
        if self.rule.active and account != self.account:
            if count <= self.episodes.counts.get(self.account, 0):
                return  # another account, with fewer: the open alert stays about the worse one
        self.account, self.last = account, episode
        self.rule.update(episode.ts, count)

    def on_tick(self, now: float) -> None:
        if self.rule.engaged:
            self.episodes.expire(now)
            self.rule.update(now, self.episodes.counts.get(self.account, 0))

    def reset(self) -> None:
        self.episodes.reset()
        self.rule.reset()


@dataclass(frozen=True)
class LayeringParams(SpoofingParams):
    min_layers: int = 3  # an episode counts when its account had this many large orders resting on one side
    min_episodes: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.min_layers >= 2, "min_layers must be at least 2")


@register
class Layering(Spoofing):
    """Spoofing with several large orders stacked at successive levels on one side."""

    kind = "layering"
    params_type = LayeringParams

    def qualifies(self, episode: Episode) -> bool:
        return episode.order.layers >= self.params.min_layers and super().qualifies(episode)

    def describe(self, count: float, threshold: float, z: float | None) -> tuple[str, dict]:
        message, evidence = super().describe(count, threshold, z)
        if self.rule.active:
            message = f"{self.last.order.layers} stacked: " + message
            evidence["layers"] = self.last.order.layers
        return message, evidence


@dataclass(frozen=True)
class QuoteStuffingParams(RuleParams):
    threshold_ratio: float = 5.0  # warning: message rate this multiple of its median ...
    critical_ratio: float = 20.0
    zscore: float | None = 4.0  # ... and this robust z (median / MAD) ...
    max_trade_share: float = 0.05  # ... with at most this many trades per message over the same interval
    history: int = 300  # samples (one a second) of the message rate
    warmup: int = 30

    def __post_init__(self) -> None:
        super().__post_init__()
        check(1 < self.threshold_ratio <= self.critical_ratio, "need 1 < threshold_ratio <= critical_ratio")
        check(0 < self.max_trade_share < 1, "max_trade_share must be between 0 and 1")
        check_history(self.history, self.warmup)


@register
class QuoteStuffing(Detector):
    """A burst of messages (every event of the instrument but its trades: L3 order adds, cancels and fills
    where a feed has them, book updates) far above their usual rate, with hardly any trades. The counts are
    the runtime's own, so this costs nothing per event; the baseline is a median, so a burst that did not
    alert (a mass cancel with trades) does not raise it."""

    kind = "quote_stuffing"
    family = "abuse"
    params_type = QuoteStuffingParams

    def __init__(self, context, params: QuoteStuffingParams) -> None:
        super().__init__(context, params)
        self.flow = context.feature(TradeFlow)
        self.history = RollingQuantile(params.history, params.warmup)
        self.rule = Rule.from_params(self.signal, self.describe, params.threshold_ratio, params.critical_ratio,
                                     params)
        self._last: tuple[float, int, int] | None = None  # (tick time, messages, trades) at the last tick
        self.grid = EveryGrid(1.0)
        self._rate = self._usual = 0.0
        self._trades = 0

    def warmup_progress(self) -> tuple[int, int] | None:
        return None if self.history.ready else (self.history.count, self.history.warmup)

    def describe(self, ratio: float, threshold: float, z: float | None) -> tuple[str, dict]:
        if not self.rule.active:
            return "message rate back to normal", {}
        return (f"{self._rate:,.0f} messages/s = {ratio:.1f}x usual {self._usual:,.0f}/s with {self._trades} "
                f"trades, z {z:.1f}", {"rate": self._rate, "usual": self._usual, "trades": self._trades})

    def on_tick(self, now: float) -> None:
        count = self.context.event_count
        if count is None:
            return  # outside a runtime nobody counts the messages
        trades = self.flow.trades
        messages = count() - trades
        if not messages:
            return  # nothing yet: the rate starts with the instrument's first events, as in a replay
        last, self._last = self._last, (now, messages, trades)
        if last is None or now <= last[0] or self.book_quiet(now, 1.0):
            return
        sent = messages - last[1]
        rate = self._rate = sent / (now - last[0])
        traded = self._trades = trades - last[2]
        history, rule = self.history, self.rule
        if history.ready:
            usual = self._usual
            ratio = rate / usual if traded <= self.params.max_trade_share * sent else 0.0
            if ratio >= rule.threshold or rule.engaged:  # the MAD only when it can matter
                rule.update(now, ratio, history.robust_z(rate, 0.1 * usual))
        else:
            rule.skip(now, None)
        if not rule.engaged and self.grid.due(now):  # the baseline learns once a second
            history.add(rate)
            self._usual = max(history.median(), 1e-9)

    def reset(self) -> None:
        self.history.reset()
        self.grid.reset()
        self._last = None
        self.rule.reset()
