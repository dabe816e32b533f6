"""The `?` help: every key binding, read from the live widgets' bindings so it can never drift from them."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Static

from console.widgets.model import CELL_STATES, GLYPH

Section = tuple[str, list[DOMNode]]  # (title, nodes whose bindings it lists)
Rows = list[tuple[list[Binding], str]]  # ([bindings sharing an action], description)


def binding_rows(nodes: list[DOMNode]) -> Rows:
    """The nodes' bindings, the keys of one action joined on one row."""
    rows: dict[str, tuple[list[Binding], str]] = {}
    for node in nodes:
        for _, binding in node._bindings:  # the merged, keymap-applied bindings Textual dispatches on
            keys, _ = rows.setdefault(binding.action, ([], binding.description or binding.action))
            keys.append(binding)
    return list(rows.values())


def merge_sections(sections: list[Section]) -> list[tuple[str, Rows]]:
    """Sections with the same bindings (the alerts and maker tables) are listed once, titles joined."""
    merged: list[tuple[str, Rows]] = []
    for title, nodes in sections:
        rows = binding_rows(nodes)
        signature = [([b.key for b in keys], text) for keys, text in rows]
        for index, (other_title, other_rows) in enumerate(merged):
            if [([b.key for b in keys], text) for keys, text in other_rows] == signature:
                merged[index] = (f"{other_title}, {title}", other_rows)
                break
        else:
            merged.append((title, rows))
    return merged


class HelpScreen(ModalScreen[None], inherit_bindings=False):
    """Modal list of the bindings of each section, in two balanced columns; `escape` (or `?`) closes it."""

    BINDINGS = [
        Binding("escape,question_mark", "dismiss", "Close help"),
        Binding("up,k", "scroll(-1)", "Scroll help up"),
        Binding("down,j", "scroll(1)", "Scroll help down"),
    ]

    def __init__(self, sections: list[Section]) -> None:
        super().__init__()
        self.sections = sections + [("Help", [self])]

    def compose(self) -> ComposeResult:
        blocks = [self._section(title, rows) for title, rows in merge_sections(self.sections)]
        columns: tuple[list[Content], list[Content]] = ([], [])
        for block in blocks:  # each block to the shorter column, in order
            shorter = min(columns, key=lambda column: sum(content.plain.count("\n") + 2 for content in column))
            shorter.append(block)
        box = Vertical(id="help-box")
        box.border_title = "keys"
        with box:
            with VerticalScroll(id="help-scroll"):
                with Horizontal(id="help-columns"):
                    for column in columns:
                        yield Static(Content("\n\n").join(column), classes="help-column")
            yield Static(self._legend(), id="help-legend")

    def _section(self, title: str, rows: Rows) -> Content:
        keys = [" ".join(sorted((self.app.get_key_display(binding) for binding in bindings), key=len))
                for bindings, _ in rows]
        width = max(map(len, keys), default=0)
        lines = [Content.styled(title, "bold $accent")]
        for key, (_, description) in zip(keys, rows):
            lines.append(Content.assemble((key.ljust(width), "bold"), f"  {description}"))
        return Content("\n").join(lines)

    def _legend(self) -> Content:
        return Content("radar cells: " + "  ".join(f"{GLYPH[state]} {state}" for state in CELL_STATES))

    def action_scroll(self, direction: int) -> None:
        scroll = self.query_one("#help-scroll", VerticalScroll)
        scroll.scroll_relative(y=direction, animate=False)
