"""Live quoting on several venues in one run: one `maker.orders.Exchange` over one LiveExchange per venue.

The engine keeps one order manager; the router sends each request to the venue it concerns: a placement
by the order's venue, a cancel to the venue its order was placed on, the kill switch to every venue.
Each venue keeps its own safety: its user stream, reconciliation and dead-man are its own, so an outage
on one venue holds quoting (and, after `dead_man_s`, cancels orders) on that venue's instruments only
while the others go on quoting. As the runtime service it starts every venue and, on exit, stops them
all together, each cancelling its orders.

A run with one venue needs no router: the LiveExchange is the exchange (`live_venues` covers both).
"""

from __future__ import annotations

import asyncio

from maker.live.exchange import LiveExchange
from maker.orders import ExchangeListener, Key, Order


class VenueRouter:
    """Implements `maker.orders.Exchange` and the runtime's `Service` over several LiveExchanges."""

    def __init__(self, venues: list[LiveExchange]) -> None:
        self.venues = {exchange.venue.name: exchange for exchange in venues}
        self._listener: ExchangeListener | None = None

    @property
    def listener(self) -> ExchangeListener | None:
        return self._listener

    @listener.setter
    def listener(self, listener: ExchangeListener | None) -> None:
        """Each venue reports straight to the order manager: the router adds nothing on the fill path."""
        self._listener = listener
        for exchange in self.venues.values():
            exchange.listener = listener

    # -- the engine's gate and the console's view, per instrument -------------------------------------------
    def quoting_allowed_for(self, key: Key) -> bool:
        return self.venues[key[0]].quoting_allowed

    def status_text_for(self, key: Key) -> str:
        return self.venues[key[0]].status_text

    @property
    def armed(self) -> bool:
        return all(exchange.armed for exchange in self.venues.values())

    def arm(self) -> None:
        """The operator confirmed every venue at once (the confirmation lists them all)."""
        for exchange in self.venues.values():
            exchange.arm()

    # -- the Exchange interface -----------------------------------------------------------------------------
    def place(self, order: Order, ts: float) -> None:
        self.venues[order.venue].place(order, ts)

    def cancel(self, order: Order, ts: float) -> None:
        self.venues[order.venue].cancel(order, ts)

    def cancel_all(self, ts: float, key: Key | None = None) -> None:
        """With a key, that instrument's venue; without, the kill switch on every venue."""
        for exchange in self.venues.values() if key is None else [self.venues[key[0]]]:
            exchange.cancel_all(ts, key)

    def open_orders(self, key: Key | None = None) -> list[Order]:
        if key is not None:
            return self.venues[key[0]].open_orders(key)
        return [order for exchange in self.venues.values() for order in exchange.open_orders()]

    # -- the runtime service ------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Every venue at once; if one cannot start, those that did are stopped (cancelling) and its error raised."""
        venues = list(self.venues.values())
        results = await asyncio.gather(*(exchange.start() for exchange in venues), return_exceptions=True)
        failed = [result for result in results if isinstance(result, BaseException)]
        if failed:
            await asyncio.gather(*(exchange.stop() for exchange in venues), return_exceptions=True)
            raise failed[0]

    async def stop(self) -> None:
        """Every venue at once, so no venue's orders wait for another's cancel-all."""
        results = await asyncio.gather(*(exchange.stop() for exchange in self.venues.values()),
                                       return_exceptions=True)
        failed = [result for result in results if isinstance(result, BaseException)]
        if failed:
            raise failed[0]


def live_venues(exchange: object) -> list[LiveExchange]:
    """The live venues behind the maker's exchange: the LiveExchange itself, the router's, or none (paper)."""
    if isinstance(exchange, LiveExchange):
        return [exchange]
    if isinstance(exchange, VenueRouter):
        return list(exchange.venues.values())
    return []
