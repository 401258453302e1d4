"""Bodies of registry and token-server answers, read within a bound of bytes and of time.

Every answer comes from :mod:`wasmkit.oci._transport` unread, with ``Accept-Encoding:
identity`` asked: nothing is read until wasmkit asks, and no body is inflated behind its back.
A body is read as sent, one socket read at a time, up to a byte limit and before a
:class:`Deadline`: ``--timeout`` bounds each read, the deadline the whole transfer, so a
registry that drips one byte a second cannot hold a pull (or the node cache) forever.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator

from wasmkit.errors import LimitExceeded, ServiceUnavailable
from wasmkit.oci._transport import Response

#: Error documents, token answers, upload acknowledgements: small JSON.
MAX_BODY = 1024 * 1024
#: The slowest average rate a transfer may keep: it gets ``--timeout`` plus its size at this rate.
MIN_RATE = 64 * 1024


class Deadline:
    """When a transfer of ``size`` bytes must be done: ``timeout`` s plus ``size`` at MIN_RATE."""

    def __init__(self, what: str, size: int, timeout: float):
        self.what = what
        self.seconds = timeout + size / MIN_RATE
        self.end = time.monotonic() + self.seconds

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise ServiceUnavailable(
                f"{self.what} is too slow: not done in {self.seconds:.0f} s "
                f"(slower than {MIN_RATE // 1024} KiB/s on average)",
                hint="the registry or the network is too slow, or stalls on purpose; retry, "
                "or give more time with --timeout (it bounds each read and adds to every deadline)",
            )


def chunks(response: Response, deadline: Deadline, size: int) -> Iterator[bytes]:
    """The body in the pieces the socket gives (at most ``size`` bytes each), checking the
    deadline between them; a broken connection is ServiceUnavailable."""
    try:
        while True:
            deadline.check()
            piece = response.read1(size)
            if not piece:
                return
            yield piece
    except (http.client.HTTPException, OSError) as exc:
        raise ServiceUnavailable(
            f"{deadline.what} broke off: {str(exc)[:200] or type(exc).__name__}",
            hint="retry; the local store is unchanged",
        ) from None


def read_body(
    response: Response,
    limit: int = MAX_BODY,
    *,
    strict: bool = True,
    timeout: float = 30.0,
) -> bytes:
    """At most ``limit`` bytes of the body; more is LimitExceeded (``strict``) or cut off.

    The body is kept as the response's ``content``, so reading it twice reads the socket once.
    """
    if response.content is not None:  # read already, or built by a test
        return response.content[:limit]
    data = bytearray()
    deadline = Deadline(f"the answer from {response.url}", limit, timeout)
    for piece in chunks(response, deadline, limit + 1 - len(data)):
        data += piece
        if len(data) > limit:
            break
    if len(data) > limit and strict:
        response.close()
        raise LimitExceeded(
            f"{response.url} sent more than {limit} bytes where a small answer was expected",
            hint="the registry or a proxy in between is misbehaving",
        )
    body = bytes(data[:limit])
    response.content = body
    return body
