"""Writing files so that a reader never sees half of one: temp file, fsync, rename, fsync the directory.

Temp names are `.<name>.<random>.tmp` (directories: `.<name>.tmp`), so that whatever an
interrupted writer leaves behind is recognised and removed by `remove_temp_files`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


def write_atomic(path: str | Path, data: bytes, *, mode: int = 0o644, mtime: float | None = None) -> None:
    """Replace `path` with `data` in one step; a crash leaves the old file or the new, never a mix.
    With `mtime` the new file has that modification time from the moment it appears."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, mode)  # mkstemp makes 0600; feeds must be readable by nginx's user
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            if mtime is not None:
                os.utime(out.fileno(), (mtime, mtime))
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno and exc.filename is None:  # say which file failed
            raise OSError(exc.errno, exc.strerror, str(target)) from exc
        raise
    fsync_dir(target.parent)  # make the rename itself durable


def fsync_dir(path: str | Path) -> None:
    """Flush a directory's entries (a rename, a new file) to disk: only then does a power cut keep them."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_temp_files(folder: str | Path) -> list[Path]:
    """Remove the temp files and directories interrupted writes left in `folder`; return them.

    Only the publisher, the one writer, calls this, at start: no write of its own is under way.
    """
    try:
        entries = list(Path(folder).iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    leftovers = sorted(p for p in entries if p.name.startswith(".") and p.name.endswith(".tmp"))
    for path in leftovers:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return leftovers
