"""A collection actor's mailbox: a bounded memory channel, bounded in bytes as well as count.

The sending side (CollectionActor.write and friends) puts messages in without waiting for room:
a full mailbox is an Overloaded answer at once, not a queue that grows. The commit loop takes
them out and says how many bytes it took, so the byte bound follows what is still queued.
"""

from __future__ import annotations

import trio

from zoro.actors.messages import Message


class Mailbox:
    def __init__(self, size: int) -> None:
        send, receive = trio.open_memory_channel[Message](size)
        self.outbox: trio.MemorySendChannel[Message] = send
        self.inbox: trio.MemoryReceiveChannel[Message] = receive
        self.queued_bytes = 0

    def taken(self, nbytes: int) -> None:
        """The commit loop has taken writes of `nbytes` out of the mailbox."""
        self.queued_bytes -= nbytes

    def depth(self) -> int:
        return self.outbox.statistics().current_buffer_used

    def close(self) -> None:
        self.outbox.close()

    def drain(self) -> list[Message]:
        """Everything still queued (after close: nothing more can come)."""
        left: list[Message] = []
        while True:
            try:
                left.append(self.inbox.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                return left
