"""User-facing errors.

Every problem a user can fix (a missing frame, a malformed ground-truth line, a wrong weights
file...) raises :class:`RegtrackError` with a one-line message that names the file (and line)
and says what to do. The CLI prints that line and exits with status 2, without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class RegtrackError(Exception):
    """An error the user can fix; ``str(err)`` is one line naming the file and the fix."""

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None,
                 fix: str | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}" + (f":{line}" if line is not None else "") + ": "
        text = where + message
        if fix:
            text += f" ({fix})"
        super().__init__(text.replace("\n", " "))
        self.path = path
        self.line = line
