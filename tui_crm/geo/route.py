"""Visiting order for marked records: nearest neighbour, then 2-opt, from where we are.

The path is open (the day ends at the last visit, not back at the start), so
2-opt reverses segments of the visiting order with the start fixed. Distances
are geodesic; for the few dozen stops a field worker marks, the full distance
matrix is cheap and exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from geographiclib.geodesic import Geodesic

_WGS84 = Geodesic.WGS84
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Stop(Generic[T]):
    lat: float
    lon: float
    item: T


@dataclass(frozen=True, slots=True)
class Route(Generic[T]):
    stops: tuple[Stop[T], ...]
    legs_m: tuple[float, ...]
    """legs_m[i] is the distance to stops[i] from the previous stop (or the start)."""

    @property
    def total_m(self) -> float:
        return sum(self.legs_m)


def distance_matrix(points: Sequence[tuple[float, float]]) -> list[list[float]]:
    size = len(points)
    matrix = [[0.0] * size for _ in range(size)]
    for i in range(size):
        for j in range(i + 1, size):
            s12 = _WGS84.Inverse(*points[i], *points[j], Geodesic.DISTANCE)["s12"]
            matrix[i][j] = matrix[j][i] = s12
    return matrix


def path_length(order: Sequence[int], matrix: Sequence[Sequence[float]]) -> float:
    """Length of the open path 0 -> order[0] -> order[1] ...; index 0 is the start."""
    total, previous = 0.0, 0
    for node in order:
        total += matrix[previous][node]
        previous = node
    return total


def nearest_neighbour(matrix: Sequence[Sequence[float]]) -> list[int]:
    remaining = set(range(1, len(matrix)))
    order: list[int] = []
    current = 0
    while remaining:
        current = min(remaining, key=lambda node: (matrix[current][node], node))
        remaining.remove(current)
        order.append(current)
    return order


def two_opt(
    order: list[int], matrix: Sequence[Sequence[float]], epsilon: float = 1e-9
) -> list[int]:
    """Reverse order[i..j] while that shortens the open path (start fixed, end free)."""
    path = [0, *order]
    improved = True
    while improved:
        improved = False
        for i in range(1, len(path) - 1):
            for j in range(i + 1, len(path)):
                before = matrix[path[i - 1]][path[i]]
                after = matrix[path[i - 1]][path[j]]
                if j + 1 < len(path):
                    before += matrix[path[j]][path[j + 1]]
                    after += matrix[path[i]][path[j + 1]]
                if after + epsilon < before:
                    path[i : j + 1] = reversed(path[i : j + 1])
                    improved = True
    return path[1:]


def plan_route(start: tuple[float, float], stops: Sequence[Stop[T]]) -> Route[T]:
    """A short visiting order for `stops` beginning at `start`, with leg distances."""
    if not stops:
        return Route((), ())
    points = [start, *((s.lat, s.lon) for s in stops)]
    matrix = distance_matrix(points)
    order = two_opt(nearest_neighbour(matrix), matrix)
    legs: list[float] = []
    previous = 0
    for node in order:
        legs.append(matrix[previous][node])
        previous = node
    return Route(tuple(stops[node - 1] for node in order), tuple(legs))
