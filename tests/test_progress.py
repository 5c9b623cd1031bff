"""Long command-line work reports progress: a bar on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import io

from app.progress import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_without_a_terminal_each_phase_gives_plain_lines_at_start_end_and_periodically() -> None:
    stream = io.StringIO()
    with progress(stream, every=3600) as report:
        for done in range(0, 101, 10):
            report("records loaded", done, 100)
        report("runs", 1, 2)
        report("runs", 2, 2)
    assert stream.getvalue().splitlines() == [
        "records loaded: 0/100",
        "records loaded: 100/100",
        "runs: 1/2",
        "runs: 2/2",
    ]


def test_without_a_terminal_a_slow_phase_prints_on_every_interval() -> None:
    stream = io.StringIO()
    with progress(stream, every=0) as report:
        for done in range(4):
            report("migrations", done, 3)
    assert len(stream.getvalue().splitlines()) == 4


def test_on_a_terminal_each_phase_is_a_bar() -> None:
    stream = Terminal()
    with progress(stream) as report:
        report("demo records loaded", 50, 100)
        report("demo records loaded", 100, 100)
    drawn = stream.getvalue()
    assert "demo records loaded" in drawn
    assert "100/100" in drawn
    assert "\n" in drawn and "demo records loaded: " not in drawn  # not the plain lines
