"""What the benchmark prints: the results table, the response-cache ratios, and in
cluster mode the rates per topology, the scaling ratios and where the cores went.

Everything here works on the JSON report (plain dicts), so a saved ``--json``
file can be printed again and the functions are tested without running wrk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bench.ops import CACHE_RATIO_TARGET, LABELS, cache_ratio, request_of, variant_of

CPU_NOTE = ("caldavd/postgres/other: percent of one core used during the run by the "
            "caldavd worker, by PostgreSQL, and by unrelated processes on the machine; "
            "stolen: percent of a core the hypervisor withheld from this VM's runnable "
            "vCPUs; us/req: CPU microseconds per request.")


def render(rows: Sequence[Sequence[str]]) -> str:
    """Rows as text columns: the first left-aligned, the rest right-aligned, a rule
    under the header."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:],
                                                                          strict=True)]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _row(label: str, op: Mapping[str, Any], target: str, verdict: str) -> tuple[str, ...]:
    latency = op["latency_ms"]
    return (label, f"{op['requests_per_s']:.0f}", target, f"{latency.get('p50', 0):.2f}",
            f"{latency.get('p99', 0):.2f}", f"{op['server_cpu_percent']:.0f}%",
            f"{op['caldavd_cpu_us_per_request']:.0f}", f"{op['db_cpu_percent']:.0f}%",
            f"{op['postgres_cpu_us_per_request']:.0f}", f"{op['other_cpu_percent']:.0f}%",
            f"{op.get('stolen_cpu_percent', 0):.0f}%", verdict)


def table(report: Mapping[str, Any]) -> str:
    rows: list[tuple[str, ...]] = [
        ("operation", "req/s", "target", "p50 ms", "p99 ms", "caldavd", "us/req",
         "postgres", "us/req", "other", "stolen", "")]
    for name, op in report["operations"].items():
        rows.append(_row(LABELS[name], op, f">= {op['target_per_s']:.0f}",
                         "ok" if op["met"] else "MISS"))
    scale = report.get("scale")
    if scale:
        rows.append(_row(f"week query at {scale['small_events']} events", scale["at_small"],
                         "", ""))
        rows.append(_row(f"week query at {scale['big_events']} events", scale["at_big"],
                         "", ""))
        rows.append((f"slowdown {scale['big_events']} vs {scale['small_events']}",
                     f"{scale['slowdown']:.2f}x", f"<= {scale['target_slowdown']}x",
                     "", "", "", "", "", "", "", "", "ok" if scale["met"] else "MISS"))
    text = render(rows) + "\n" + CPU_NOTE
    ratios = report.get("response_cache")
    if ratios:
        text += "\n\n" + cache_table(ratios)
    return text


# -- the response cache ------------------------------------------------------------------


