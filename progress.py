"""How long is left: the ETA every long loop prints (training stages, matrix cells, corpus families).

Plain arithmetic on wall time so far, so the same line serves a terminal and a log file.
"""

from __future__ import annotations


def duration(seconds: float) -> str:
    """A short human duration: 45s, 4m10s, 1h02m."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def eta(done: float, total: float, elapsed: float, cap: float | None = None) -> str:
    """' · ETA 4m10s' after `done` of `total` units in `elapsed` seconds, at the pace so far; with a
    time `cap` on the whole loop, never past it. '' before the first unit and after the last."""
    if done <= 0 or done >= total or elapsed <= 0:
        return ""
    left = elapsed / done * (total - done)
    if cap is not None:
        left = min(left, max(0.0, cap - elapsed))
    return f" · ETA {duration(left)}"
