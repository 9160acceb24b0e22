"""GeneratorJob: items in order, one `ended` with the outcome, errors and warnings as messages."""

from __future__ import annotations

import threading
import warnings

import pytest

from app.gui.workers.jobs import GeneratorJob

TIMEOUT_MS = 10_000


def run_job(qtbot, job: GeneratorJob, factory) -> tuple[list, list[str], str]:
    """Start `factory` on `job`, wait for `ended`; returns (items, messages, outcome)."""
    items: list = []
    messages: list[str] = []
    job.item.connect(items.append)
    job.message.connect(messages.append)
    with qtbot.waitSignal(job.ended, timeout=TIMEOUT_MS) as ended:
        job.start(factory)
    return items, messages, ended.args[0]


def test_items_arrive_in_order_in_the_gui_thread(qtbot):
    job = GeneratorJob("demo")
    threads: list[threading.Thread] = []

    def numbers(cancel: threading.Event):
        threads.append(threading.current_thread())
        yield from range(5)

    items, messages, outcome = run_job(qtbot, job, numbers)
    assert items == [0, 1, 2, 3, 4] and messages == [] and outcome == "finished"
    assert threads[0] is not threading.main_thread() and not job.running


def test_a_runtime_error_becomes_a_message_and_a_failed_outcome(qtbot, caplog):
    def broken(cancel: threading.Event):
        yield "first"
        raise RuntimeError("tensor shapes do not match")

    with caplog.at_level("ERROR", logger="app.gui.workers.jobs"):
        items, messages, outcome = run_job(qtbot, GeneratorJob("demo"), broken)
    assert items == ["first"] and outcome == "failed"
    assert messages == ["demo failed: tensor shapes do not match"]
    record = next(r for r in caplog.records if r.name == "app.gui.workers.jobs")  # with its traceback
    assert record.exc_info is not None and "in broken" in caplog.text and "tensor shapes" in caplog.text


def test_cancel_ends_the_generator_at_its_next_check(qtbot):
    job = GeneratorJob("demo")
    started = threading.Event()

    def endless(cancel: threading.Event):
        started.set()
        while not cancel.is_set():
            yield "tick"
            cancel.wait(0.01)

    with qtbot.waitSignal(job.ended, timeout=TIMEOUT_MS) as ended:
        job.start(endless)
        assert started.wait(TIMEOUT_MS / 1000)
        with pytest.raises(RuntimeError, match="already running"):
            job.start(endless)
        job.cancel()
    assert ended.args == ["cancelled"] and job.cancel_requested and not job.running


def test_each_warning_is_reported_once(qtbot):
    def noisy(cancel: threading.Event):
        for _ in range(3):
            warnings.warn("low on disk space", UserWarning, stacklevel=1)
            yield None

    _, messages, outcome = run_job(qtbot, GeneratorJob("demo"), noisy)
    assert outcome == "finished" and messages == ["demo warning: low on disk space"]
