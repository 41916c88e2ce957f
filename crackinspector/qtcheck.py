"""Can Qt open a window here? Asked before the GUI starts, without importing Qt's GUI.

Qt 6.5+'s xcb platform plugin needs system libraries that minimal Debian/Ubuntu desktops
lack (libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, ...). Without them Qt prints "could
not load the Qt platform plugin" and aborts with a core dump. This module finds the plugin
file (through importlib's spec of PySide6, which does not import it), lists the shared
libraries it cannot resolve (`ldd`, plus the ones Qt opens at run time), and turns that into
one line naming the Debian packages to install. With no display at all it says so and
points to the headless commands. Nothing is checked for the offscreen and minimal platforms
(tests, scripts), nor on Windows and macOS, where the wheels carry what they need.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc")
# Qt opens these itself (dlopen) instead of linking them, so `ldd` does not list them.
DLOPENED = {"xcb": ("libxcb-cursor.so.0",), "wayland": ()}
PLUGIN_FILES = {"xcb": "libqxcb.so", "wayland": "libqwayland.so"}
HEADLESS = "crackinspector predict|export|evaluate|models|doctor (see crackinspector --help)"

# shared library -> Debian/Ubuntu package; others follow the usual rule (see debian_package)
PACKAGES = {
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libGLX.so.0": "libglx0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb.so.1": "libxcb1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
}
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.M)


def debian_package(soname: str) -> str:
    """The Debian package that ships `soname`: the table above, else the rule Debian uses
    for library packages (libxcb-icccm.so.4 -> libxcb-icccm4; a name ending in a digit gets
    a dash: libxkbcommon-x11.so.0 -> libxkbcommon-x11-0)."""
    if soname in PACKAGES:
        return PACKAGES[soname]
    match = re.match(r"^(lib[^/]+?)\.so\.(\d+)", soname)
    if not match:
        return soname
    stem, major = match.group(1).lower(), match.group(2)
    return f"{stem}-{major}" if stem[-1].isdigit() else f"{stem}{major}"


def platforms_dir() -> Path | None:
    """PySide6's platform plugin folder, found without importing PySide6."""
    try:
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "Qt" / "plugins" / "platforms"
    return folder if folder.is_dir() else None


def unresolved_libraries(plugin: Path, dlopened: Iterable[str] = ()) -> list[str] | None:
    """Shared libraries `plugin` needs that the dynamic loader cannot find, in `ldd`'s order,
    then those of `dlopened` that cannot be loaded; None when `ldd` is not available."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return None
    try:
        out = subprocess.run(
            [ldd, str(plugin)], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    missing = list(dict.fromkeys(_NOT_FOUND.findall(out)))
    for name in dlopened:
        try:
            ctypes.CDLL(name)
        except OSError:
            missing.append(name)
    return missing


def platform_to_check(env: Mapping[str, str] | None = None) -> str | None:
    """Which platform plugin Qt will use here: "xcb", "wayland", "none" (no display at all),
    or None when there is nothing to check (offscreen/minimal, another plugin, not Linux)."""
    env = os.environ if env is None else env
    if not sys.platform.startswith("linux"):
        return None
    requested = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip().lower()
    if requested in HEADLESS_PLATFORMS:
        return None
    if requested in ("xcb", "wayland"):
        return requested
    if requested:
        return None  # eglfs, linuxfb, ...: the user knows what they chose
    if env.get("WAYLAND_DISPLAY") and (
        env.get("XDG_SESSION_TYPE") == "wayland" or not env.get("DISPLAY")
    ):
        return "wayland"
    if env.get("DISPLAY"):
        return "xcb"
    return "none"


def gui_problem(env: Mapping[str, str] | None = None) -> str | None:
    """None when the window can open as far as can be told, else one line saying why not
    and what to do."""
    env = os.environ if env is None else env
    platform = platform_to_check(env)
    if platform is None:
        return None
    if platform == "none":
        return (
            "no display: neither DISPLAY nor WAYLAND_DISPLAY is set, so the window cannot "
            f"open here; the headless commands work without one: {HEADLESS}"
        )
    folder = platforms_dir()
    if folder is None:
        return None  # PySide6 missing or laid out differently: Qt's own error will say
    plugin = folder / PLUGIN_FILES[platform]
    if not plugin.exists():
        if platform == "wayland" and env.get("DISPLAY"):
            return gui_problem({**env, "QT_QPA_PLATFORM": "xcb"})
        return (
            f"the window cannot open: Qt's {platform} platform plugin is not installed "
            f"({plugin}); reinstall PySide6; the headless commands work without it: {HEADLESS}"
        )
    missing = unresolved_libraries(plugin, DLOPENED[platform])
    if not missing:
        return None
    packages = " ".join(dict.fromkeys(debian_package(m) for m in missing))
    return (
        f"the window cannot open: Qt's {platform} platform plugin needs system libraries "
        f"that are missing ({', '.join(missing)}); install them with: sudo apt install "
        f"{packages} (Debian/Ubuntu names); the headless commands work without them: {HEADLESS}"
    )
