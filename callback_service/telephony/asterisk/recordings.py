"""Map recording paths reported by Asterisk onto the service's recordings root.

A ``File`` header in a UserEvent is text that arrived over the network. It is trusted only after it
is shown to lie under the configured Asterisk spool prefix, with no ``..`` or other tricks, and then
only its part below the prefix is used, re-rooted under the service's own recordings directory
(the two are the same storage seen from two hosts, or a synced copy).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from callback_service.contracts import CALL_RECORDING_NAME
from callback_service.telephony.dialer import DialerError

_PATH_FORBIDDEN = ("\x00", "\\", "\r", "\n")


class RecordingPathError(DialerError):
    def __init__(self, message: str) -> None:
        super().__init__(message, transient=False)


class RecordingMapper:
    def __init__(self, spool_prefix: str, recordings_root: Path) -> None:
        prefix = PurePosixPath(spool_prefix)
        if not prefix.is_absolute() or ".." in prefix.parts:
            raise RecordingPathError(f"spool prefix {spool_prefix!r} must be absolute, without '..'")
        self.spool_prefix = prefix
        self.root = recordings_root

    def to_local(self, reported: str) -> Path:
        """The local path for a file Asterisk reported, or RecordingPathError if it is not ours."""
        if not reported or any(ch in reported for ch in _PATH_FORBIDDEN):
            raise RecordingPathError(f"recording path {reported!r} is empty or has forbidden characters")
        path = PurePosixPath(reported)
        if not path.is_absolute() or ".." in path.parts:
            raise RecordingPathError(f"recording path {reported!r} must be absolute, without '..'")
        try:
            relative = path.relative_to(self.spool_prefix)
        except ValueError:
            raise RecordingPathError(
                f"recording path {reported!r} is outside the spool {self.spool_prefix}"
            ) from None
        if not relative.parts:
            raise RecordingPathError(f"recording path {reported!r} names the spool itself")
        return self.root.joinpath(*relative.parts)

    def call_recording(self, attempt_id: int) -> Path:
        """Where the dialplan's MixMonitor writes the whole call (``${CALLBACK_RECDIR}/<id>/call.wav``)."""
        return self.root / str(attempt_id) / CALL_RECORDING_NAME

    def spool_dir(self) -> str:
        return str(self.spool_prefix)
