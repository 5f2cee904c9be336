"""Re-reading content directories at the cost of a listing, for a process that watches them.

`read_sources` reads and parses every file each time. A long-running caller (the service, a
watch loop) mostly finds nothing changed, so a `FileIndex` keeps what each file gave, with the
file's size and modification time, and reads again only files whose size or mtime differ, or
that are new. It lists with `list_inputs` and reads with `read_path`, so it selects, orders and
skips files exactly as `read_sources` does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from roku_feed.errors import SourceError
from roku_feed.sources import SourceResult, list_inputs, read_path

Signature = tuple[int, int]  # (st_size, st_mtime_ns)


def _signature(path: str) -> Signature | None:
    try:
        stat = os.stat(path)
    except OSError:  # gone since the listing, or not ours to stat: read it, and skip it then
        return None
    return stat.st_size, stat.st_mtime_ns


class FileIndex:
    """What each file of some directories gave when last read, to re-read only what changed.

    Like any mtime check, a rewrite that keeps the size within one tick of the file system's
    clock (a few ms) goes unseen until the next change to the file.
    """

    def __init__(self) -> None:
        self.reads = 0  #: files read (or tried) so far; unchanged files add nothing
        self._files: dict[str, tuple[Signature | None, SourceResult]] = {}

    def read_changed(self, specs: Sequence[str]) -> tuple[SourceResult, bool]:
        """Everything `read_sources(specs)` would give, and whether it differs from the last call.

        `specs` are directories or files, not URLs. Only new files and files whose size or mtime
        changed are read; files no longer listed are forgotten. A file that is re-read but gives
        the same articles and skips as before (touched, not edited) does not count as a change.
        """
        inputs = list_inputs(specs)
        named = set(specs)
        combined, files, changed = SourceResult(), {}, False
        for label, path in inputs:
            if path is None:
                raise SourceError(f"{label}: a FileIndex reads files and directories, not URLs")
            signature = _signature(label)
            known = self._files.get(label)
            if known is None or signature is None or known[0] != signature:
                result = read_path(path, label, named=label in named)
                self.reads += 1
                changed = changed or known is None or known[1] != result
                known = (signature, result)
            files[label] = known
            combined.extend(known[1])
        changed = changed or len(files) != len(self._files)  # no new file: then one is gone
        self._files = files
        return combined, changed
