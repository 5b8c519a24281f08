"""Keeps an MQTT source's table filled while a twin is live: ``MqttIngest(...).start()``.

The contract (docs/mqtt.md): a message is acknowledged to the broker only after the batch
holding it is stored durably (``MqttTable.append``: fsync + atomic rename). The session is
persistent (fixed client id, clean_session False, QoS 1), so whatever was not acknowledged
when the process died is delivered again on the next start; those redeliveries carry the
DUP flag and their original packet id, and the ingest drops the ones it already stored
(same topic, payload and packet id in a part after the last acknowledged one). Every
message is in the table exactly once.

paho's network thread only appends the messages of each read to a list (``BufferedClient``
hands them over as one list); a writer thread stores a batch (up to ``batch_ms`` after its
first message), then acknowledges it and tells ``on_stored``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from twinflow_studio.project.mqtt_params import broker_address, env_ref
from twinflow_studio.twinstat.errors import TwinStatError
from twinflow_studio.twinstat.mqtt_client import BufferedClient, ack_many, client_class
from twinflow_studio.twinstat.mqtt_compact import compact, remove_superseded
from twinflow_studio.twinstat.mqtt_decode import Decoder, Received, message_key
from twinflow_studio.twinstat.mqtt_table import MqttTable, table_dir

log = logging.getLogger(__name__)

# A batch is never larger than this (a broker's in-flight window caps it anyway).
MAX_BATCH = 20_000
# Acknowledgements handed to paho are on the wire well within this, while connected.
ACK_SETTLE_S = 1.0


class MqttError(TwinStatError):
    """The MQTT source cannot run: unreachable broker, refused credentials, bad TLS files,
    a missing environment variable, a table another process is filling."""


def _resolve(value: Any, what: str, environ: Mapping[str, str]) -> str | None:
    if value is None:
        return None
    name = env_ref(value)
    if name is None:
        return str(value)
    if name not in environ:
        raise MqttError(
            f"{what} is taken from the environment variable {name}, which is not set where "
            "the twin runs; set it there (it is never stored in the project)",
            field=what,
        )
    return environ[name]


def _path(value: str, project_dir: Path) -> str:
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else project_dir / path)


class MqttIngest:
    """Subscribes to an mqtt node's topics and stores what arrives; ``window()`` reads it."""

    def __init__(
        self,
        project_dir: Path,
        source: str,
        params: dict[str, Any],
        *,
        on_stored: Callable[[int], None] | None = None,
        environ: Mapping[str, str] | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        self.project_dir = Path(project_dir)
        self.source = source
        self.params = dict(params)
        self.on_stored = on_stored
        self.environ = os.environ if environ is None else environ
        self.connect_timeout = connect_timeout
        self.table = MqttTable(table_dir(self.project_dir, source))
        self.decoder = Decoder(self.params)
        self.stored = 0  # messages stored by this ingest
        self.duplicates = 0  # redeliveries dropped
        # time.monotonic() of the last message received / batch stored (0: none yet)
        self.last_arrival = 0.0
        self.last_stored = 0.0
        self.last_error: str | None = None
        self._inbox: list[Received] = []
        self._storing = 0  # messages of the batch the writer is storing
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._writer: threading.Thread | None = None
        self._compactor: threading.Thread | None = None
        self.compact_every_s = float(self.params.get("compact_every_s", 60) or 0)
        self._client: Any = None
        self._lock_fd: int | None = None
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._refused_topics: list[str] = []
        self._connect_error: str | None = None
        self._disconnected_at = 0.0
        # Parts stored but maybe not acknowledged: seq -> (time acks were queued, their
        # _key and _mid columns). The (key, mid) counts of those parts are made only when a
        # redelivery (DUP) arrives: rare, while counting every stored message is not.
        self._unsettled: dict[int, tuple[float, Any]] = {}
        self._redeliverable: Counter[tuple[bytes, int]] | None = None
        self._seq = 0

    # ---- life ---------------------------------------------------------------------------

    def start(self) -> MqttIngest:
        """Connect, subscribe and start storing; MqttError when that cannot be done."""
        import paho.mqtt.client as mqtt

        host, port, tls = broker_address(str(self.params["broker"]))
        self._take_lock()
        try:
            self.table.remove_leftovers()
            remove_superseded(self.table)
            self._seq = self.table.next_seq()
            acked = self.table.acked_seq()
            for seq, ids in self.table.ids_after(acked):
                self._unsettled[seq] = (0.0, ids)
            client_id = str(self.params.get("client_id") or f"twinflow-{self.source}")
            client = client_class()(
                mqtt.CallbackAPIVersion.VERSION2,
                client_id=client_id,
                clean_session=False,
                protocol=mqtt.MQTTv311,
                manual_ack=True,
            )
            client.max_queued_messages_set(0)
            client.reconnect_delay_set(1, 10)
            user = _resolve(self.params.get("username"), "username", self.environ)
            password = _resolve(self.params.get("password"), "password", self.environ)
            if user is not None or password is not None:
                client.username_pw_set(user, password)
            tls_files = self.params.get("tls") or {}
            if tls or tls_files:
                self._set_tls(client, tls_files)
            client.on_connect = self._on_connect
            client.on_disconnect = self._on_disconnect
            client.on_message = self._on_message
            if isinstance(client, BufferedClient):
                client.on_publish_batch = self._on_messages
            client.on_subscribe = self._on_subscribe
            self._client = client
            try:
                client.connect(host, port, keepalive=int(self.params.get("keepalive", 30)))
            except (OSError, ssl.SSLError) as exc:
                raise MqttError(f"cannot connect to the MQTT broker {host}:{port}: {exc}") from exc
            self._writer = threading.Thread(
                target=self._write_loop, name=f"mqtt-store-{self.source}", daemon=True
            )
            self._writer.start()
            if self.compact_every_s > 0:
                self._compactor = threading.Thread(
                    target=self._compact_loop, name=f"mqtt-compact-{self.source}", daemon=True
                )
                self._compactor.start()
            client.loop_start()
            if not self._connected.wait(self.connect_timeout) or self._connect_error:
                reason = self._connect_error or f"no answer within {self.connect_timeout:g} s"
                self.stop()
                raise MqttError(f"the MQTT broker {host}:{port} refused the session: {reason}")
            # Messages published before the broker confirmed the subscription are not ours.
            if not self._subscribed.wait(self.connect_timeout) or self._refused_topics:
                refused = ", ".join(self._refused_topics) or "no answer"
                self.stop()
                raise MqttError(
                    f"the MQTT broker {host}:{port} refused the subscription ({refused})",
                    field="topics",
                )
            # What the last process stored unacknowledged comes back first after connecting.
            now = time.monotonic()
            with self._cond:
                for seq, (_, keys) in list(self._unsettled.items()):
                    self._unsettled[seq] = (now, keys)
        except BaseException:
            if self._writer is None:
                self._release_lock()
            raise
        log.info("mqtt %s: ingesting %s from %s:%d", self.source, self.params["topics"], host, port)
        return self

    def stop(self) -> None:
        """Store what has arrived, acknowledge it and disconnect."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._writer is not None:
            self._writer.join(timeout=30)
        if self._compactor is not None:
            self._compactor.join(timeout=60)
        if self._client is not None:
            try:
                self._client.disconnect()
                self._client.loop_stop()
            except Exception:  # noqa: BLE001 - closing a dead connection must not raise
                pass
        self._release_lock()

    @property
    def backlog(self) -> int:
        """Messages received and not yet stored (and acknowledged)."""
        with self._cond:
            return len(self._inbox) + self._storing

    def window(self) -> Any:
        """The node's window of the table, as its output would be."""
        return self.table.window(
            int(self.params.get("window_rows", 0) or 0),
            float(self.params.get("window_seconds", 0) or 0),
        )

    # ---- set-up -------------------------------------------------------------------------

    def _set_tls(self, client: Any, files: dict[str, Any]) -> None:
        paths = {k: _path(str(v), self.project_dir) for k, v in files.items() if v}
        for key, path in paths.items():
            if not Path(path).is_file():
                raise MqttError(f"no such file: {path}", field=f"tls.{key}")
        try:
            client.tls_set(
                ca_certs=paths.get("ca"),
                certfile=paths.get("cert"),
                keyfile=paths.get("key"),
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise MqttError(f"cannot use the TLS files: {exc}", field="tls") from exc

    def _take_lock(self) -> None:
        self.table.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.table.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip()
            os.close(fd)
            raise MqttError(
                f"the messages of {self.source!r} are already being stored by another "
                f"process ({holder or 'unknown pid'}); one ingest per source",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}".encode())
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # ---- paho callbacks (network thread) --------------------------------------------------

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._connect_error = str(reason)
            self._connected.set()
            return
        qos = int(self.params.get("qos", 1))
        self._topics = [str(t) for t in self.params["topics"]]
        client.subscribe([(t, qos) for t in self._topics])
        self._connect_error = None
        self._connected.set()

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, codes: Any, p: Any) -> None:
        self._refused_topics = [
            topic
            for topic, code in zip(getattr(self, "_topics", []), codes, strict=False)
            if code.is_failure
        ]
        self._subscribed.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, p: Any) -> None:
        self._disconnected_at = time.monotonic()
        if not self._stop.is_set():
            self.last_error = f"disconnected: {reason}"
            log.warning("mqtt %s: %s; reconnecting", self.source, self.last_error)

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        self._on_messages(
            [Received(msg.mid, msg.qos, msg.topic, msg.payload, bool(msg.dup), time.time_ns())]
        )

    def _on_messages(self, items: list[Received]) -> None:
        self.last_arrival = time.monotonic()
        with self._cond:
            was_empty = not self._inbox
            self._inbox.extend(items)
            if was_empty:
                self._cond.notify()

    # ---- compaction ------------------------------------------------------------------------

    def _compact_loop(self) -> None:
        """Merge settled small parts now and then, in its own thread: a merge reads and writes
        up to a few MB, which the writer (and the trigger latency) must not wait for."""
        while not self._stop.wait(self.compact_every_s):
            try:
                compact(self.table, max_runs=4)
            except Exception as exc:  # noqa: BLE001 - disk full: the small parts stay as they are
                log.warning("mqtt %s: compaction skipped: %s", self.source, exc)

    # ---- the writer thread -----------------------------------------------------------------

    def _write_loop(self) -> None:
        wait_s = max(0.001, int(self.params.get("batch_ms", 20)) / 1000.0)
        while True:
            with self._cond:
                while not self._inbox and not self._stop.is_set():
                    self._cond.wait(0.5)
                    self._settle()
                if not self._inbox and self._stop.is_set():
                    return
            # Let a batch gather (bounded) so each fsync carries many messages.
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline and not self._stop.is_set():
                with self._cond:
                    if len(self._inbox) >= MAX_BATCH:
                        break
                time.sleep(min(0.002, wait_s))
            with self._cond:
                batch, self._inbox = self._inbox[:MAX_BATCH], self._inbox[MAX_BATCH:]
                self._storing = len(batch)
            try:
                self._store(batch)
            except Exception as exc:  # disk full, I/O error: nothing acknowledged, retried
                self.last_error = f"cannot store messages: {exc}"
                log.error("mqtt %s: %s", self.source, self.last_error)
                with self._cond:
                    self._inbox[:0] = batch
                if self._stop.wait(1.0):
                    return
            finally:
                self._storing = 0
            self._settle()

    def _store(self, batch: list[Received]) -> None:
        fresh: list[Received] = []
        dropped: list[Received] = []
        for msg in batch:
            if msg.dup and self._unsettled:
                pending = self._pending()
                ident = (message_key(msg.topic, msg.payload), msg.mid)
                if pending.get(ident, 0) > 0:
                    pending[ident] -= 1
                    dropped.append(msg)
                    continue
            fresh.append(msg)
        if fresh:
            seq = self._seq
            table = self.decoder.table(fresh)
            self.table.append(seq, table, max(m.recv_ns for m in fresh))
            self._seq += 1
            ids = table.select(["_key", "_mid"])
            if self._redeliverable is not None:
                self._redeliverable.update(_idents(ids))
            self._unsettled[seq] = (time.monotonic(), ids)
        # Only now: the batch is durable.
        ack_many(self._client, [m.mid for m in batch if m.qos == 1])
        for msg in batch:
            if msg.qos == 2:
                self._client.ack(msg.mid, 2)
        if dropped:
            self.duplicates += len(dropped)
            log.warning(
                "mqtt %s: %d redelivered message(s) were stored before the last stop; "
                "not stored again",
                self.source,
                len(dropped),
            )
        self.last_stored = time.monotonic()
        if fresh:
            self.stored += len(fresh)
            if self.on_stored is not None:
                try:
                    self.on_stored(len(fresh))
                except Exception:  # noqa: BLE001 - a listener must not stop the ingest
                    log.exception("mqtt %s: on_stored failed", self.source)

    def _settle(self) -> None:
        """Advance the acknowledged mark over parts whose acknowledgements have been on the
        wire for a while on a connection that stayed up; their messages cannot come back."""
        if not self._unsettled or not self._connected.is_set() or self._inbox:
            return  # with a backlog, redeliveries may still wait in the inbox
        now = time.monotonic()
        done = [
            seq
            for seq, (queued, _) in self._unsettled.items()
            if queued and now - queued > ACK_SETTLE_S and queued > self._disconnected_at
        ]
        if not done:
            return
        # Only a prefix: the mark says "everything up to here".
        done.sort()
        first_open = min(self._unsettled)
        mark = 0
        for seq in done:
            if seq != first_open:
                break
            ids = self._unsettled.pop(seq)[1]
            if self._redeliverable is not None:
                for ident in _idents(ids):
                    self._redeliverable[ident] -= 1
                    if self._redeliverable[ident] <= 0:
                        del self._redeliverable[ident]
            mark = seq
            first_open = min(self._unsettled) if self._unsettled else seq + 1
        if not self._unsettled:
            self._redeliverable = None
        if mark:
            self.table.write_acked(mark)

    def _pending(self) -> Counter[tuple[bytes, int]]:
        """(key, mid) -> stored copies a redelivery may still match."""
        if self._redeliverable is None:
            counter: Counter[tuple[bytes, int]] = Counter()
            for _, ids in self._unsettled.values():
                counter.update(_idents(ids))
            self._redeliverable = counter
        return self._redeliverable


def _idents(ids: Any) -> list[tuple[bytes, int]]:
    return list(zip(ids.column("_key").to_pylist(), ids.column("_mid").to_pylist(), strict=True))
