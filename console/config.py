"""Loads config.yaml into typed settings; every problem is one line naming the file, line and key path.

One walker maps YAML nodes onto the settings dataclasses by their type hints, so a new settings field
needs no parsing code here. Only the detector section, whose keys are detector kinds, has its own step.
Rules that span sections, or concern settings classes without validation of their own, run after the walk.
"""

from __future__ import annotations

import dataclasses
import re
import types
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, NoReturn, Union, get_args, get_origin, get_type_hints

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from detectors import DETECTORS  # importing the package registers every detector kind
from detectors.alert_settings import ChannelSettings, NotifySettings, StoreSettings  # noqa: F401  (re-exported)
from detectors.settings import DetectorOverride, DetectorSettings
from feeds.settings import InstrumentSettings, MarketsSettings, SimSettings, VenueSettings
from maker.settings import MakerSettings

# PyYAML resolves YAML 1.1, where 1e-4 is a string; YAML 1.2 (and anyone writing a lot size) reads a float.
_YAML12_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_SCALAR_TAGS = {str: ("str", "timestamp"), int: ("int",), float: ("int", "float"), bool: ("bool",)}
_SCALAR_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


@dataclass(frozen=True)
class UiSettings:
    refresh_hz: float = 10.0  # screen redraws per second
    bell: bool = True  # ring the terminal bell on critical alerts
    toast: bool = True  # pop up a notice on critical alerts
    renotify_s: float = 30.0  # repeat both while a critical alert is unacknowledged (wall seconds; 0: never)
    theme: str = "watchfloor"

    def __post_init__(self) -> None:
        if self.refresh_hz <= 0:
            raise ValueError("refresh_hz must be positive")
        if self.renotify_s < 0:
            raise ValueError("renotify_s must not be negative")


