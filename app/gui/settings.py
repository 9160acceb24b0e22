"""Settings remembered between runs (QSettings) and the keys the window and the tabs use.

`open_settings()` gives the per-user store (organisation "AffectScope", application "AffectScope"; on
Linux ~/.config/AffectScope/AffectScope.conf). Tests and automation pass an INI file instead, so they
never touch the user's settings. Tabs receive the QSettings object and read/write their own keys.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

ORGANIZATION = "AffectScope"
APPLICATION = "AffectScope"

# Keys (grouped by the widget that owns them).
WINDOW_GEOMETRY = "window/geometry"
WINDOW_STATE = "window/state"
WINDOW_TAB = "window/tab"
LIVE_SOURCE = "live/source"  # "demo", "camera:N" or "video:PATH"
LIVE_SMOOTHING = "live/smoothing"  # "none", "ema" or "one_euro"
LIVE_EMA_ALPHA = "live/ema_alpha"
LIVE_EURO_MIN_CUTOFF = "live/one_euro_min_cutoff"
LIVE_EURO_BETA = "live/one_euro_beta"
LIVE_EURO_D_CUTOFF = "live/one_euro_d_cutoff"
LIVE_BASELINE_SECONDS = "live/baseline_seconds"
LIVE_ATTENTION_OVERLAY = "live/attention_overlay"
LIVE_LOOP_VIDEO = "live/loop_video"
VIEW_THEME = "view/theme"  # "system", "dark" or "light"
MODEL_PATH = "model/path"  # "" = the default model
MODEL_RUNTIME = "model/runtime"
MODEL_DEVICE = "model/device"
RECORD_PARTICIPANT = "record/participant"
RECORD_FOLDER = "record/folder"
RECORD_SAVE_VIDEO = "record/save_video"
LSL_ENABLED = "lsl/enabled"
LSL_STREAM_NAME = "lsl/stream_name"
LSL_FACE_SLOTS = "lsl/face_slots"
VIEWER_RECENT = "viewer/recent"  # the sessions opened last, newest first
VIEWER_SIGNAL = "viewer/signal"  # a key of app.core.segment_summary.SIGNALS
VIEWER_FOLDER = "viewer/folder"  # the folder the Viewer's dialogs showed last
RECENT_COUNT = 8


def open_settings(ini_path: str | Path | None = None) -> QSettings:
    """The user's settings, or an INI file at `ini_path` (created when missing)."""
    if ini_path is not None:
        return QSettings(str(ini_path), QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def value_str(settings: QSettings, key: str, default: str = "") -> str:
    """A stored string (the default when missing)."""
    value = settings.value(key, default)
    return default if value is None else str(value)


def value_float(settings: QSettings, key: str, default: float) -> float:
    """A stored number (the default when missing or not a number)."""
    try:
        return float(settings.value(key, default))
    except (TypeError, ValueError):
        return default


def value_bool(settings: QSettings, key: str, default: bool) -> bool:
    """A stored flag (INI files store "true"/"false" as text)."""
    value = settings.value(key, default)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def recent_files(settings: QSettings) -> list[str]:
    """The recent sessions (newest first) that still exist."""
    value = settings.value(VIEWER_RECENT, [])
    paths = [value] if isinstance(value, str) else list(value or [])
    return [p for p in paths if p and Path(p).is_file()]


def remember_recent(settings: QSettings, path: str | Path) -> list[str]:
    """Put `path` first in the recent sessions (at most RECENT_COUNT); returns the new list."""
    path = str(Path(path).resolve())
    paths = [path] + [p for p in recent_files(settings) if p != path]
    settings.setValue(VIEWER_RECENT, paths[:RECENT_COUNT])
    return paths[:RECENT_COUNT]
