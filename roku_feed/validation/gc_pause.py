"""Pausing Python's cyclic garbage collector while a feed is parsed and validated.

The collector runs after every few hundred new objects, and each full run walks every object
alive, the parsed feed included: parsing a 10 MB feed sets off full runs over the part already
parsed, and a feed whose 10,000 items each carry the same warnings makes 30,000 findings that
set off full runs over the whole feed, costing more than the findings themselves. Parsing and
validation create no reference cycles, so those runs free nothing and pausing loses nothing.
The pause nests and is shared between threads: the collector resumes when the last holder is
done, and only if it was running before the first.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pause:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holders = 0
        self.resume = False


_PAUSE = _Pause()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector off inside the block (other threads' blocks included)."""
    with _PAUSE.lock:
        if _PAUSE.holders == 0:
            _PAUSE.resume = gc.isenabled()
            gc.disable()
        _PAUSE.holders += 1
    try:
        yield
    finally:
        with _PAUSE.lock:
            _PAUSE.holders -= 1
            if _PAUSE.holders == 0 and _PAUSE.resume:
                gc.enable()