@dataclass(frozen=True)
class Config:
    venues: list[VenueSettings]
    instruments: list[InstrumentSettings]
    sim: SimSettings = field(default_factory=SimSettings)
    markets: MarketsSettings = field(default_factory=MarketsSettings)  # session calendars (feeds.calendars)
    detectors: DetectorSettings = field(default_factory=DetectorSettings)
    maker: MakerSettings = field(default_factory=MakerSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    ui: UiSettings = field(default_factory=UiSettings)
    operator: str | None = None  # who is on watch, for the audit log; None means $USER
    path: str = field(default="", metadata={"in_file": False})  # the file this was loaded from

    def instrument(self, key: str) -> InstrumentSettings:
        """The instrument whose `venue:symbol` is `key`; KeyError if none."""
        for instrument in self.instruments:
            if instrument.key == key:
                return instrument
        raise KeyError(key)

    def venue(self, name: str) -> VenueSettings:
        """The venue called `name`; KeyError if none."""
        for venue in self.venues:
            if venue.name == name:
                return venue
        raise KeyError(name)


class ConfigError(Exception):
    """A config problem as one line, `<file>:<line>: <key.path>: <problem>`, for the CLI to print as is."""

    def __init__(self, file: str, line: int | None, path: str, problem: str) -> None:
        self.file, self.line, self.path = file, line, path
        self.problem = " ".join(problem.splitlines())
        where = f"{file}:{line}" if line else file
        super().__init__(": ".join(part for part in (where, path, self.problem) if part))


def default_config_path() -> Path:
    """The default config.yaml at the project root."""
    return Path(__file__).resolve().parent.parent / "config.yaml"


def load_config(path: str | Path) -> Config:
    """Read and check `path`; any problem raises ConfigError."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(file, None, "", f"cannot read: {getattr(e, 'strerror', None) or e}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        raise _syntax_error(file, e) from None
    walker = _Walker(file)
    config = walker.value(root if root is not None else MappingNode("tag:yaml.org,2002:map", []), Config, "")
    _cross_check(config, walker)
    return dataclasses.replace(config, path=file)


def _syntax_error(file: str, e: yaml.YAMLError) -> ConfigError:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    context, context_mark = getattr(e, "context", None), getattr(e, "context_mark", None)
    if context and context_mark and context_mark is not mark:
        problem += f" ({context} at line {context_mark.line + 1})"
    return ConfigError(file, mark.line + 1 if mark else None, "", f"YAML syntax error: {problem}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _alternatives(values: Any) -> str:
    values = [str(v) for v in values]
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"


def _describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag.endswith(":null"):
        return "null"
    return repr(node.value) if node.tag.endswith(":str") else node.value


def _file_fields(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.metadata.get("in_file", True)]


class _Walker:
    """Maps YAML nodes onto typed values, remembering the line of every key path for the later checks."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[str, int] = {}  # key path -> line of its key (or of its list item)

    def line(self, path: str) -> int:
        """The line of `path`, or of the nearest enclosing key when `path` was not in the file."""
        while path not in self.lines and path:
            path = path[:max(path.rfind("."), path.rfind("["), 0)]
        return self.lines.get(path, 1)

    def fail(self, path: str, problem: str, node: Node | None = None) -> NoReturn:
        raise ConfigError(self.file, node.start_mark.line + 1 if node else self.line(path), path, problem)

    def require(self, ok: Any, path: str, problem: str) -> None:
        if not ok:
            self.fail(path, problem)

    def value(self, node: Node, tp: Any, path: str) -> Any:
        origin, args = get_origin(tp), get_args(tp)
        if origin in (Union, types.UnionType):
            if type(None) in args and isinstance(node, ScalarNode) and node.tag.endswith(":null"):
                return None
            (inner,) = [arg for arg in args if arg is not type(None)]
            return self.value(node, inner, path)
        if tp is DetectorSettings:
            return self.detector_settings(node, path)
        if dataclasses.is_dataclass(tp):
            return self.dataclass(node, tp, path)
        if origin is list:
            return [self.value(item, args[0], f"{path}[{i}]") for i, item in enumerate(self.sequence(node, path))]
        if origin is dict:
            return {key: self.value(value, args[1], _join(path, key)) for key, _, value in self.mapping(node, path)}
        return self.scalar(node, tp, path)

    def scalar(self, node: Node, tp: Any, path: str) -> Any:
        literals = get_args(tp) if get_origin(tp) is Literal else None
        if literals is None and tp not in _SCALAR_TAGS:
            raise TypeError(f"console.config cannot read fields of type {tp!r} (at {path})")
        if isinstance(node, ScalarNode):
            tag = node.tag.rpartition(":")[2]
            if literals is not None:
                if tag == "str" and node.value in literals:
                    return node.value
            elif tp is float and tag == "str" and node.style is None and _YAML12_FLOAT.fullmatch(node.value):
                return float(node.value)
            elif tag in _SCALAR_TAGS[tp]:
                return node.value if tp is str else tp(SafeConstructor().construct_object(node))
        expected = _alternatives(literals) if literals is not None else _SCALAR_NAMES[tp]
        self.fail(path, f"expected {expected}, got {_describe(node)}", node)

    def sequence(self, node: Node, path: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            self.fail(path, f"expected a list, got {_describe(node)}", node)
        for i, item in enumerate(node.value):
            self.lines[f"{path}[{i}]"] = item.start_mark.line + 1
        return node.value

    def mapping(self, node: Node, path: str) -> list[tuple[str, Node, Node]]:
        """(key, key node, value node) in file order, after checking the keys are distinct strings."""
        if not isinstance(node, MappingNode):
            self.fail(path, f"expected a mapping, got {_describe(node)}", node)
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            key = key_node.value
            if not isinstance(key_node, ScalarNode):
                self.fail(path, f"expected a string key, got {_describe(key_node)}", key_node)
            if key in seen:
                self.fail(_join(path, key), f"duplicate key (first at line {seen[key]})", key_node)
            seen[key] = self.lines[_join(path, key)] = key_node.start_mark.line + 1
        return [(key_node.value, key_node, value_node) for key_node, value_node in node.value]

    def fields(self, node: Node, cls: type, path: str) -> dict[str, Any]:
        """The type-checked fields of `cls` that the mapping gives; unknown keys are errors."""
        hints = get_type_hints(cls)
        known = [f.name for f in _file_fields(cls)]
        values = {}
        for key, key_node, value_node in self.mapping(node, path):
            if key not in known:
                self.fail(_join(path, key), f"unknown key (expected one of: {', '.join(known)})", key_node)
            values[key] = self.value(value_node, hints[key], _join(path, key))
        return values

    def dataclass(self, node: Node, cls: type, path: str) -> Any:
        values = self.fields(node, cls, path)
        for f in _file_fields(cls):
            no_default = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            self.require(f.name in values or not no_default, _join(path, f.name), "required key is missing")
        try:
            return cls(**values)
        except ValueError as e:  # the class's own __post_init__ validation
            self.fail(path, str(e))

    def params_type(self, kind: str, path: str, node: Node, expected: str) -> type:
        if kind not in DETECTORS:
            self.fail(path, f"unknown detector kind (expected {expected}{', '.join(sorted(DETECTORS))})", node)
        return DETECTORS[kind].params_type

    def detector_settings(self, node: Node, path: str) -> DetectorSettings:
        """`defaults` maps kind -> params; each of `overrides` is a `match` glob plus kind -> changed fields."""
        sections = {}
        for key, key_node, value_node in self.mapping(node, path):
            self.require(key in ("defaults", "overrides"), _join(path, key),
                         "unknown key (expected one of: defaults, overrides)")
            sections[key] = value_node
        defaults = {}
        if "defaults" in sections:
            defaults_path = _join(path, "defaults")
            for kind, kind_node, params_node in self.mapping(sections["defaults"], defaults_path):
                kind_path = _join(defaults_path, kind)
                params_type = self.params_type(kind, kind_path, kind_node, "one of: ")
                defaults[kind] = self.dataclass(params_node, params_type, kind_path)
        overrides = []
        if "overrides" in sections:
            overrides_path = _join(path, "overrides")
            for i, item in enumerate(self.sequence(sections["overrides"], overrides_path)):
                overrides.append(self.override(item, f"{overrides_path}[{i}]", defaults))
        return DetectorSettings(defaults, overrides)

    def override(self, node: Node, path: str, defaults: dict[str, Any]) -> DetectorOverride:
        match, params = None, {}
        for key, key_node, value_node in self.mapping(node, path):
            key_path = _join(path, key)
            if key == "match":
                match = self.value(value_node, str, key_path)
                continue
            params_type = self.params_type(key, key_path, key_node, "match or one of: ")
            params[key] = self.fields(value_node, params_type, key_path)
            try:  # the override must also give valid params on top of the defaults
                dataclasses.replace(defaults.get(key) or params_type(), **params[key])
            except ValueError as e:
                self.fail(key_path, str(e))
        self.require(match is not None, _join(path, "match"), "required key is missing")
        return DetectorOverride(match, params)


def _scenario_kinds() -> list[str] | None:
    """Known scenario kinds, or None while feeds.scenarios does not exist yet."""
    try:
        from feeds.scenarios import SCENARIOS
    except ModuleNotFoundError as e:
        if e.name != "feeds.scenarios":
            raise
        return None
    return sorted(SCENARIOS)


def _is_utc_time(text: str) -> bool:
    try:
        return datetime.fromisoformat(text).utcoffset() == timedelta(0)
    except ValueError:
        return False


def _cross_check(config: Config, w: _Walker) -> None:
    """Rules that span sections, or that others' settings classes do not check themselves."""
    venues: dict[str, str] = {}  # name -> key path of its first declaration
    for i, venue in enumerate(config.venues):
        path = f"venues[{i}]"
        w.require(venue.name not in venues, f"{path}.name",
                  f"duplicate venue {venue.name!r} (first at line {w.line(venues.get(venue.name, ''))})")
        venues[venue.name] = f"{path}.name"
        w.require(venue.source != "ccxt" or venue.exchange, f"{path}.exchange", "required when source is ccxt")
        if venue.source == "ccxt":
            from feeds.live import exchange_problem  # imports ccxt, so only when a live venue is configured
            problem = exchange_problem(venue.exchange)
            w.require(problem is None, f"{path}.exchange", problem or "")
        w.require(venue.freshness_s > 0, f"{path}.freshness_s", f"must be positive, got {venue.freshness_s}")

    instruments: dict[str, str] = {}  # venue:symbol -> key path of its first declaration
    for i, inst in enumerate(config.instruments):
        path = f"instruments[{i}]"
        w.require(inst.venue in venues, f"{path}.venue",
                  f"unknown venue {inst.venue!r} (declared: {', '.join(venues) or 'none'})")
        w.require(inst.key not in instruments, f"{path}.symbol",
                  f"duplicate instrument {inst.key!r} (first at line {w.line(instruments.get(inst.key, ''))})")
        instruments[inst.key] = f"{path}.symbol"
        for name in ("tick_size", "lot_size", "price", "freshness_s"):
            value = getattr(inst, name)
            w.require(value is None or value > 0, f"{path}.{name}", f"must be positive, got {value}")
        w.require(inst.tick_size is not None or config.venue(inst.venue).source != "sim", f"{path}.tick_size",
                  "required key is missing")  # ccxt venues read it from the exchange
        w.require(inst.volatility >= 0, f"{path}.volatility", f"must not be negative, got {inst.volatility}")

    for i, key in enumerate(config.maker.instruments):
        w.require(key in instruments, f"maker.instruments[{i}]", f"unknown instrument {key!r}")
    for key in config.maker.instruments:  # overrides combine, so only the result per instrument can be judged
        try:
            config.maker.quoting.check(config.instrument(key))
        except ValueError as e:
            w.fail("maker.quoting", f"for {key}: {e}")

    sim = config.sim
    w.require(sim.start is None or _is_utc_time(sim.start), "sim.start",
              f"expected an ISO-8601 UTC time like 2024-05-01T13:30:00Z, got {sim.start!r}")
    w.require(sim.speed >= 0, "sim.speed", f"must not be negative, got {sim.speed}")
    w.require(sim.step_s > 0, "sim.step_s", f"must be positive, got {sim.step_s}")
    kinds = _scenario_kinds()
    for i, scenario in enumerate(sim.scenarios):
        path = f"sim.scenarios[{i}]"
        w.require(kinds is None or scenario.kind in kinds, f"{path}.kind",
                  f"unknown scenario kind {scenario.kind!r} (expected one of: {', '.join(kinds or [])})")
        w.require(scenario.instrument in instruments, f"{path}.instrument",
                  f"unknown instrument {scenario.instrument!r}")
        w.require(scenario.at >= 0, f"{path}.at", f"must not be negative, got {scenario.at}")
        w.require(scenario.duration > 0, f"{path}.duration", f"must be positive, got {scenario.duration}")
