"""Pushes new and escalated alerts to Slack, Telegram and generic JSON webhooks, off the hot path.

Each channel has its own queue and sender task, so a slow or failing endpoint delays nobody else and the
engine only appends to a deque. A channel sends at most `rate_per_min` messages a minute (a token bucket);
what queues up beyond that goes out as one digest when the next token comes. A failed attempt (timeout,
connection error, HTTP 429 or 5xx) is retried after `backoff_s`, doubling each time, or after the
server's Retry-After; when retries run out, or the server refuses the message outright (other 4xx), its
alerts count as dead letters. URLs carry secrets (webhook paths, bot tokens): they come from the
environment, and no message, status or error here ever contains one.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from datetime import datetime, timezone
from typing import Any, Callable

import aiohttp

from detectors.alert_settings import ChannelSettings
from detectors.alerts import SEVERITY_RANK, Alert
from detectors.engine import AlertEngine

ANNOUNCED = ("opened", "escalated")
DIGEST_LINES = 10  # alerts listed one by one in a digest; the rest are counted
MAX_WAIT_S = 60.0  # the longest Retry-After honoured
DEAD_KEPT = 100  # recent dead letters kept for inspection


class TokenBucket:
    """At most `per_min` takes a minute, in bursts of up to `per_min` (at least one)."""

    def __init__(self, per_min: float, clock=time.monotonic) -> None:
        self.capacity = max(per_min, 1.0)
        self.rate = per_min / 60.0
        self.tokens = self.capacity
        self._clock = clock
        self._at = clock()

    def available(self) -> float:
        now = self._clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._at) * self.rate)
        self._at = now
        return self.tokens

    async def take(self) -> None:
        while self.available() < 1.0:
            await asyncio.sleep((1.0 - self.tokens) / self.rate)
        self.tokens -= 1.0


class Channel:
    """One destination. `url` (and `chat_id` for Telegram) were read from the environment by the caller."""

    def __init__(self, settings: ChannelSettings, name: str, url: str, chat_id: str | None = None) -> None:
        self.settings = settings
        self.name = name
        if settings.kind == "telegram" and not url.rstrip("/").endswith("/sendMessage"):
            url = url.rstrip("/") + "/sendMessage"  # the variable holds the bot's base URL
        self._url = url
        self._chat_id = chat_id
        self._min_rank = SEVERITY_RANK[settings.min_severity]
        self._queue: deque[tuple[str, dict[str, Any]]] = deque()  # (change, alert line)
        self._ready = asyncio.Event()
        self._bucket = TokenBucket(settings.rate_per_min)
        self.sending = False
        self.sent = 0  # alerts delivered (a digest counts each alert in it)
        self.digests = 0
        self.dead_letters = 0  # alerts given up on
        self.dead: deque[tuple[str, str]] = deque(maxlen=DEAD_KEPT)  # (alert id, why) of recent dead letters
        self.last_error = ""
        self.on_dead: Callable[[], None] = lambda: None

    @property
    def idle(self) -> bool:
        return not self._queue and not self.sending

    def offer(self, alert: Alert, change: str) -> None:
        """Queue the alert as it is now if it is loud enough for this channel; O(1), never waits."""
        if SEVERITY_RANK[alert.severity] >= self._min_rank:
            self._queue.append((change, alert.to_line()))
            self._ready.set()

    async def run(self, session: aiohttp.ClientSession) -> None:
        while True:
            await self._ready.wait()
            await self._bucket.take()
            # one at a time while the budget covers the queue; beyond it, everything queued as one digest
            take = 1 if self._bucket.tokens >= len(self._queue) - 1 else len(self._queue)
            batch = [self._queue.popleft() for _ in range(take)]
            if not self._queue:
                self._ready.clear()
            self.sending = True
            try:
                await self._deliver(session, batch)
            finally:
                self.sending = False

    def abandon(self, why: str) -> None:
        """Count what is still queued as dead letters (shutting down with a channel that cannot keep up)."""
        if self._queue:
            self._dead(list(self._queue), why)
            self._queue.clear()

    async def _deliver(self, session: aiohttp.ClientSession, batch: list[tuple[str, dict[str, Any]]]) -> None:
        s = self.settings
        payload = self._payload(batch)
        for attempt in range(s.retries + 1):
            wait = s.backoff_s * 2 ** attempt
            try:
                async with session.post(self._url, json=payload,
                                        timeout=aiohttp.ClientTimeout(total=s.timeout_s)) as response:
                    if 200 <= response.status < 300:
                        self.sent += len(batch)
                        self.digests += len(batch) > 1
                        return
                    self.last_error = f"HTTP {response.status}"
                    if response.status != 429 and response.status < 500:
                        break  # refused as it is: retrying would be refused too
                    wait = await _retry_after(response) or wait
            except TimeoutError:
                self.last_error = f"no answer within {s.timeout_s:g} s"
            except aiohttp.ClientError as exc:  # its text can hold the URL: only the class name is shown
                self.last_error = f"cannot connect ({type(exc).__name__})"
            if attempt < s.retries:
                await asyncio.sleep(min(wait, MAX_WAIT_S))
        self._dead(batch, self.last_error)

    def _dead(self, batch: list[tuple[str, dict[str, Any]]], why: str) -> None:
        self.dead_letters += len(batch)
        self.dead.extend((line["id"], why) for _, line in batch)
        self.on_dead()

    def _payload(self, batch: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
        if self.settings.kind == "webhook":
            return {"alerts": [{"change": change, "alert": line} for change, line in batch]}
        text = _text(*batch[0]) if len(batch) == 1 else self._digest(batch)
        if self.settings.kind == "telegram":
            return {"chat_id": self._chat_id, "text": text, "disable_web_page_preview": True}
        return {"text": text}

    def _digest(self, batch: list[tuple[str, dict[str, Any]]]) -> str:
        counts = {severity: 0 for severity in reversed(SEVERITY_RANK)}
        for _, line in batch:
            counts[line["severity"]] += 1
        summary = ", ".join(f"{n} {severity}" for severity, n in counts.items() if n)
        lines = [f"{len(batch)} alerts over the rate limit of {self.settings.rate_per_min:g}/min ({summary}):"]
        lines += [_text(change, line) for change, line in batch[:DIGEST_LINES]]
        if len(batch) > DIGEST_LINES:
            lines.append(f"... and {len(batch) - DIGEST_LINES} more")
        return "\n".join(lines)


class Notifier:
    """Every channel, fed by the engine's listener; started and stopped with the runtime."""

    def __init__(self, channels: list[Channel], engine: AlertEngine, grace_s: float = 5.0) -> None:
        self.channels = channels
        self.grace_s = grace_s  # on stop, how long queued messages may take to go out
        self._session: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task] = []
        self.status_listeners: list[Callable[[str, str], None]] = []  # (level, text) on each new dead letter
        for channel in channels:
            channel.on_dead = self._tell_status
        engine.listeners.append(self._on_alert)

    @property
    def dead_letters(self) -> int:
        return sum(channel.dead_letters for channel in self.channels)

    def status(self) -> tuple[str, str]:
        """(level, one line) for a status bar: `error` once any alert became a dead letter."""
        failing = [f"{c.name} {c.dead_letters} ({c.last_error})" for c in self.channels if c.dead_letters]
        if failing:
            return "error", f"notify dead letters: {', '.join(failing)}"
        return "ok", f"notify ok ({sum(c.sent for c in self.channels)} sent)"

    def _tell_status(self) -> None:
        level, text = self.status()
        for listener in self.status_listeners:
            listener(level, text)

    def _on_alert(self, alert: Alert, change: str) -> None:
        if change in ANNOUNCED:
            for channel in self.channels:
                channel.offer(alert, change)

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        self._tasks = [asyncio.create_task(channel.run(self._session), name=f"notify:{channel.name}")
                       for channel in self.channels]

    async def stop(self) -> None:
        """Give queued messages `grace_s` to go out; what is left then is counted as dead letters."""
        deadline = time.monotonic() + self.grace_s
        while not all(channel.idle for channel in self.channels) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for channel in self.channels:
            channel.abandon("still queued at shutdown")
        if self._session is not None:
            await self._session.close()
            self._session = None


def _text(change: str, line: dict[str, Any]) -> str:
    """One alert for a chat: severity as a word (no colour needed), what, where, when (market time, UTC)."""
    where = f"{line['venue']}:{line['symbol']}" if line["symbol"] else line["venue"]
    when = datetime.fromtimestamp(line["ts"], timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{line['severity'].upper()} {line['kind']} {where}: {line['message']} ({change} {line['id']}, {when})"


async def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    """Seconds the server asked us to wait: the Retry-After header, or Telegram's parameters.retry_after."""
    header = response.headers.get("Retry-After", "")
    if header.replace(".", "", 1).isdigit():
        return float(header)
    if response.content_type == "application/json":
        try:
            body = await response.json()
        except (aiohttp.ClientError, ValueError):
            return None
        retry = (body.get("parameters") or {}).get("retry_after") if isinstance(body, dict) else None
        return float(retry) if isinstance(retry, (int, float)) else None
    return None
