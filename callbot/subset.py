"""Evenly spread subsets: a capped evaluation still covers the whole split, not only its first speakers."""

from __future__ import annotations


def spread(total: int, limit: int) -> list[int]:
    """``limit`` indices evenly spread over ``range(total)`` (all of them when ``limit`` is 0 or enough)."""
    if limit <= 0 or limit >= total:
        return list(range(total))
    return [i * total // limit for i in range(limit)]
