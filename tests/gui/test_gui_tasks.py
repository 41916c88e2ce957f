"""The background-task helper (gui/tasks.py) with real threads: delivery thread, cancel,
latest-wins, errors and joining."""

from __future__ import annotations

import threading

import pytest

from crackinspector.core.errors import Cancelled
from crackinspector.gui.tasks import TaskRunner, one_line, running_tasks


@pytest.fixture()
def runner(qtbot):
    r = TaskRunner("test", threads=1)
    yield r
    assert r.shutdown(10_000)
    assert not running_tasks()


def counting(n: int, cancel: threading.Event, gate: threading.Event | None = None):
    for i in range(n):
        if gate is not None:
            gate.wait(10)
        yield i
    return f"counted {n}"


def test_yields_and_return_arrive_on_the_gui_thread(runner, qtbot):
    main = threading.get_ident()
    seen: list[tuple[str, object, bool]] = []
    task = runner.start(
        counting,
        3,
        on_yielded=lambda v: seen.append(("yielded", v, threading.get_ident() == main)),
        on_returned=lambda v: seen.append(("returned", v, threading.get_ident() == main)),
        on_finished=lambda: seen.append(("finished", None, threading.get_ident() == main)),
    )
    qtbot.waitUntil(lambda: task.done, timeout=10_000)
    assert seen == [
        ("yielded", 0, True),
        ("yielded", 1, True),
        ("yielded", 2, True),
        ("returned", "counted 3", True),
        ("finished", None, True),
    ]
    assert task.outcome == "returned"


def test_cancel_drops_results_and_reports_cancelled(runner, qtbot):
    gate = threading.Event()
    seen: list[str] = []
    task = runner.start(
        counting,
        5,
        gate=gate,
        on_yielded=lambda v: seen.append(f"y{v}"),
        on_returned=lambda v: seen.append("returned"),
        on_cancelled=lambda: seen.append("cancelled"),
        on_finished=lambda: seen.append("finished"),
    )
    task.cancel()
    gate.set()
    qtbot.waitUntil(lambda: task.done, timeout=10_000)
    assert seen == ["cancelled", "finished"]
    assert task.outcome == "cancelled"


def test_a_newer_task_with_the_same_key_replaces_the_older(runner, qtbot):
    gate = threading.Event()
    got: list[str] = []
    first = runner.start(counting, 2, gate=gate, key="k", on_returned=got.append)
    second = runner.start(counting, 1, key="k", on_returned=got.append)
    assert first.cancelled and not second.cancelled
    gate.set()
    qtbot.waitUntil(lambda: first.done and second.done, timeout=10_000)
    assert got == ["counted 1"]


def test_errors_are_delivered_and_cancelled_exceptions_are_cancels(runner, qtbot):
    def broken():
        raise ValueError("bad pixels\nsecond line")

    def stops():
        raise Cancelled("stopped inside")

    errors: list[BaseException] = []
    cancels: list[bool] = []
    a = runner.start(broken, on_errored=errors.append)
    b = runner.start(stops, on_errored=errors.append, on_cancelled=lambda: cancels.append(True))
    qtbot.waitUntil(lambda: a.done and b.done, timeout=10_000)
    assert [one_line(e) for e in errors] == ["ValueError: bad pixels"]
    assert cancels == [True] and b.outcome == "cancelled"


def test_shutdown_joins_and_delivers_nothing_more(qtbot):
    runner = TaskRunner("closing", threads=2)
    started = threading.Event()

    def slow(cancel: threading.Event) -> str:
        started.set()
        cancel.wait(10)
        return "late"

    got: list[str] = []
    runner.start(slow, on_returned=got.append)
    queued = runner.start(slow, on_returned=got.append)
    assert started.wait(10)
    assert runner.shutdown(10_000)
    assert runner.pool.activeThreadCount() == 0
    assert not running_tasks()
    qtbot.wait(50)
    assert got == [] and queued.cancelled
    late = runner.start(slow, on_returned=got.append)
    assert late.done and late.cancelled  # nothing starts after shutdown


def test_a_progress_callback_reports_like_a_yield(runner, qtbot):
    def with_callback(n: int, progress) -> int:
        for i in range(n):
            progress((i + 1, n))
        return n

    seen: list[object] = []
    task = runner.start(with_callback, 3, on_yielded=seen.append, on_returned=seen.append)
    qtbot.waitUntil(lambda: task.done, timeout=10_000)
    assert seen == [(1, 3), (2, 3), (3, 3), 3]


def test_a_runtime_error_is_an_error_like_any_other(runner, qtbot):
    """torch raises RuntimeError for many bad inputs; a task must still end, reported, from
    a generator job as from a plain one (superqt's generator worker never ended)."""

    def torch_like() -> None:
        raise RuntimeError("Given groups=1, weight of size [64, 3, 7, 7], expected 3 channels")

    def torch_like_batches():
        yield 1
        torch_like()

    errors: list[BaseException] = []
    plain = runner.start(torch_like, on_errored=errors.append)
    batches = runner.start(torch_like_batches, on_errored=errors.append)
    qtbot.waitUntil(lambda: plain.done and batches.done, timeout=10_000)
    assert plain.outcome == batches.outcome == "errored"
    assert [one_line(e)[:27] for e in errors] == ["RuntimeError: Given groups=1"[:27]] * 2


def test_many_short_tasks_all_end_on_the_gui_thread(qtbot):
    """Hundreds of tasks that end while others start and are cancelled: every one reports
    its end exactly once, on the GUI thread (job objects dying on pool threads while the GUI
    thread delivered their signals crashed the GUI suite now and then)."""
    main = threading.get_ident()
    runners = [TaskRunner(f"stress{i}", threads=3) for i in range(2)]
    ends: dict[int, int] = {}
    off_thread: list[str] = []

    def short(i: int):
        yield i
        return [i] * 8

    def note_end(i: int) -> None:
        ends[i] = ends.get(i, 0) + 1
        if threading.get_ident() != main:
            off_thread.append(f"task {i}")

    tasks = []
    for i in range(600):
        runner = runners[i % 2]
        task = runner.start(
            short,
            i,
            key=i % 7 if i % 5 == 0 else None,  # some replace older ones
            on_yielded=lambda v: None,
            on_returned=lambda v: None,
            on_finished=lambda i=i: note_end(i),
        )
        tasks.append(task)
        if i % 3 == 0:
            task.cancel()
        if i % 50 == 0:
            qtbot.wait(1)
    qtbot.waitUntil(lambda: all(t.done for t in tasks), timeout=60_000)
    for runner in runners:
        assert runner.shutdown(10_000)
    assert ends == {i: 1 for i in range(600)} and not off_thread
    assert not running_tasks()
