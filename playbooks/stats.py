"""Interval estimates for outcome rates (backtests and effectiveness).

Wilson's score interval for one proportion, and Newcombe's hybrid score interval
(method 10 in Newcombe 1998) for the difference of two independent proportions, built
from the two Wilson intervals. Both stay inside [0, 1] (resp. [-1, 1]) and behave at
0 and n, where the textbook normal interval does not.
"""

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal


@dataclass(frozen=True)
class Rate:
    """k outcomes out of n, with the rate and its Wilson 95% interval (None when n = 0)."""

    outcomes: int
    total: int
    rate: float | None
    low: float | None
    high: float | None

    def as_dict(self) -> dict:
        return {
            "outcomes": self.outcomes,
            "total": self.total,
            "rate": self.rate,
            "low": self.low,
            "high": self.high,
        }


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n <= 0:
        raise ValueError("No trials: the interval is undefined.")
    if not 0 <= k <= n:
        raise ValueError("Outcomes must be between 0 and the number of trials.")
    p = k / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    margin = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # Clamp rounding noise at the ends (k = 0 gives exactly 0, k = n exactly 1).
    return max(0.0, centre - margin), min(1.0, centre + margin)


def rate(k: int, n: int) -> Rate:
    if n == 0:
        return Rate(k, n, None, None, None)
    low, high = wilson(k, n)
    return Rate(k, n, k / n, low, high)


def newcombe(k1: int, n1: int, k2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """The difference p1 - p2 and its 95% interval (Newcombe's hybrid score method)."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1, z)
    l2, u2 = wilson(k2, n2, z)
    difference = p1 - p2
    low = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return difference, low, high
