"""NMEA 0183 parsing: valid, bad checksum, no fix, truncated and garbage input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_crm.geo.nmea import NmeaReport, checksum, parse_sentence, sentence

TALKERS = st.sampled_from(["GP", "GN", "GL", "GA"])


@st.composite
def coordinates(draw: st.DrawFn) -> tuple[str, str, str, str, float, float]:
    """NMEA fields for a position plus the decimal degrees they stand for."""
    lat_deg = draw(st.integers(0, 89))
    lon_deg = draw(st.integers(0, 179))
    lat_min = draw(st.integers(0, 599_999))  # minutes x 10^4
    lon_min = draw(st.integers(0, 599_999))
    north = draw(st.booleans())
    east = draw(st.booleans())
    lat_text = f"{lat_deg:02d}{lat_min // 10_000:02d}.{lat_min % 10_000:04d}"
    lon_text = f"{lon_deg:03d}{lon_min // 10_000:02d}.{lon_min % 10_000:04d}"
    lat = (lat_deg + lat_min / 10_000 / 60) * (1 if north else -1)
    lon = (lon_deg + lon_min / 10_000 / 60) * (1 if east else -1)
    return lat_text, "N" if north else "S", lon_text, "E" if east else "W", lat, lon


def gga(talker: str, c: tuple[str, str, str, str, float, float], quality: int = 1) -> str:
    return sentence(
        f"{talker}GGA,123519,{c[0]},{c[1]},{c[2]},{c[3]},{quality},08,0.9,545.4,M,46.9,M,,"
    )


def rmc(
    talker: str, c: tuple[str, str, str, str, float, float], status: str = "A", mode: str = "A"
) -> str:
    return sentence(
        f"{talker}RMC,123519,{status},{c[0]},{c[1]},{c[2]},{c[3]},022.4,084.4,230394,003.1,W,{mode}"
    )


def test_reference_example_parses_to_the_documented_position() -> None:
    report = parse_sentence("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47")
    assert report is not None and report.has_fix
    assert report.lat == pytest.approx(48.1173, abs=1e-9)
    assert report.lon == pytest.approx(11.516666667, abs=1e-9)
    assert report.satellites == 8
    assert report.accuracy_m == pytest.approx(0.9 * 5.0)
    assert report.three_d


def test_checksum_is_xor_of_the_body() -> None:
    assert checksum("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,") == "47"


@given(TALKERS, coordinates())
def test_valid_gga_and_rmc_round_trip(
    talker: str, c: tuple[str, str, str, str, float, float]
) -> None:
    for line in (gga(talker, c), rmc(talker, c)):
        report = parse_sentence(line)
        assert isinstance(report, NmeaReport)
        assert report.has_fix
        assert report.lat == pytest.approx(c[4], abs=1e-9)
        assert report.lon == pytest.approx(c[5], abs=1e-9)


@given(TALKERS, coordinates(), st.integers(0, 255))
def test_a_wrong_checksum_is_rejected(
    talker: str, c: tuple[str, str, str, str, float, float], wrong: int
) -> None:
    line = gga(talker, c).strip()
    good = line[-2:]
    bad = f"{wrong:02X}"
    if bad == good:
        bad = f"{wrong ^ 1:02X}"
    assert parse_sentence(line[:-2] + bad) is None


@given(TALKERS, coordinates(), st.data())
def test_a_garbled_byte_in_the_body_is_caught(
    talker: str, c: tuple[str, str, str, str, float, float], data: st.DataObject
) -> None:
    line = rmc(talker, c).strip()
    star = line.rindex("*")
    index = data.draw(st.integers(1, star - 1))
    replacement = data.draw(st.characters(min_codepoint=32, max_codepoint=126))
    if replacement == line[index]:
        return
    garbled = line[:index] + replacement + line[index + 1 :]
    assert parse_sentence(garbled) is None


def test_a_missing_checksum_is_rejected() -> None:
    assert parse_sentence("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,") is None


@given(TALKERS, coordinates())
def test_no_fix_sentences_report_no_fix_and_no_position(
    talker: str, c: tuple[str, str, str, str, float, float]
) -> None:
    for line in (gga(talker, c, quality=0), rmc(talker, c, status="V"), rmc(talker, c, mode="N")):
        report = parse_sentence(line)
        assert report is not None
        assert not report.has_fix
        assert report.lat is None and report.lon is None


@given(TALKERS, coordinates())
def test_dead_reckoning_is_usable_but_marked_degraded(
    talker: str, c: tuple[str, str, str, str, float, float]
) -> None:
    for line in (gga(talker, c, quality=6), rmc(talker, c, mode="E")):
        report = parse_sentence(line)
        assert report is not None and report.has_fix and report.degraded


@given(TALKERS, coordinates(), st.data())
def test_every_truncation_is_rejected(
    talker: str, c: tuple[str, str, str, str, float, float], data: st.DataObject
) -> None:
    line = gga(talker, c).strip()
    cut = data.draw(st.integers(0, len(line) - 1))
    assert parse_sentence(line[:cut]) is None


@given(st.text(max_size=200))
def test_garbage_text_never_raises_and_is_not_a_fix(text: str) -> None:
    assert parse_sentence(text) is None


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=90))
def test_checksummed_garbage_bodies_never_raise(body: str) -> None:
    """Correct framing around nonsense fields must be rejected by field checks, not crash."""
    for prefix in ("GPGGA,", "GNRMC,", ""):
        report = parse_sentence(sentence(prefix + body))
        assert report is None or isinstance(report, NmeaReport)
        if report is not None and report.has_fix:
            assert report.lat is not None and -90 <= report.lat <= 90
            assert report.lon is not None and -180 <= report.lon <= 180


@pytest.mark.parametrize(
    "body",
    [
        "GPGGA,123519,9107.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",  # latitude > 90
        "GPGGA,123519,4807.038,N,18131.000,E,1,08,0.9,545.4,M,46.9,M,,",  # longitude > 180
        "GPGGA,123519,4867.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",  # 67 minutes
        "GPGGA,123519,4807.038,X,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",  # hemisphere
        "GPGGA,123519,,N,,E,1,08,0.9,545.4,M,46.9,M,,",  # empty position with quality 1
        "GPRMC,123519,A,4807.038,N,01131.0-0,E,022.4,084.4,230394,003.1,W",
        "GPGSV,3,1,11,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00",  # other sentence
        "GPGGA,123519",  # too few fields
    ],
)
def test_malformed_fields_with_a_valid_checksum_are_ignored(body: str) -> None:
    assert parse_sentence(sentence(body)) is None


def test_rmc_after_a_gga_no_fix_has_no_borrowed_accuracy() -> None:
    """RMC carries no accuracy; after the GGA says 'no fix' the old one must not stick."""
    from tui_crm.geo.fix import Fix, FixMode
    from tui_crm.geo.sources import NmeaTracker

    here = ("4807.0380", "N", "01131.0000", "E", 48.1173, 11.5167)
    tracker = NmeaTracker()

    def feed(line: str) -> Fix | None:
        report = parse_sentence(line)
        assert report is not None
        return tracker.fix_from(report, 0.0)

    first = feed(gga("GP", here))
    assert first is not None and first.accuracy_m is not None
    borrowed = feed(rmc("GP", here))
    assert borrowed is not None and borrowed.accuracy_m == first.accuracy_m
    assert feed(gga("GP", here, quality=0)) is None  # the receiver lost its fix
    after = feed(rmc("GP", here))
    assert after is not None
    assert after.accuracy_m is None and after.mode == FixMode.FIX_2D