def cache_ratios(operations: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every cached operation measured along with its uncached twin: both rates,
    cached / uncached, and whether that reaches CACHE_RATIO_TARGET.  ``cpu_ratio``
    compares caldavd's CPU per request instead, which other load moves less."""
    found: dict[str, dict[str, Any]] = {}
    for name, op in operations.items():
        base_name = request_of(name)
        if variant_of(name) in (None, "uncached") or base_name not in operations:
            continue
        base = operations[base_name]
        ratio = cache_ratio(op["requests_per_s"], base["requests_per_s"])
        cached_us = op["caldavd_cpu_us_per_request"]
        found[name] = {
            "uncached": base_name, "cached_per_s": op["requests_per_s"],
            "uncached_per_s": base["requests_per_s"], "ratio": round(ratio, 2),
            "cpu_ratio": round(base["caldavd_cpu_us_per_request"] / cached_us, 2)
            if cached_us else None,
            "target_ratio": CACHE_RATIO_TARGET, "met": ratio >= CACHE_RATIO_TARGET,
        }
    return found


def cache_table(ratios: Mapping[str, Mapping[str, Any]]) -> str:
    rows: list[tuple[str, ...]] = [("response cache", "cached/s", "uncached/s",
                                    "cached / uncached", "CPU ratio", "target", "")]
    for name, entry in ratios.items():
        cpu = entry.get("cpu_ratio")
        rows.append((LABELS[name], f"{entry['cached_per_s']:.0f}",
                     f"{entry['uncached_per_s']:.0f}", f"{entry['ratio']:.2f}x",
                     f"{cpu:.2f}x" if cpu is not None else "-",
                     f">= {entry['target_ratio']:g}x", "ok" if entry["met"] else "MISS"))
    return (render(rows) + "\nCPU ratio: caldavd CPU per uncached request over per cached "
            "request.")


# -- cluster mode --------------------------------------------------------------------------


def scaling(topologies: Mapping[str, Mapping[str, Any]], baseline: str,
            ) -> dict[str, dict[str, float]]:
    """For each operation, each topology's requests/s over the baseline topology's."""
    base_ops = topologies.get(baseline, {}).get("operations", {})
    found: dict[str, dict[str, float]] = {}
    for name, base in base_ops.items():
        ratios = {}
        for key, topology in topologies.items():
            op = topology["operations"].get(name)
            if key != baseline and op is not None and base["requests_per_s"]:
                ratios[key] = round(op["requests_per_s"] / base["requests_per_s"], 2)
        found[name] = ratios
    return found


# What our processes used in cluster mode (everything but other work and stolen time).
OUR_PARTS = ("server_cpu_percent", "db_cpu_percent", "haproxy_cpu_percent",
             "memcached_cpu_percent", "load_cpu_percent")


def ceiling(op: Mapping[str, Any], workers: int, cores: int) -> float | None:
    """Requests/s if the machine were ours alone, from the CPU each request took:
    no worker above one core, and caldavd, PostgreSQL, haproxy, memcached and wrk
    together within ``cores``.  An estimate: it assumes the CPU per request stays
    the same, and ignores waiting (PUTs to one home take turns on its lock)."""
    rps = float(op["requests_per_s"])
    caldavd = float(op.get("server_cpu_percent", 0))
    ours = sum(float(op.get(part, 0)) for part in OUR_PARTS)
    if not rps or not caldavd:
        return None
    return rps * min(100.0 * workers / caldavd, 100.0 * cores / ours)


def ceilings(topologies: Mapping[str, Mapping[str, Any]], cores: int,
             ) -> dict[str, dict[str, float]]:
    """``ceiling`` of every operation of every topology: {operation: {topology: req/s}}."""
    found: dict[str, dict[str, float]] = {}
    for key, topology in topologies.items():
        workers = int(topology.get("hosts", 1)) * int(topology.get("workers", 1))
        for name, op in topology["operations"].items():
            value = ceiling(op, workers, cores)
            if value is not None:
                found.setdefault(name, {})[key] = round(value, 1)
    return found


def idle_percent(op: Mapping[str, Any], cores: int) -> float:
    """Percent of a core nobody used during the run (``cores`` x 100 minus the rest)."""
    used = sum(float(v) for k, v in op.items() if k.endswith("_cpu_percent"))
    return max(0.0, 100.0 * cores - used)


CPU_PARTS = (("server_cpu_percent", "caldavd"), ("db_cpu_percent", "postgres"),
             ("haproxy_cpu_percent", "haproxy"), ("memcached_cpu_percent", "memcached"),
             ("load_cpu_percent", "wrk+harness"), ("other_cpu_percent", "other"),
             ("stolen_cpu_percent", "stolen"))


def cluster_table(cluster: Mapping[str, Any], cores: int) -> str:
    topologies = cluster["topologies"]
    keys = list(topologies)
    baseline = cluster["baseline"]
    names = list(topologies[keys[0]]["operations"]) if keys else []
    others = [k for k in keys if k != baseline]
    header = ("operation", *(f"{k} req/s" for k in keys), *(f"{k}/{baseline}" for k in others))
    rows: list[tuple[str, ...]] = [header]
    ratios = cluster["scaling"]
    for name in names:
        rates = []
        for key in keys:
            op = topologies[key]["operations"].get(name)
            rates.append(f"{op['requests_per_s']:.0f}" if op else "-")
        found = ratios.get(name, {})
        rows.append((LABELS[name], *rates,
                     *(f"{found[k]:.2f}x" if k in found else "-" for k in others)))
    estimates = cluster.get("ceilings") or ceilings(topologies, cores)
    rows.append(("", *("" for _ in keys), *("" for _ in others)))
    rows.append(("if the machine were ours (estimate)", *(f"{k} req/s" for k in keys),
                 *(f"{k}/{baseline}" for k in others)))
    for name in names:
        found = estimates.get(name, {})
        base = found.get(baseline)
        rows.append((LABELS[name], *(f"{found[k]:.0f}" if k in found else "-" for k in keys),
                     *(f"{found[k] / base:.2f}x" if base and k in found else "-"
                       for k in others)))
    legend = "; ".join(f"{k}: {t['label']}" for k, t in topologies.items())
    postgres = {t.get("postgres", "?") for t in topologies.values()}
    legend += (f".  Response cache: {cluster.get('cache', '?')}; nothing pinned; "
               f"PostgreSQL: {', '.join(sorted(postgres))}.")
    lines = [render(rows), legend, "", "Where the cores went (percent of one core; the "
             f"machine has {cores}, i.e. {100 * cores}%):"]
    cpu_rows: list[tuple[str, ...]] = [("topology / operation",
                                        *(label for _, label in CPU_PARTS), "idle",
                                        "host shares")]
    for key in keys:
        for name, op in topologies[key]["operations"].items():
            shares = op.get("check", {}).get("host_shares", "")
            cpu_rows.append((f"{key} {LABELS[name]}",
                             *(f"{op.get(field, 0):.0f}%" for field, _ in CPU_PARTS),
                             f"{idle_percent(op, cores):.0f}%", str(shares)))
    lines.append(render(cpu_rows))
    lines.append("host shares: the requests each caldavd host got from haproxy during the "
                 "operation (warm-up included).  Estimate: each run's requests/s scaled to "
                 "the CPU it would have had alone (no worker above one core, all of the "
                 "above but other work within the machine's cores).")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.report results.json``: the tables of a saved ``--json`` report."""
    import json
    import sys
    from pathlib import Path

    paths = list(argv if argv is not None else sys.argv[1:])
    if len(paths) != 1:
        print("usage: python -m bench.report RESULTS.json", file=sys.stderr)
        return 2
    report = json.loads(Path(paths[0]).read_text())
    if "cluster" in report:
        print(cluster_table(report["cluster"], report["machine"]["cores"]))
    else:
        print(table(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
