"""The README's configuration reference, generated from the key definitions.

    python -m caldavd.config.reference            rewrite README.md's reference section
    python -m caldavd.config.reference --check    exit 1 if README.md is out of date

A test runs ``--check``, so the reference cannot drift from the code.
"""

from __future__ import annotations

import sys
from pathlib import Path

from caldavd.config.schema import reference_rows

BEGIN = "<!-- BEGIN CONFIG REFERENCE -->"
END = "<!-- END CONFIG REFERENCE -->"


def render() -> str:
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for row in reference_rows():
        help_text = row.help.replace("|", "\\|")
        default = row.default_text.replace("|", "\\|")
        lines.append(f"| `{row.path}` | {row.type} | `{default}` | {help_text} |")
    return "\n".join(lines)


def updated(readme: str) -> str:
    start = readme.index(BEGIN) + len(BEGIN)
    stop = readme.index(END)
    return readme[:start] + "\n" + render() + "\n" + readme[stop:]


def main(argv: list[str]) -> int:
    readme = Path(__file__).resolve().parents[2] / "README.md"
    text = readme.read_text(encoding="utf-8")
    fresh = updated(text)
    if "--check" in argv:
        if fresh != text:
            print(f"{readme}: configuration reference is out of date; "
                  "run 'python -m caldavd.config.reference'", file=sys.stderr)
            return 1
        return 0
    readme.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
