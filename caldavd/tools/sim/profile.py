"""caldavd-sim's profile: how many users, how they behave, what passes (a TOML file).

Every key has a type, a range and a default here, so a profile needs only
the keys it changes, and a wrong one is refused with its dotted name
(``client.poll_interval must be a number > 0, got -1``) before any request
is made.  Unknown keys are refused too: a misspelt rate that silently kept
its default would make a whole capacity run measure the wrong thing.

Command-line options and ``--set KEY=VALUE`` go through the same checks as
the file, so ``--poll-interval 0`` is refused exactly as ``poll_interval = 0``
would be.  ``conf/sim-profile.toml`` documents every key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from caldavd.tools.sim.report import OPERATIONS, Limits

# The longest run caldavd-sim agrees to: it is a measuring tool, always bounded.
MAX_DURATION_S = 86_400.0
BY_OP = "thresholds.p95_ms_by_op"


class ProfileError(Exception):
    """A profile or override is unusable; the message names the key."""


@dataclass(frozen=True)
class Key:
    kind: type                     # int, float, bool or str
    default: Any
    minimum: float | None = None   # inclusive unless ``above``
    maximum: float | None = None
    above: bool = False            # the value must be > minimum, not >=


KEYS: dict[str, Key] = {
    "run.users": Key(int, 10, 1, 1_000_000),
    "run.first_user": Key(int, 1, 0),
    "run.user_pattern": Key(str, "user{:02d}"),
    "run.password_pattern": Key(str, ""),
    "run.duration": Key(float, 600.0, 0, MAX_DURATION_S, above=True),
    "run.ramp_up": Key(float, 60.0, 0),
    "run.request_timeout": Key(float, 30.0, 0, 600, above=True),
    "run.connections": Key(int, 512, 1, 100_000),
    "run.seed": Key(int, 1),
    "client.poll_interval": Key(float, 900.0, 0, above=True),
    "client.well_known": Key(bool, True),
    "client.multiget_batch": Key(int, 50, 1, 1000),
    "client.events_per_hour": Key(float, 1.0, 0),
    "client.edits_per_hour": Key(float, 0.5, 0),
    "client.invite_fraction": Key(float, 0.3, 0, 1),
    "client.attendees_per_invite": Key(int, 3, 1, 100),
    "client.accept_delay": Key(float, 300.0, 0),
    "client.other_device_fraction": Key(float, 0.25, 0, 1),
    "client.window_days_before": Key(int, 7, 0, 3650),
    "client.window_days_after": Key(int, 30, 1, 3650),
    "thresholds.p95_ms": Key(float, 1000.0, 0, above=True),
    "thresholds.max_failure_percent": Key(float, 1.0, 0, 100),
}
# thresholds.p95_ms_by_op.<operation>: the same rule as thresholds.p95_ms.
BY_OP_KEY = Key(float, None, 0, above=True)


@dataclass(frozen=True)
class RunSettings:
    users: int
    first_user: int
    user_pattern: str
    password_pattern: str
    duration: float
    ramp_up: float
    request_timeout: float
    connections: int
    seed: int

    def user_name(self, index: int) -> str:
        """The ``index``-th simulated user's login name (0-based)."""
        return self.user_pattern.format(self.first_user + index)

    def password(self, index: int) -> str:
        if not self.password_pattern:
            return self.user_name(index)
        return self.password_pattern.format(self.first_user + index)


@dataclass(frozen=True)
class Behaviour:
    """What one simulated desktop client does, and how often (rates per user)."""

    poll_interval: float
    well_known: bool
    multiget_batch: int
    events_per_hour: float
    edits_per_hour: float
    invite_fraction: float
    attendees_per_invite: int
    accept_delay: float
    other_device_fraction: float
    window_days_before: int
    window_days_after: int


@dataclass(frozen=True)
class Thresholds:
    p95_ms: float
    max_failure_percent: float
    p95_ms_by_op: Mapping[str, float] = field(default_factory=dict)

    def limits(self) -> Limits:
        return Limits(self.p95_ms, self.max_failure_percent, dict(self.p95_ms_by_op))


@dataclass(frozen=True)
class Profile:
    run: RunSettings
    client: Behaviour
    thresholds: Thresholds
    source: str = "(defaults)"

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "run": asdict(self.run), "client": asdict(self.client),
                "thresholds": {"p95_ms": self.thresholds.p95_ms,
                               "max_failure_percent": self.thresholds.max_failure_percent,
                               "p95_ms_by_op": dict(self.thresholds.p95_ms_by_op)}}


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and (key.count(".") == 0 or key == BY_OP):
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


