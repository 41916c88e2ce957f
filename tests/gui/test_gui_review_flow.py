# ruff: noqa: F811 - pytest fixtures imported from gui_support are parameters here
"""The review flow through real keys: A / F / U, Space and N, the note key, the status
filter, the status-bar progress, thumbnail badges; the store holds it all after a real
restart of the window; a second process holding the store makes it read-only."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
from gui_support import (  # noqa: F401 - fixtures
    _no_running_qthreads,
    make_window,
    photo_folder,
    wait_measured,
)
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from review_support import drag, key, open_reviewing

from crackinspector.core.review import ACCEPTED, CORRECTED, FALSE_ALARM, FOLLOW_UP, open_store
from crackinspector.gui.actions import ShortcutsDialog, shortcut_rows
from crackinspector.gui.image_list import REVIEW_BADGES


def shown_names(window) -> list[str]:
    return [p.name for p in window.review.visible_photos()]


def test_review_keys_filter_progress_and_restart(make_window, photo_folder, qtbot):
    window = make_window()
    first = open_reviewing(qtbot, window, photo_folder, wait_measured)
    review, state = window.review, window.state
    names = [p.name for p in state.images]
    assert review.progress_label.text() == "0 of 5 reviewed"

    key(qtbot, window, Qt.Key.Key_A)  # accept 001
    assert state.review_status(first) == ACCEPTED
    assert "accepted" in review.panel.status_label.text()
    key(qtbot, window, Qt.Key.Key_N)  # next unreviewed: 002
    assert state.current.name == "002.jpg"
    key(qtbot, window, Qt.Key.Key_F)  # false alarm
    key(qtbot, window, Qt.Key.Key_Space)  # 003
    assert state.current.name == "003.jpg"
    key(qtbot, window, Qt.Key.Key_U)  # needs follow-up, with a note one key away
    key(qtbot, window, Qt.Key.Key_T)
    assert review.panel.note.hasFocus()
    qtbot.keyClicks(review.panel.note, "check the joint on site")
    qtbot.keyClick(review.panel.note, Qt.Key.Key_Return)
    assert not review.panel.note.hasFocus()  # back to the keys
    assert state.store.photo(state.current).note == "check the joint on site"
    assert review.progress_label.text() == "3 of 5 reviewed"

    key(qtbot, window, Qt.Key.Key_N)  # 004: edit it (corrected)
    assert state.current.name == "004.jpg"
    fourth = state.current
    wait_measured(qtbot, window, fourth)
    qtbot.waitUntil(lambda: review.session is not None and review.session.photo == fourth)
    window.viewer.actual_size()
    window.viewer.centerOn(0, 0)
    key(qtbot, window, Qt.Key.Key_E)
    review.tools.set_radius(6)
    drag(qtbot, window, [(40, 40), (200, 60)])
    edited = review.session.mask.copy()
    assert state.review_status(fourth) == CORRECTED
    assert review.progress_label.text() == "4 of 5 reviewed"
    key(qtbot, window, Qt.Key.Key_V)

    # the thumbnail badge follows the status
    model = window.list_model
    assert [model.review_status(p) for p in state.images] == [
        ACCEPTED,
        FALSE_ALARM,
        FOLLOW_UP,
        CORRECTED,
        "unreviewed",
    ]
    # ... and is painted: the accepted badge's green in the first thumbnail's corner
    view = window.list_view
    image = view.viewport().grab(view.visualRect(model.index(0))).toImage()
    green = QColor(REVIEW_BADGES["accepted"][1])
    corner = [
        image.pixelColor(x, y)
        for x in range(image.width() // 2, image.width())
        for y in range(image.height() // 2, image.height())
    ]
    assert any(c == green for c in corner)
    blank = view.viewport().grab(view.visualRect(model.index(4))).toImage()
    assert not any(
        blank.pixelColor(x, y) == green for x in range(blank.width()) for y in range(blank.height())
    )
    combo = review.panel.filter_combo
    for fid, expected in (
        ("accepted", ["001.jpg"]),
        ("false_alarm", ["002.jpg"]),
        ("follow_up", ["003.jpg"]),
        ("corrected", ["004.jpg"]),
        ("unreviewed", ["zz_broken.jpg"]),
        ("all", names),
    ):
        combo.setCurrentIndex(combo.findData(fid))
        assert shown_names(window) == expected, fid
    key(qtbot, window, Qt.Key.Key_N)  # only the broken one is left
    assert state.current.name == "zz_broken.jpg"
    window.close()

    # a real restart: a new window on the same folder finds everything in the store
    again = make_window()
    again.open_path(photo_folder)
    s2 = again.state
    assert [s2.review_status(p) for p in s2.images][:4] == [
        ACCEPTED,
        FALSE_ALARM,
        FOLLOW_UP,
        CORRECTED,
    ]
    assert s2.review(s2.images[2]).note == "check the joint on site"
    assert again.review.progress_label.text() == "4 of 5 reviewed"
    s2.set_current(s2.images[3])
    wait_measured(qtbot, again, s2.images[3])
    s2.set_threshold(0.999)
    qtbot.waitUntil(lambda: again.review.session is not None, timeout=30_000)
    session = again.review.session
    assert session.edited and np.array_equal(session.mask, edited)
    assert "edited by hand" in again.review.panel.edited_label.text()
    # its measurements are the edited mask's
    qtbot.waitUntil(
        lambda: (
            (m := again.measurements.measurement(s2.images[3])) is not None
            and m.crack_area_px == int(edited.sum())
        ),
        timeout=30_000,
    )


def test_second_process_makes_the_store_read_only(make_window, photo_folder, qtbot, tmp_path):
    open_store(photo_folder).close()  # the store exists
    script = textwrap.dedent(
        f"""
        import sys, time
        from crackinspector.core.review import open_store
        store = open_store({str(photo_folder)!r})
        print("ready", flush=True)
        sys.stdin.readline()
        store.close()
        """
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        window = make_window()
        window.open_path(photo_folder)
        text = window.review.store_label.text()
        assert text == f"opened read-only: in use by PID {holder.pid}"
        assert window.state.store.read_only
        key(qtbot, window, Qt.Key.Key_A)  # refused with one line, nothing crashes
        assert window.state.review_status(window.state.images[0]) == "unreviewed"
        assert "in use by PID" in window.status.currentMessage()
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(30)


def test_review_keys_are_in_the_shortcuts_help(make_window, qtbot):
    window = make_window()
    extra = window.review.actions.values()
    rows = dict(shortcut_rows(window.commands, extra))
    assert rows["Accept findings"] == "A" and rows["False alarm (no cracks)"] == "F"
    assert rows["Next unreviewed photo"].split(",  ") == ["Space", "N"]
    assert rows["Fit to window"] == "0"  # F is the review's now
    dialog = ShortcutsDialog(window.commands, window, extra)
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == len(rows)
