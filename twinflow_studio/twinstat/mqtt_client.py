"""paho's client, reading the socket in large chunks.

paho 2.x reads each packet with several ``recv`` calls (one byte for the type, one per
length byte, then the body) and handles one packet per ``select``: four system calls per
small message, which caps a subscriber at a few thousand messages/s on a busy machine. This
subclass serves those reads from a 256 KiB buffer and keeps reading while the buffer holds
data (select cannot see it). It overrides paho's ``_sock_recv`` (a private method, stable
across the 2.x line, which the version pin in pyproject.toml holds); without it, it is
plain paho.

With ``on_publish_batch`` set, the QoS 0/1 PUBLISH packets that lie whole in the buffer are
split off in one tight loop and handed over as one list (``_take_publishes``). paho's own
path builds an ``MQTTMessage``, logs, matches topics and calls back per packet: about 90 us a
message on this machine, most of what a subscriber costs (profiled with py-spy). Every other
packet (CONNACK, SUBACK, PINGRESP, QoS 2, MQTT 5, a packet cut by the buffer's end) still
goes through paho.

``ack_many`` acknowledges a stored batch as one write: paho's ``ack`` queues one packet and
wakes the network thread (a system call) per message, which cost more than storing them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt

from twinflow_studio.twinstat.mqtt_decode import Received

_CHUNK = 256 * 1024


class BufferedClient(mqtt.Client):
    _rbuf: bytes = b""
    _rpos: int = 0
    _rsock: Any = None
    # Called on the network thread with the messages of one read (arrival order).
    on_publish_batch: Callable[[list[Received]], None] | None = None

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
        if self._fast_path() and self._sock is not None and self._in_packet["command"] == 0:
            # Read here, so that the first message of a read is not paho's either (on a
            # live stream a read often holds only a few).
            if not self._buffered():
                try:
                    chunk = super()._sock_recv(_CHUNK)
                except BlockingIOError:
                    return mqtt.MQTT_ERR_SUCCESS
                except OSError:
                    chunk = b""  # paho's read below meets the error and reports it
                if chunk:
                    self._rbuf, self._rpos, self._rsock = chunk, 0, self._sock
            if self._buffered():
                self._take_publishes()
                if not self._buffered():
                    return mqtt.MQTT_ERR_SUCCESS
        rc = super().loop_read(max_packets)
        while rc == mqtt.MQTT_ERR_SUCCESS and self._buffered():
            if self._fast_path() and self._in_packet["command"] == 0:
                self._take_publishes()
                if not self._buffered():
                    break
            rc = super().loop_read(max_packets)
        return rc

    def _fast_path(self) -> bool:
        return self.on_publish_batch is not None and self._protocol != mqtt.MQTTv5

    def _take_publishes(self) -> None:
        """Split the whole QoS 0/1 PUBLISH packets at the front of the buffer off (MQTT 3.1.1
        framing: fixed header, remaining length, topic, packet id, payload); stop at the first
        packet that is anything else, cut off, or not well formed, and leave it to paho."""
        buf, pos, end = self._rbuf, self._rpos, len(self._rbuf)
        out: list[Received] = []
        now = time.time_ns()
        while pos < end:
            cmd = buf[pos]
            if cmd & 0xF0 != 0x30 or cmd & 0x06 >= 0x04:
                break  # not a PUBLISH, or QoS 2 (its handshake is paho's)
            i, length, shift = pos + 1, 0, 0
            while i < end and shift <= 21:
                byte = buf[i]
                i += 1
                length |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            else:
                break  # length cut by the buffer's end, or longer than 4 bytes
            stop = i + length
            qos = (cmd >> 1) & 3
            if stop > end or length < 2:
                break
            head = i + 2 + ((buf[i] << 8) | buf[i + 1])
            body = head + (2 if qos else 0)
            if body > stop:
                break
            try:
                topic = buf[i + 2 : head].decode()
            except UnicodeDecodeError:
                break
            mid = (buf[head] << 8) | buf[head + 1] if qos else 0
            out.append(Received(mid, qos, topic, buf[body:stop], bool(cmd & 0x08), now))
            pos = stop
        self._rpos = pos
        if out:
            with self._msgtime_mutex:
                self._last_bytes_received = mqtt.time_func()
            assert self.on_publish_batch is not None
            self.on_publish_batch(out)


def ack_many(client: mqtt.Client, mids: Iterable[int]) -> None:
    """PUBACK each of ``mids`` (QoS 1, MQTT 3.1.1): one queued write for the whole batch."""
    if not isinstance(client, BufferedClient):
        for mid in mids:
            client.ack(mid, 1)
        return
    ids = np.fromiter(mids, np.uint16)
    if len(ids):
        packets = np.empty((len(ids), 4), np.uint8)  # type, length 2, packet id (big-endian)
        packets[:, 0], packets[:, 1] = mqtt.PUBACK, 2
        packets[:, 2], packets[:, 3] = ids >> 8, ids & 0xFF
        blob = packets.tobytes()
        client._packet_queue(mqtt.PUBACK, blob, 0, 0)


def client_class() -> type[mqtt.Client]:
    return BufferedClient if hasattr(mqtt.Client, "_sock_recv") else mqtt.Client
