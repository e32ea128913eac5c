"""Route planning: nearest neighbour + 2-opt against an exhaustive search on small inputs."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from geographiclib.geodesic import Geodesic

from tui_crm.geo.route import (
    Stop,
    distance_matrix,
    nearest_neighbour,
    path_length,
    plan_route,
    two_opt,
)

WGS84 = Geodesic.WGS84


def optimal_length(matrix: list[list[float]]) -> float:
    """Every visiting order of an open path from node 0: the reference 2-opt approaches."""
    return min(
        path_length(order, matrix) for order in itertools.permutations(range(1, len(matrix)))
    )


def random_stops(rng: random.Random, count: int) -> tuple[tuple[float, float], list[Stop[int]]]:
    start = (rng.uniform(-60, 60), rng.uniform(-179, 179))
    stops = []
    for i in range(count):
        d = WGS84.Direct(*start, rng.uniform(0, 360), rng.uniform(50, 20_000))
        stops.append(Stop(d["lat2"], d["lon2"], i))
    return start, stops


def test_no_stops_is_an_empty_route() -> None:
    route = plan_route((48.0, 11.0), [])
    assert route.stops == () and route.legs_m == () and route.total_m == 0.0


def test_one_stop_is_one_geodesic_leg() -> None:
    route = plan_route((48.0, 11.0), [Stop(48.01, 11.0, "a")])
    expected = WGS84.Inverse(48.0, 11.0, 48.01, 11.0)["s12"]
    assert [s.item for s in route.stops] == ["a"]
    assert route.legs_m == pytest.approx((expected,), abs=1e-6)


def test_points_on_a_line_are_visited_in_order_whatever_the_input_order() -> None:
    """Stops due east at 1..5 km, shuffled: the only sensible order is outward."""
    start = (0.0, 0.0)
    stops = [Stop(*_east_of(start, km * 1000.0), km) for km in (3, 1, 5, 2, 4)]
    route = plan_route(start, stops)
    assert [s.item for s in route.stops] == [1, 2, 3, 4, 5]
    assert route.legs_m == pytest.approx((1000.0,) * 5, rel=1e-9)
    assert route.total_m == pytest.approx(5000.0, rel=1e-9)


def test_two_opt_fixes_what_nearest_neighbour_gets_wrong() -> None:
    """Plane points where greedy goes (1,1) -> (1,-1) -> (3,2) -> (-5,-1), crossing itself."""
    points = [(0.0, 0.0), (1.0, 1.0), (-5.0, -1.0), (3.0, 2.0), (1.0, -1.0)]
    matrix = [[math.dist(a, b) for b in points] for a in points]
    greedy = nearest_neighbour(matrix)
    assert greedy == [1, 4, 3, 2]
    improved = two_opt(list(greedy), matrix)
    assert improved == [1, 3, 4, 2]
    assert path_length(improved, matrix) == pytest.approx(optimal_length(matrix))
    assert path_length(improved, matrix) < path_length(greedy, matrix) - 2.0


@pytest.mark.parametrize("seed", range(12))
def test_route_is_a_permutation_with_true_legs_and_near_optimal(seed: int) -> None:
    rng = random.Random(seed)
    start, stops = random_stops(rng, rng.randint(2, 7))
    route = plan_route(start, stops)

    assert sorted(s.item for s in route.stops) == list(range(len(stops)))
    previous = start
    for stop, leg in zip(route.stops, route.legs_m, strict=True):
        assert leg == pytest.approx(WGS84.Inverse(*previous, stop.lat, stop.lon)["s12"], abs=1e-6)
        previous = (stop.lat, stop.lon)
    assert route.total_m == pytest.approx(sum(route.legs_m))

    matrix = distance_matrix([start, *((s.lat, s.lon) for s in stops)])
    best = optimal_length(matrix)
    greedy = path_length(nearest_neighbour(matrix), matrix)
    assert best - 1e-6 <= route.total_m <= greedy + 1e-6
    # 2-opt on this few stops lands within a few percent of optimal; greedy alone often not.
    assert route.total_m <= best * 1.25


def test_two_opt_result_has_no_improving_reversal_left() -> None:
    """2-opt's own stopping rule, checked from outside on a larger random instance."""
    rng = random.Random(99)
    start, stops = random_stops(rng, 25)
    matrix = distance_matrix([start, *((s.lat, s.lon) for s in stops)])
    order = two_opt(nearest_neighbour(matrix), matrix)
    length = path_length(order, matrix)
    for i in range(len(order)):
        for j in range(i + 1, len(order)):
            candidate = order[:i] + order[i : j + 1][::-1] + order[j + 1 :]
            assert path_length(candidate, matrix) >= length - 1e-6
    assert math.isfinite(length)


def _east_of(start: tuple[float, float], metres: float) -> tuple[float, float]:
    d = WGS84.Direct(*start, 90.0, metres)
    return d["lat2"], d["lon2"]
