"""First run on a fresh machine: the window's system libraries, no display, mistyped
commands. Real processes, the real Qt platform plugin of this installation."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crackinspector import qtcheck
from crackinspector.cli import COMMANDS, main

REPO = Path(__file__).resolve().parents[2]
XCB_LIBS = {  # what Qt 6.5+'s xcb plugin needs beyond a base system -> Debian package
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
}


def _loadable(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


MISSING_HERE = [lib for lib in XCB_LIBS if not _loadable(lib)]


def _run(args: list[str], **env_changes: str | None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    for key in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "XDG_SESSION_TYPE"):
        env.pop(key, None)
    env.update({k: v for k, v in env_changes.items() if v is not None})
    return subprocess.run(
        [sys.executable, "-m", "crackinspector.cli", *args],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False,
    )  # fmt: skip


@pytest.mark.skipif(not MISSING_HERE, reason="this machine has every library the plugin needs")
def test_missing_xcb_libraries_are_named_with_the_install_command():
    """This machine lacks some of the plugin's libraries: with a display (fake), the app
    names their packages in one line instead of Qt's abort and core dump."""
    done = _run(["resources/samples"], DISPLAY=":99")
    assert done.returncode == 1, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    line = lines[0]
    assert "sudo apt install" in line and "xcb platform plugin" in line
    for lib in MISSING_HERE:
        assert lib in line and XCB_LIBS[lib] in line
    assert "could not load the Qt platform plugin" not in done.stderr
    assert "predict" in line  # points to what works without a window


def test_no_display_points_to_the_headless_commands():
    done = _run(["resources/samples"])
    assert done.returncode == 1, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no display" in lines[0], done.stderr
    assert "predict" in lines[0] and "export" in lines[0] and "doctor" in lines[0]


def test_offscreen_and_other_platforms_are_not_checked():
    assert qtcheck.gui_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert qtcheck.gui_problem({"QT_QPA_PLATFORM": "minimal", "DISPLAY": ":99"}) is None
    assert qtcheck.platform_to_check({"DISPLAY": ":0"}) == "xcb"
    assert qtcheck.platform_to_check({"WAYLAND_DISPLAY": "wayland-0"}) == "wayland"
    assert qtcheck.platform_to_check({}) == "none"


def test_the_real_plugin_is_found_and_a_missing_dlopened_library_is_reported():
    folder = qtcheck.platforms_dir()
    assert folder is not None and (folder / "libqxcb.so").exists()
    missing = qtcheck.unresolved_libraries(folder / "libqxcb.so", ["libxcb-nosuch.so.0"])
    assert missing is not None and missing[-1] == "libxcb-nosuch.so.0"
    assert set(missing[:-1]) == {lib for lib in MISSING_HERE if lib != "libxcb-cursor.so.0"}


def test_qtcheck_imports_no_qt():
    code = "import sys, crackinspector.qtcheck as q; q.gui_problem({'DISPLAY': ':9'}); " \
           "print([m for m in sys.modules if m.startswith('PySide6')])"  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("soname", "package"),
    [
        *XCB_LIBS.items(),
        ("libxcb-render-util.so.0", "libxcb-render-util0"),
        ("libfontconfig.so.1", "libfontconfig1"),
        ("libxcb-xinerama.so.0", "libxcb-xinerama0"),
    ],
)
def test_libraries_map_to_debian_packages(soname, package):
    assert qtcheck.debian_package(soname) == package


@pytest.mark.parametrize(
    ("typo", "command"),
    [("doctr", "doctor"), ("reveiw", "review"), ("predcit", "predict"), ("modles", "models")],
)
def test_mistyped_command_suggests_the_closest(tmp_path, monkeypatch, capsys, typo, command):
    monkeypatch.chdir(tmp_path)
    assert main([typo]) == 2
    err = capsys.readouterr().err.strip()
    assert f"did you mean 'crackinspector {command}'?" in err
    assert repr(typo) in err and "neither a command" in err and "\n" not in err


def test_mistyped_command_in_a_real_process_exits_2_without_opening_the_app():
    done = _run(["doctr"], DISPLAY=":99")  # before: taken as a photo path, the GUI started
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip() == (
        "crackinspector: error: 'doctr' is neither a command "
        f"({', '.join(COMMANDS)}) nor an existing file or folder; "
        "did you mean 'crackinspector doctor'?"
    )


def test_a_missing_path_is_an_error_and_an_existing_one_opens_the_app(tmp_path, capsys):
    assert main([str(tmp_path / "no-such-photo.jpg")]) == 2
    err = capsys.readouterr().err
    assert "no-such-photo.jpg" in err and "crackinspector --help" in err
    done = _run([str(tmp_path)])  # an existing folder goes to the GUI (no display here)
    assert done.returncode == 1 and "no display" in done.stderr
