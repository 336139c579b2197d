"""The results table (`bench/results.md`): every row of DESIGN §10, measured or not."""

import os
import platform
from datetime import UTC, datetime
from pathlib import Path

from .registry import Result

MEMORY_BAR_MIB = 1024
NOTES = Path(__file__).resolve().parent / "notes.md"


def machine() -> dict:
    cpu = platform.processor() or "unknown"
    memory = "unknown"
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")),
                cpu,
            )
        with open("/proc/meminfo") as handle:
            kib = int(next(line for line in handle if line.startswith("MemTotal")).split()[1])
            memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return {"cpus": os.cpu_count(), "memory": memory, "cpu": cpu}


def render(*, runs: list[dict], size: str, repeat: int, extra_notes: str = "") -> str:
    """`runs`: per database, `{"label", "environment", "prepare", "results": {name: dict}}`."""
    info = machine()
    lines = [
        "# Benchmark results",
        "",
        f"`make bench BENCH_SIZE={size}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: "
        f"{info['cpus']} CPUs ({info['cpu']}), {info['memory']} memory.",
        "Each figure is the median of "
        f"{repeat} repetitions, beside its baseline measured in the same run; "
        f"every row also has to stay under {MEMORY_BAR_MIB} MiB peak memory (its own "
        "process's peak RSS, data set in the database, not in memory).",
        "",
    ]
    for run in runs:
        env = run.get("environment", {})
        prepare = run.get("prepare") or {}
        counts = prepare.get("counts", {})
        lines.append(
            f"- **{run['label']}**: {env.get('database', '?')}, Python {env.get('python', '?')}, "
            f"Django {env.get('django', '?')}; data set loaded by `generate_dataset` in "
            f"{prepare.get('seconds', 0):.0f} s ("
            + ", ".join(f"{count:,} {kind}" for kind, count in counts.items())
            + ")"
        )
    lines += [
        "",
        "| benchmark | database | target | median | baseline (same run) | ratio | peak RSS "
        "| verdict |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    names = []
    for run in runs:
        for name in run["results"]:
            if name not in names:
                names.append(name)
    for name in names:
        for run in runs:
            data = run["results"].get(name)
            if data is None:
                continue
            lines.append(_row(name, run["label"], data))
    if extra_notes:
        lines += ["", extra_notes.strip()]
    if NOTES.exists():
        # The hand-written part: profiles, what was changed, before and after.
        lines += ["", NOTES.read_text().strip()]
    return "\n".join(lines) + "\n"


def _row(name: str, database: str, data: dict) -> str:
    target = data.get("target", "")
    if "todo" in data:
        return f"| {name} | {database} | {target} | — | — | — | — | {data['todo']} |"
    if "error" in data:
        return f"| {name} | {database} | {target} | — | — | — | — | ERROR: {data['error']} |"
    result = Result.from_dict(data["result"])
    bars = list(result.bars)
    if result.peak_rss_mib is not None:
        bars.append(_memory_bar(result.peak_rss_mib))
    failed = [bar.text for bar in bars if not bar.held]
    if not result.bars:
        verdict = "baseline" + (f"; FAIL: {', '.join(failed)}" if failed else "")
    else:
        verdict = "pass" if not failed else "FAIL: " + ", ".join(failed)
    baseline = "—"
    if result.baseline is not None:
        baseline = f"{result.baseline_name}: {_figure(result.baseline, result.unit)}"
    ratio = result.ratio_text or (f"{result.ratio:.2f}" if result.ratio is not None else "—")
    rss = f"{result.peak_rss_mib:.0f} MiB" if result.peak_rss_mib is not None else "—"
    notes = f" ({result.notes})" if result.notes else ""
    return (
        f"| {name}{notes} | {database} | {target} | {_figure(result.median, result.unit)} | "
        f"{baseline} | {ratio} | {rss} | {verdict} |"
    )


def _memory_bar(peak: float):
    from .registry import Bar

    return Bar(f"<= {MEMORY_BAR_MIB} MiB", peak <= MEMORY_BAR_MIB)


def _figure(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:,.0f} ms" if value < 10 else f"{value:,.1f} s"
    if unit == "ms":
        return f"{value:,.1f} ms"
    return f"{value:,.0f} {unit}"
