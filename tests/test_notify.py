"""Notifications against a local HTTP server on 127.0.0.1 that records what it receives, fails, or stalls."""

import asyncio
import os
import sys

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from alert_desk import DESK_CONFIG
from conftest import ROOT
from detectors.alert_settings import ChannelSettings
from detectors.alerts import Signal
from detectors.engine import AlertEngine
from detectors.notify import Channel, Notifier

T0 = 1_767_225_600.0
SECRET = "T0KEN-s3cr3t-9f8e7d"  # what a webhook path or bot token would hold
QUICK = {"backoff_s": 0.01, "timeout_s": 0.1, "retries": 2}


class Receiver:
    """Slack, Telegram and generic webhooks, plus endpoints that fail, stall, or rate-limit once."""

    def __init__(self) -> None:
        self.got: dict[str, list] = {}
        self.hits: dict[str, int] = {}
        app = web.Application()
        app.router.add_post("/{name}", self.handle)
        app.router.add_post("/bot{token}/sendMessage", self.telegram)
        self.server = TestServer(app, host="127.0.0.1")

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.hits[name] = self.hits.get(name, 0) + 1
        if name.startswith("fail"):
            return web.Response(status=500, text=f"internal error for {request.path_qs}")
        if name == "slow":
            await asyncio.sleep(5)
        if name == "busy" and self.hits[name] == 1:
            return web.Response(status=429, headers={"Retry-After": "0"})
        if name == "gone":
            return web.Response(status=404, text="no_service")
        self.got.setdefault(name, []).append(await request.json())
        return web.Response(text="ok")

    async def telegram(self, request: web.Request) -> web.Response:
        self.got.setdefault(f"bot{request.match_info['token']}", []).append(await request.json())
        return web.json_response({"ok": True, "result": {"message_id": 1}})


@pytest.fixture
async def receiver():
    receiver = Receiver()
    await receiver.server.start_server()
    yield receiver
    await receiver.server.close()


def channel(receiver, kind, path, name=None, chat_id=None, **settings):
    return Channel(ChannelSettings(kind, "UNUSED_ENV", **{"chat_id_env": "UNUSED_CHAT"} if kind == "telegram" else {},
                                   **settings), name or path, receiver.url(path), chat_id)


def fire(engine, symbol="ETH/USDT", severity="warning", ts=T0):
    engine.submit(Signal(ts, "sim-alpha", symbol, "spread_wide", severity, 30.0, 5.0, 9.0, "spread 30.0 bps > 5.0 bps"))


async def settle(notifier):
    while not all(c.idle for c in notifier.channels):
        await asyncio.sleep(0.01)


async def test_slack_telegram_and_webhook_each_get_the_alert_in_their_format(receiver):
    engine = AlertEngine()
    notifier = Notifier([channel(receiver, "slack", "slack"),
                         channel(receiver, "telegram", f"bot{SECRET}", name="telegram", chat_id="-100123"),
                         channel(receiver, "webhook", "hook", min_severity="info")], engine)
    await notifier.start()
    try:
        fire(engine, severity="warning")
        fire(engine, severity="critical")  # an escalation is announced again
        engine.submit(Signal(T0 + 5, "sim-alpha", "ETH/USDT", "spread_wide", None))  # clearing is not
        await settle(notifier)
    finally:
        await notifier.stop()
    alert_id = engine.history[0].id
    slack = [m["text"] for m in receiver.got["slack"]]
    assert slack == [f"WARNING spread_wide sim-alpha:ETH/USDT: spread 30.0 bps > 5.0 bps (opened {alert_id}, "
                     "2026-01-01 00:00:00 UTC)",
                     f"CRITICAL spread_wide sim-alpha:ETH/USDT: spread 30.0 bps > 5.0 bps (escalated {alert_id}, "
                     "2026-01-01 00:00:00 UTC)"]
    telegram = receiver.got[f"bot{SECRET}"]
    assert [(m["chat_id"], m["text"]) for m in telegram] == [("-100123", text) for text in slack]
    hook = receiver.got["hook"]
    assert [(m["alerts"][0]["change"], m["alerts"][0]["alert"]["severity"]) for m in hook] == [
        ("opened", "warning"), ("escalated", "critical")]
    assert hook[0]["alerts"][0]["alert"] == {**engine.history[0].to_line(), "severity": "warning",
                                             "state": "open"}
    assert notifier.status() == ("ok", "notify ok (6 sent)")


async def test_min_severity_filters_quiet_alerts(receiver):
    engine = AlertEngine()
    notifier = Notifier([channel(receiver, "slack", "pager", min_severity="critical")], engine)
    await notifier.start()
    try:
        fire(engine, "A", "warning")
        fire(engine, "B", "critical")
        await settle(notifier)
    finally:
        await notifier.stop()
    assert [m["text"].split()[0] for m in receiver.got["pager"]] == ["CRITICAL"]


