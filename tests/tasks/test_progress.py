import time

import pytest

from tasks.progress import Steps, duration, eta_seconds


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_eta_is_the_pace_of_the_work_done_applied_to_what_is_left():
    assert eta_seconds(60.0, 3.0, 12.0) == 180.0  # 3 units a minute, 9 left
    assert eta_seconds(10.0, 0.0, 5.0) is None
    assert eta_seconds(10.0, 5.0, 5.0) == 0.0


def test_durations_read_as_a_person_would_say_them():
    assert [duration(s) for s in (4.4, 65, 3599, 3720)] == [
        "4 s",
        "1 min 05 s",
        "59 min 59 s",
        "1 h 02 min",
    ]


def test_each_unit_gets_a_line_with_its_count_elapsed_and_weighted_eta():
    clock, lines = Clock(), []
    steps = Steps("trained", ["flow", "vlm-a", "vlm-b"], [6, 2, 2], write=lines.append, clock=clock)
    clock.now += 120
    steps.done(0, "96 s")
    clock.now += 30
    steps.done(2)
    assert lines == [
        "[1/3 trained, 2 min 00 s, about 1 min 20 s left] flow (96 s)",  # 120 s for 6 of 10
        "[2/3 trained, 2 min 30 s, about 38 s left] vlm-b",  # 150 s for 8 of 10: 37.5 s
    ]


def test_a_heartbeat_names_what_is_still_running_only_after_a_silence():
    clock, lines = Clock(), []
    names = ["a", "b", "c", "d", "e"]
    steps = Steps("labeled", names, heartbeat_s=20, write=lines.append, clock=clock)
    clock.now += 19
    steps.heartbeat()
    assert lines == []
    clock.now += 1
    steps.heartbeat()
    steps.heartbeat()  # the line just written resets the silence
    assert lines == ["[0/5 labeled, 20 s] still running: a, b, c and 2 more"]
    steps.done(1)
    clock.now += 20
    steps.heartbeat()
    assert (
        lines[-1] == "[1/5 labeled, 40 s, about 2 min 40 s left] still running: a, c, d and 1 more"
    )


def test_the_heartbeat_thread_writes_while_nothing_finishes():
    lines = []
    with Steps("specified", ["only"], heartbeat_s=0.2, write=lines.append):
        time.sleep(0.7)
    assert len(lines) >= 2 and all("still running: only" in line for line in lines)


def test_weights_must_match_the_units():
    with pytest.raises(ValueError, match="2 weights for 3 units"):
        Steps("done", ["a", "b", "c"], [1, 2])
