"""How bytes sent at one baud rate look to a reader set to another.

A UART reading at the wrong rate sees noise, never the text: roughly as many bytes as
fit in the time the sender took, with framing errors. The simulator hands the reader
such noise (high bytes, not valid UTF-8) so a wrong baud in a bench file shows up as it
does on a desk: a board that prints garbage.
"""

from __future__ import annotations

TOLERANCE = 0.05  # a UART still decodes within a few percent of the sender's rate


def as_received(data: bytes, sent_at: int | None, read_at: int) -> bytes:
    if sent_at is None or read_at <= 0 or abs(read_at / sent_at - 1) <= TOLERANCE:
        return data
    count = max(1, round(len(data) * read_at / sent_at))
    return bytes(0x80 | ((data[i * len(data) // count] * 37 + i) & 0x7F) for i in range(count))
