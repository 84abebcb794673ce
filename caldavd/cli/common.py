"""What every caldavd command-line program does the same way."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, NoReturn

from caldavd.cli.errors import ToolError
from caldavd.config import Config, ConfigInvalid, load_config, parse_overrides

DEFAULT_CONFIG = "/etc/caldavd/caldavd.plist"


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--config", metavar="PATH", default=DEFAULT_CONFIG,
                        help=f"caldavd.plist to use (default: {DEFAULT_CONFIG})")
    parser.add_argument("-o", dest="overrides", metavar="KEY=VALUE", action="append",
                        default=[],
                        help="set a configuration key over the plist (repeatable; dotted "
                             "for nested keys, e.g. Memcached.MaxClients=3; arrays are "
                             "comma-separated)")


def program_name() -> str:
    """The console-script name, also when run as ``python -m caldavd.tools.x``."""
    path = Path(sys.argv[0])
    name = path.name
    if name in ("__main__.py", "run.py"):  # a program that is a package (tools/logstats)
        name = path.parent.name + ".py"
    if name.endswith(".py"):
        return "caldavd" if name == "serve.py" else "caldavd-" + name[:-3].replace("_", "-")
    return name


def fail(message: str, exit_code: int = 1) -> NoReturn:
    print(f"{program_name()}: error: {message}", file=sys.stderr)
    sys.exit(exit_code)


def warn(message: str) -> None:
    print(f"{program_name()}: warning: {message}", file=sys.stderr)


def load_or_exit(path: str, overrides: Sequence[str] = ()) -> Config:
    """The configuration (``-o`` items over the plist), with warnings on stderr;
    every problem and exit 2 if invalid."""
    try:
        loaded = load_config(path, overrides=parse_overrides(overrides))
    except ConfigInvalid as exc:
        for warning in exc.warnings:
            warn(warning)
        for problem in exc.problems:
            print(f"{program_name()}: error: {problem}", file=sys.stderr)
        sys.exit(2)
    for warning in loaded.warnings:
        warn(warning)
    return loaded.config


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop where it is installed (about a third less CPU per request for
    aiohttp and asyncpg), else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_tool(work: Coroutine[Any, Any, int]) -> int:
    """Run a tool's coroutine; a ToolError becomes one line and its exit code."""
    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            return runner.run(work)
    except ToolError as exc:
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return 130


def describe_exit(status: int) -> str:
    """How a child process ended, from its return code (negative: the signal)."""
    if status < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-status).name}"
        return f"killed by signal {-status}"
    return f"exit status {status}"