async def test_a_failing_endpoint_is_retried_then_dead_lettered_without_showing_its_secret(receiver):
    engine = AlertEngine()
    failing = channel(receiver, "slack", f"fail-{SECRET}", name="slack", **QUICK)
    notifier = Notifier([failing, channel(receiver, "webhook", "hook")], engine)
    await notifier.start()
    try:
        fire(engine)
        await settle(notifier)
    finally:
        await notifier.stop()
    assert receiver.hits[f"fail-{SECRET}"] == 3  # the first attempt and two retries
    assert len(receiver.got["hook"]) == 1  # the other channel was not held up
    assert (failing.dead_letters, notifier.dead_letters) == (1, 1)
    level, text = notifier.status()
    assert level == "error" and text == "notify dead letters: slack 1 (HTTP 500)"
    assert SECRET not in repr(list(failing.dead)) + failing.last_error


async def test_a_slow_endpoint_times_out_and_never_blocks_the_engine_or_other_channels(receiver):
    engine = AlertEngine()
    slow = channel(receiver, "webhook", "slow", **{**QUICK, "retries": 1})
    notifier = Notifier([slow, channel(receiver, "webhook", "hook")], engine)
    await notifier.start()
    try:
        for i in range(3):
            fire(engine, f"S{i}")  # returns at once: the engine only queues
        while len(receiver.got.get("hook", [])) < 3:
            await asyncio.sleep(0.01)
        assert not slow.idle  # still waiting on the slow server when the fast one has everything
        await settle(notifier)
    finally:
        await notifier.stop()
    assert slow.last_error == "no answer within 0.1 s"
    assert slow.sent == 0 and slow.dead_letters == 3


async def test_rate_limit_retry_after_and_refusals(receiver):
    engine = AlertEngine()
    limited = channel(receiver, "slack", "limited", rate_per_min=1)
    busy = channel(receiver, "webhook", "busy", **QUICK)
    gone = channel(receiver, "webhook", "gone", **QUICK)
    notifier = Notifier([limited, busy, gone], engine)
    await notifier.start()
    try:
        for i in range(12):
            fire(engine, f"S{i}")
        await settle(notifier)
    finally:
        await notifier.stop()
    (digest,) = receiver.got["limited"]  # twelve alerts over a budget of one message: one digest
    lines = digest["text"].splitlines()
    assert lines[0] == "12 alerts over the rate limit of 1/min (12 warning):"
    assert len(lines) == 12 and lines[-1] == "... and 2 more"
    assert (limited.sent, limited.digests) == (12, 1)
    assert receiver.hits["busy"] == 13 and busy.sent == 12  # one 429 with Retry-After, retried and accepted
    assert receiver.hits["gone"] == 12 and gone.dead_letters == 12  # each 404 is final: no retries
    assert gone.last_error == "HTTP 404"


async def test_secrets_never_reach_output_the_store_or_exports(receiver, tmp_path):
    """A real headless run with a failing Slack URL and a Telegram token from the environment."""
    config = tmp_path / "desk.yaml"
    config.write_text(DESK_CONFIG + "notify:\n  channels:\n"
                      "    - {kind: slack, url_env: WF_SLACK, min_severity: info, retries: 1, backoff_s: 0.01}\n"
                      "    - {kind: telegram, url_env: WF_TG, chat_id_env: WF_CHAT, min_severity: info}\n")
    env = {**os.environ, "WF_SLACK": receiver.url(f"/fail-{SECRET}") + f"?token={SECRET}",
           "WF_TG": receiver.url(f"/bot{SECRET}"), "WF_CHAT": "-100777"}
    outputs = []
    for args in (("--headless", "--speed", "max", "--duration", "200"), ("alerts", "export", "--format", "json"),
                 ("alerts", "export", "--audit"), ("report", "--format", "json")):
        child = await asyncio.create_subprocess_exec(sys.executable, "-m", "console.cli", "--config", str(config),
                                                     *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
                                                     stderr=asyncio.subprocess.PIPE)
        stdout, stderr = await child.communicate()
        assert child.returncode == 0, stderr.decode()
        outputs.append(stdout.decode() + stderr.decode())
    assert len(receiver.got[f"bot{SECRET}"]) == 3  # the telegram channel worked: the token was used ...
    assert receiver.hits[f"fail-{SECRET}"] == 6  # ... and the failing slack URL was tried
    assert "notify dead letters: slack 3 (HTTP 500)" in outputs[0]
    files = b"".join(path.read_bytes() for path in tmp_path.iterdir() if path.is_file() and path != config)
    for where in outputs + [files.decode("utf-8", "replace")]:
        assert SECRET not in where and "-100777" not in where


async def test_a_channel_whose_variable_is_unset_stops_the_start_with_one_line(tmp_path):
    config = tmp_path / "desk.yaml"
    config.write_text(DESK_CONFIG + "notify:\n  channels:\n    - {kind: slack, url_env: WF_UNSET_URL}\n")
    env = {k: v for k, v in os.environ.items() if k != "WF_UNSET_URL"}
    child = await asyncio.create_subprocess_exec(sys.executable, "-m", "console.cli", "--config", str(config),
                                                 "--headless", cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
                                                 stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await child.communicate()
    assert child.returncode == 2 and stdout == b""
    assert stderr.decode() == (f"watchfloor: {config}: notify.channels[0].url_env: environment variable "
                               "WF_UNSET_URL is not set\n")
