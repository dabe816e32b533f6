"""Focus changes restyle only the widgets whose CSS can depend on their focus."""

from __future__ import annotations

from textual.css.model import Selector, SelectorType
from textual.css.stylesheet import Stylesheet
from textual.dom import DOMNode

FOCUS_PSEUDO_CLASSES = frozenset({"focus", "blur"})


class RestyledOnFocusOnlyIfStyled:
    """Textual restyles a widget and all its descendants each time it gains or loses focus, in case a rule
    says `:focus`. A view switch moves the focus from one view to the next: for the radar (a dozen component
    classes) and the book view (six widgets), whose CSS never mentions focus, that was 1.2-1.7 ms of each
    switch, twice. Mixed in before the widget class, this keeps Textual's restyle for the widgets a rule
    can style by their focus (a `:focus` or `:blur` selector naming them, or any widget), and skips it
    for the others. Textual skips hover restyles the same way (`_has_hover_style`)."""

    _focus_styled: tuple[object, bool] | None = None  # (the stylesheet's rules map it was worked out for, answer)

    def watch_has_focus(self, has_focus: bool) -> None:
        rules_map = self.app.stylesheet.rules_map  # rebuilt by Textual whenever the rules change
        if self._focus_styled is None or self._focus_styled[0] is not rules_map:
            self._focus_styled = (rules_map, styled_by_focus(self.app.stylesheet, self))
        if self._focus_styled[1]:
            super().watch_has_focus(has_focus)


def styled_by_focus(stylesheet: Stylesheet, node: DOMNode) -> bool:
    """Whether a rule selects on `node`'s focus: `:focus` or `:blur` on a compound selector that can match
    it, anywhere in the rule's selector (so rules for its descendants and components count too)."""
    names = node._selector_names
    return any(selector.pseudo_classes & FOCUS_PSEUDO_CLASSES and _name(selector) in names
               for rule in stylesheet.rules for selector_set in rule.selector_set
               for selector in selector_set.selectors)


def _name(selector: Selector) -> str:
    """The selector's name as Textual lists a node's (`DOMNode._selector_names`): *, Type, .class, #id (and *
    for a nesting `&` left unresolved: it could be anything)."""
    return {SelectorType.UNIVERSAL: "*", SelectorType.NESTED: "*", SelectorType.CLASS: f".{selector.name}",
            SelectorType.ID: f"#{selector.name}"}.get(selector.type, selector.name)
