"""The benchmark registry: each benchmark is one function registered in `BENCHMARKS`.

A benchmark takes a `Context` (the data set size, repetitions, a logger) and returns a
`Result`: its median beside the baseline it measured in the same run, and the bars of
DESIGN §10 it must hold, each checked.

To add one: write `def my_benchmark(ctx) -> Result` in a module under `bench/benchmarks/`,
register it with `@benchmark(name=..., target=...)`, and import the module in
`bench/benchmarks/__init__.py`.
"""

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from accounts.dataset import PRESETS, Sizes


@dataclass
class Bar:
    """One requirement of a row: `held` says whether this run met it."""

    text: str
    held: bool


@dataclass
class Result:
    """What a benchmark measured; `median` and `baseline` are in `unit`."""

    median: float
    unit: str
    samples: list[float]
    baseline_name: str = ""
    baseline: float | None = None
    ratio: float | None = None
    ratio_text: str = ""
    bars: list[Bar] = field(default_factory=list)
    notes: str = ""
    peak_rss_mib: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Result":
        data = dict(data)
        data["bars"] = [Bar(**bar) for bar in data.get("bars", [])]
        return cls(**data)


@dataclass
class Context:
    """What a benchmark may read: the size it runs at and how often to repeat."""

    size: str
    repeat: int
    log: Callable[[str], None] = print

    @property
    def sizes(self) -> Sizes:
        return PRESETS[self.size]

    def pick(self, **by_size):
        """A value per size, e.g. `ctx.pick(tiny=1, small=4, default=10)`; `dense` falls back
        to `default`, and any missing size to `default`."""
        return by_size.get(self.size, by_size.get("default"))


@dataclass
class Benchmark:
    name: str
    target: str
    function: Callable[[Context], Result]
    # The sizes it runs at ("dense" is for rollup-heavy work).
    sizes: tuple[str, ...] = ("tiny", "small", "default", "dense")


BENCHMARKS: list[Benchmark] = []


def benchmark(*, name: str, target: str, sizes=("tiny", "small", "default", "dense")):
    """Register `function` as a benchmark (in call order: the table keeps it)."""

    def register(function: Callable[[Context], Result]):
        BENCHMARKS.append(Benchmark(name=name, target=target, function=function, sizes=sizes))
        return function

    return register


def find(name: str) -> Benchmark:
    for entry in BENCHMARKS:
        if entry.name == name:
            return entry
    raise KeyError(f"No benchmark named '{name}'. Known: {', '.join(b.name for b in BENCHMARKS)}")


# Measuring ------------------------------------------------------------------------------


def timed(function: Callable[[], object]) -> float:
    """Seconds one call takes (wall clock: what a caller waits)."""
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def percentile(samples: list[float], share: float) -> float:
    """The nearest-rank percentile: the value `share` of the samples are at or below."""
    ordered = sorted(samples)
    rank = max(1, round(share * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]
