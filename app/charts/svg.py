"""Geometry for the server-drawn rank-over-time chart (inline SVG, no scripts, no style attributes)."""

from __future__ import annotations

from typing import Any

WIDTH, HEIGHT = 640, 240
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 40, 16, 16, 36


def rank_chart(history: list[dict[str, Any]], total: int) -> dict[str, Any] | None:
    """Points of a polyline where rank 1 is at the top; None with fewer than one point."""
    if not history:
        return None
    worst = max([total, *(h["rank"] for h in history), 2])
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    n = len(history)
    points = []
    for i, h in enumerate(history):
        x = PAD_LEFT + (inner_w * i / (n - 1) if n > 1 else inner_w / 2)
        y = PAD_TOP + inner_h * (h["rank"] - 1) / (worst - 1)
        points.append({"x": round(x, 1), "y": round(y, 1), "rank": h["rank"], "date": h["date"]})
    ticks = sorted({1, worst, *([(worst + 1) // 2] if worst > 2 else [])})
    y_ticks = [{"rank": r, "y": round(PAD_TOP + inner_h * (r - 1) / (worst - 1), 1)} for r in ticks]
    step = max(1, n // 6)
    x_ticks = [p for i, p in enumerate(points) if i % step == 0 or i == n - 1]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": PAD_LEFT,
        "right": WIDTH - PAD_RIGHT,
        "top": PAD_TOP,
        "bottom": HEIGHT - PAD_BOTTOM,
        "polyline": " ".join(f"{p['x']},{p['y']}" for p in points),
        "points": points,
        "y_ticks": y_ticks,
        "x_ticks": x_ticks,
    }


BAR_WIDTH, BAR_ROW, BAR_LEFT, BAR_RIGHT = 640, 34, 44, 12


def stacked_bars(rows: list[tuple[str, list[tuple[int, int]]]]) -> dict[str, Any] | None:
    """100 % stacked horizontal bars, one per row: ``[(label, [(category, count), …]), …]``.

    Each segment carries its category (for its CSS class), count and share; a row with no
    answers has no segments. Returns None when there are no rows.
    """
    if not rows:
        return None
    inner = BAR_WIDTH - BAR_LEFT - BAR_RIGHT
    out = []
    for i, (label, parts) in enumerate(rows):
        total = sum(n for _, n in parts)
        x = float(BAR_LEFT)
        segments = []
        for category, n in parts:
            if not n:
                continue
            width = inner * n / total
            segments.append(
                {"category": category, "count": n, "share": n / total, "x": round(x, 1), "w": round(width, 1)}
            )
            x += width
        out.append({"label": label, "y": 8 + i * BAR_ROW, "h": BAR_ROW - 10, "total": total, "segments": segments})
    return {"width": BAR_WIDTH, "height": 8 + len(rows) * BAR_ROW, "left": BAR_LEFT, "rows": out}