def key_spec(key: str) -> Key:
    """The rule for ``key``, or ProfileError naming it and the keys of its section."""
    if key in KEYS:
        return KEYS[key]
    if key.startswith(BY_OP + "."):
        op = key[len(BY_OP) + 1:]
        if op in OPERATIONS:
            return BY_OP_KEY
        raise ProfileError(f"{key}: unknown operation {op!r}; known: {', '.join(OPERATIONS)}")
    section = key.split(".", 1)[0]
    known = sorted(k for k in KEYS if k.startswith(section + "."))
    if not known:
        sections = sorted({k.split(".", 1)[0] for k in KEYS})
        raise ProfileError(f"{key}: unknown key; sections are {', '.join(sections)}")
    raise ProfileError(f"{key}: unknown key; known in [{section}]: "
                       + ", ".join(k.split(".", 1)[1] for k in known) + f", {BY_OP}.<op>"
                       * (section == "thresholds"))


def _kind_name(kind: type) -> str:
    return {int: "an integer", float: "a number", bool: "true or false",
            str: "a string"}[kind]


def check_value(key: str, value: Any) -> Any:
    """``value`` for ``key`` after the key's type and range checks (ints become floats for
    float keys); ProfileError naming the key otherwise."""
    spec = key_spec(key)
    kind = spec.kind
    wrong_type = (isinstance(value, bool) != (kind is bool)
                  or (kind is int and not isinstance(value, int))
                  or (kind is float and not isinstance(value, int | float))
                  or (kind is str and not isinstance(value, str)))
    if wrong_type:
        raise ProfileError(f"{key} must be {_kind_name(kind)}, got {value!r}")
    if kind is float:
        value = float(value)
    if spec.minimum is not None and (value <= spec.minimum if spec.above
                                     else value < spec.minimum):
        raise ProfileError(f"{key} must be {_kind_name(kind)} "
                           f"{'>' if spec.above else '>='} {spec.minimum:g}, got {value!r}")
    if spec.maximum is not None and value > spec.maximum:
        raise ProfileError(f"{key} must be {_kind_name(kind)} <= {spec.maximum:g}, "
                           f"got {value!r}")
    return value


def parse_assignment(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` of ``--set``: the value read as the key's type."""
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key:
        raise ProfileError(f"--set {text!r}: expected KEY=VALUE, e.g. client.poll_interval=60")
    kind = key_spec(key).kind
    try:
        if kind is bool:
            if raw.lower() not in ("true", "false"):
                raise ValueError(raw)
            return key, raw.lower() == "true"
        if kind is int:
            return key, int(raw)
        if kind is float:
            return key, float(raw)
    except ValueError:
        raise ProfileError(f"{key} must be {_kind_name(kind)}, got {raw!r}") from None
    return key, raw


def _check_pattern(key: str, pattern: str) -> None:
    try:
        pattern.format(1)
    except (IndexError, KeyError, ValueError) as exc:
        raise ProfileError(f"{key} {pattern!r} is not a format for a user number "
                           f"(e.g. 'user{{:02d}}'): {exc}") from None
    if pattern.format(1) == pattern.format(2):
        raise ProfileError(f"{key} {pattern!r} must contain the user number, e.g. "
                           "'user{:02d}'")


def read_file(path: Path) -> dict[str, Any]:
    """The file's keys, flattened to dotted names."""
    try:
        with path.open("rb") as handle:
            return _flatten(tomllib.load(handle))
    except OSError as exc:
        raise ProfileError(f"cannot read profile {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"profile {path} is not valid TOML: {exc}") from None


def build(values: Mapping[str, Any], source: str = "(defaults)") -> Profile:
    """A Profile from dotted keys (missing ones take their defaults), every key checked."""
    merged: dict[str, Any] = {k: spec.default for k, spec in KEYS.items()}
    by_op: dict[str, float] = {}
    for key, value in values.items():
        checked = check_value(key, value)
        if key.startswith(BY_OP + "."):
            by_op[key[len(BY_OP) + 1:]] = checked
        else:
            merged[key] = checked
    _check_pattern("run.user_pattern", merged["run.user_pattern"])
    if merged["run.password_pattern"]:
        _check_pattern("run.password_pattern", merged["run.password_pattern"])
    if merged["run.ramp_up"] >= merged["run.duration"]:
        raise ProfileError(f"run.ramp_up ({merged['run.ramp_up']:g} s) must be shorter than "
                           f"run.duration ({merged['run.duration']:g} s)")

    def section(name: str) -> dict[str, Any]:
        return {k.split(".", 1)[1]: v for k, v in merged.items() if k.startswith(name + ".")}

    return Profile(RunSettings(**section("run")), Behaviour(**section("client")),
                   Thresholds(**section("thresholds"), p95_ms_by_op=by_op), source)


def load(path: Path | None, overrides: Mapping[str, Any] | None = None) -> Profile:
    """The profile in ``path`` (None: defaults only) with ``overrides`` (dotted keys) over
    it."""
    values = read_file(path) if path is not None else {}
    values.update(overrides or {})
    return build(values, str(path) if path is not None else "(defaults)")
