"""The command palette's list (`:` or ctrl+p): every action a key can run, found by its description."""

from __future__ import annotations

from typing import Callable, NamedTuple

from textual.command import DiscoveryHit, Hit, Hits, Provider


class Command(NamedTuple):
    title: str  # "Alerts: Ack", the view (or Global) and the key's description
    help: str  # the key, and whether it can run now
    run: Callable[[], object]


class ConsoleCommands(Provider):
    """The app's `palette_commands()`, as palette hits."""

    def _commands(self) -> list[Command]:
        return self.app.palette_commands()

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.title, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.run, help=command.help)
