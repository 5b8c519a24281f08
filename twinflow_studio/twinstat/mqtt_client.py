"""paho's client, reading the socket in large chunks.

paho 2.x reads each packet with several ``recv`` calls (one byte for the type, one per
length byte, then the body) and handles one packet per ``select``: four system calls per
small message, which caps a subscriber at a few thousand messages/s on a busy machine. This
subclass serves those reads from a 256 KiB buffer and keeps reading while the buffer holds
data (select cannot see it). It overrides paho's ``_sock_recv`` (a private method, stable
across the 2.x line, which the version pin in pyproject.toml holds); without it, it is
plain paho.

``ack_many`` acknowledges a stored batch as one write: paho's ``ack`` queues one packet and
wakes the network thread (a system call) per message, which cost more than storing them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

import paho.mqtt.client as mqtt

_CHUNK = 256 * 1024


class BufferedClient(mqtt.Client):
    _rbuf: bytes = b""
    _rpos: int = 0
    _rsock: Any = None

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._rsock is not self._sock:  # a new connection: nothing of the old one
            self._rbuf, self._rpos, self._rsock = b"", 0, self._sock
        if self._rpos >= len(self._rbuf):
            chunk = super()._sock_recv(_CHUNK)
            if not chunk:
                return chunk
            self._rbuf, self._rpos = chunk, 0
        data = self._rbuf[self._rpos : self._rpos + bufsize]
        self._rpos += len(data)
        return data

    def _buffered(self) -> bool:
        return self._sock is not None and self._rsock is self._sock and self._rpos < len(self._rbuf)

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        rc = super().loop_read(max_packets)
        while rc == mqtt.MQTT_ERR_SUCCESS and self._buffered():
            rc = super().loop_read(max_packets)
        return rc


def ack_many(client: mqtt.Client, mids: Iterable[int]) -> None:
    """PUBACK each of ``mids`` (QoS 1, MQTT 3.1.1): one queued write for the whole batch."""
    if not isinstance(client, BufferedClient):
        for mid in mids:
            client.ack(mid, 1)
        return
    blob = b"".join(struct.pack("!BBH", mqtt.PUBACK, 2, mid) for mid in mids)
    if blob:
        client._packet_queue(mqtt.PUBACK, blob, 0, 0)


def client_class() -> type[mqtt.Client]:
    return BufferedClient if hasattr(mqtt.Client, "_sock_recv") else mqtt.Client
