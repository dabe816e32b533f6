"""Attaches the alert store and the notifier to a Runtime, as the config says.

Both are runtime services: the runtime starts them before its feeds (so unresolved alerts and saved state
are back before the first event) and stops them after (so the last changes are committed). Secrets for the
notification channels are read from the environment here, once, and go nowhere but the channel.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping

from console.config import Config, ConfigError
from console.runtime import Runtime
from detectors.store import AlertStore
from detectors.store_schema import StoreError, check_version

if TYPE_CHECKING:
    from detectors.notify import Channel


def operator_name(config: Config) -> str:
    """Who is on watch, for the audit trail: the config's `operator`, else the login name."""
    return config.operator or os.environ.get("USER") or os.environ.get("LOGNAME") or "unknown"


def store_path(config: Config) -> Path:
    """`store.path`, relative to the config file's folder (so each config keeps its own store)."""
    path = Path(config.store.path).expanduser()
    base = Path(config.path).resolve().parent if config.path else Path.cwd()
    return path if path.is_absolute() else base / path


def check_store(path: Path) -> None:
    """Refuse, before anything starts, a file that is not an alert store or is from a newer watchfloor."""
    if not path.is_file():
        return
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            (version,), = db.execute("PRAGMA user_version")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: not an alert store ({exc})") from None
    check_version(str(path), version)


def attach_alert_services(runtime: Runtime, config: Config, log: Callable[[str], None] | None = None,
                          env: Mapping[str, str] = os.environ) -> None:
    """Give `runtime` its store and, if channels are configured, its notifier; `log` hears status changes."""
    path = store_path(config)
    check_store(path)
    store = AlertStore(config.store, str(path), runtime.engine)
    runtime.alert_store = store
    runtime.services.append(store)
    channels = notification_channels(config, env)
    if channels:
        from detectors.notify import Notifier  # aiohttp takes a fifth of a second to import: only when needed
        runtime.notifier = Notifier(channels, runtime.engine)
        runtime.services.append(runtime.notifier)
    if log is not None:
        for service in (store, runtime.notifier):
            if service is not None:
                service.status_listeners.append(lambda level, text: log(f"watchfloor: {text}"))


def notification_channels(config: Config, env: Mapping[str, str]) -> list[Channel]:
    """The configured channels with their URLs (and chat ids) read from the environment."""
    if not config.notify.channels:
        return []
    from detectors.notify import Channel
    channels = []
    kinds = [channel.kind for channel in config.notify.channels]
    for i, settings in enumerate(config.notify.channels):
        key = f"notify.channels[{i}]"
        url = _secret(config, env, f"{key}.url_env", settings.url_env)
        if not url.startswith(("https://", "http://")):
            raise ConfigError(config.path, None, f"{key}.url_env",
                              f"environment variable {settings.url_env} must hold an http(s) URL")
        chat_id = _secret(config, env, f"{key}.chat_id_env", settings.chat_id_env) if settings.chat_id_env else None
        name = settings.kind if kinds.count(settings.kind) == 1 else f"{settings.kind}#{i}"
        channels.append(Channel(settings, name, url, chat_id))
    return channels


def _secret(config: Config, env: Mapping[str, str], key: str, variable: str) -> str:
    value = env.get(variable, "").strip()
    if not value:
        raise ConfigError(config.path, None, key, f"environment variable {variable} is not set")
    return value
