"""Request bodies over MAX_CONTENT_LENGTH are refused (413), however they are sent; never cut.

werkzeug refuses a Content-Length over the limit before reading. A body without one (sent
`Transfer-Encoding: chunked`) it reads only up to the limit, and then stops as if the body had
ended there (its LimitedStream with `is_max`), so a view would get the first 2 MiB of a larger
body and call it "not JSON". Here such a body is read one byte past the limit, at most: that
byte means 413.
"""

from __future__ import annotations

import io
import typing as t

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property


class _Capped(io.RawIOBase):
    """The server's input stream, refused (413) on the first byte beyond `limit`."""

    def __init__(self, stream: t.IO[bytes], limit: int) -> None:
        self._stream = stream
        self._left = limit  # bytes still allowed; -1 once one too many has been read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: t.Any) -> int:
        if self._left < 0:
            raise RequestEntityTooLarge()
        data = self._stream.read(min(len(buffer), self._left + 1))
        self._left -= len(data)
        if self._left < 0:
            raise RequestEntityTooLarge()
        buffer[: len(data)] = data
        return len(data)


class BoundedRequest(Request):
    """Flask's request; a body without Content-Length is read whole within the limit, or refused."""

    @cached_property
    def stream(self) -> t.IO[bytes]:
        limit = self.max_content_length
        # Only a server that ends the stream itself (granian does) may be read without a length.
        if limit is None or self.content_length is not None or not self.environ.get("wsgi.input_terminated"):
            return super().stream
        return t.cast(t.IO[bytes], _Capped(self.environ["wsgi.input"], limit))
