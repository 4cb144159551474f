"""The ETA of long loops: the pace so far, capped by a time budget, silent at the ends."""

from plugmt.progress import duration, eta


def test_durations_read_as_people_write_them():
    assert [duration(s) for s in (0, 44.6, 250, 3725)] == ["0s", "45s", "4m10s", "1h02m"]


def test_the_eta_is_the_pace_so_far_times_what_is_left():
    assert eta(10, 100, 5.0) == " · ETA 45s"
    assert eta(1, 3, 120.0) == " · ETA 4m00s"


def test_a_time_cap_bounds_the_eta():
    assert eta(10, 100, 5.0, cap=20.0) == " · ETA 15s"
    assert eta(10, 100, 5.0, cap=3.0) == " · ETA 0s"


def test_no_eta_before_the_first_unit_or_after_the_last():
    assert eta(0, 100, 5.0) == eta(100, 100, 5.0) == eta(5, 100, 0.0) == ""
