"""User-facing settings, each default written once: the core, the command line and the GUI read them here.

Each group is a frozen dataclass whose field defaults are the defaults, with the help text beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.io import PRIVATE_MODE

SHARED_FILES_HELP = (
    "make session and analysis files readable by other users of this machine (a shared lab folder); by "
    "default they are readable by you only (mode 0600), as they hold per-person emotion data"
)


@dataclass(frozen=True)
class OutputSettings:
    """How the per-person files (session recordings, analysis CSVs) are written."""

    shared_files: bool = False  # False: owner-only (0600); True: as any new file (0666 less the umask)

    def permissions(self) -> int | None:
        """The mode for model.io writers: PRIVATE_MODE, or None (the umask's default) when shared."""
        return None if self.shared_files else PRIVATE_MODE
