"""The collector pause nests, is shared between threads, and leaves the collector as it found it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest
from conftest import CORPUS

from roku_feed.loading import parse_feed
from roku_feed.validation import validate_feed
from roku_feed.validation.gc_pause import gc_paused


@pytest.fixture(autouse=True)
def _collector_running() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_nested_pauses_resume_when_the_outermost_ends() -> None:
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_an_exception_still_ends_the_pause() -> None:
    with pytest.raises(ZeroDivisionError), gc_paused():
        1 / 0  # noqa: B018
    assert gc.isenabled()


def test_overlapping_pauses_in_two_threads_resume_after_the_last() -> None:
    entered, leave = threading.Event(), threading.Event()

    def other() -> None:
        with gc_paused():
            entered.set()
            leave.wait(timeout=30)

    thread = threading.Thread(target=other)
    thread.start()
    assert entered.wait(timeout=30)
    with gc_paused():
        leave.set()
        thread.join(timeout=30)
        assert not thread.is_alive() and not gc.isenabled()  # the other thread's pause ended first
    assert gc.isenabled()


def test_parsing_and_validation_leave_the_collector_running() -> None:
    loaded = parse_feed((CORPUS / "valid" / "every-type.json").read_bytes(), "feed.json")
    assert gc.isenabled()
    validate_feed(loaded.data, size=loaded.length)
    assert gc.isenabled()
