"""A seeded TCP fault proxy for loopback tests: client <-> proxy <-> emulator.

The proxy listens on 127.0.0.1 (port 0) and forwards every accepted connection to an upstream
``host:port`` (the emulator), applying a schedule of faults per accepted connection (0 = the
first one). A fault fires at a byte offset of one direction of that connection:

* ``reset``: forward up to the offset, then RST both sides (``SO_LINGER`` 0 + ``abort()``);
* ``truncate``: forward up to the offset, then close both sides (FIN);
* ``fin``: forward up to the offset, then half-close that direction (``write_eof``) and drop
  whatever that direction still carries; the other direction keeps flowing;
* ``close_frame`` (server to client only): at the first WebSocket frame boundary at or after
  the offset, write an unmasked close frame (``code``, ``reason``) to the client, then drop the
  rest of the server's stream; the client's closing handshake still reaches the server;
* ``stall``: stop forwarding both directions for ``duration_s`` without closing (bytes wait in
  a bounded queue, then TCP pushes back); if the client leaves meanwhile the server's socket
  is reset too, unless ``hold_open`` keeps it open and silent until the stall ends;
* ``drip``: from the offset, forward that direction one byte at a time (1 ms apart) for
  ``duration_s``;
* ``delay``: hold that direction ``duration_s`` once at the offset (a delay spike).

Connection-level refusals (``refuse``) replace forwarding for a whole accepted connection:
``mode="rst"`` accepts then resets at once; ``mode="silent"`` accepts and never answers (the
socket stays open until the client gives up, or :meth:`TcpFaultProxy.stop`).

With ``echo_request_on_401`` an upstream 401 is replaced by a 401 whose body echoes the
client's request head (as some front ends do), credentials included.

Everything is bounded: every duration is capped by ``MAX_HOLD_S``, and :meth:`stop` aborts all
sockets and cancels every task. Counters: bytes per direction, connections accepted, faults
fired, client sockets still open.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["reset", "truncate", "fin", "close_frame", "stall", "drip", "delay"]
Direction = Literal["c2s", "s2c"]
RefuseMode = Literal["rst", "silent"]

#: Upper bound of any stall, drip, delay or silent refusal (seconds).
MAX_HOLD_S = 20.0
BYTE_FAULTS: tuple[FaultKind, ...] = (
    "reset",
    "truncate",
    "fin",
    "close_frame",
    "stall",
    "drip",
    "delay",
)
CLOSE_CODES = (1000, 1001, 1011)
#: Random schedules leave the first connection's upgrade and setup alone (past both).
FIRST_CONNECTION_MIN_BYTE = 4096
_DRIP_SLEEP_S = 0.001
_READ_SIZE = 65536
_QUEUE_CHUNKS = 4  # at most 256 KiB queued per direction


@dataclass(frozen=True)
class TcpFault:
    """One byte-offset fault on one direction of one connection."""

    kind: FaultKind
    direction: Direction
    at_byte: int
    duration_s: float = 0.0
    code: int = 1000
    reason: str = ""
    hold_open: bool = False

    def __post_init__(self) -> None:
        if self.kind not in BYTE_FAULTS:
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.direction not in ("c2s", "s2c"):
            raise ValueError(f"unknown direction {self.direction!r}")
        if self.kind == "close_frame" and self.direction != "s2c":
            raise ValueError("close frames are injected server-to-client only")
        if self.at_byte < 0 or not 0 <= self.duration_s <= MAX_HOLD_S:
            raise ValueError("at_byte must be >= 0 and duration_s within [0, MAX_HOLD_S]")
        if len(self.reason.encode()) > 123:
            raise ValueError("a close reason holds at most 123 bytes")

    def label(self) -> str:
        extra = f" {self.code}" if self.kind == "close_frame" else ""
        if self.kind in ("stall", "drip", "delay"):
            extra = f" {self.duration_s:.2f}s"
        if self.hold_open:
            extra += " hold-open"
        return f"{self.kind}{extra} {self.direction}@{self.at_byte}"


@dataclass(frozen=True)
class Refusal:
    """Refuse one accepted connection: reset it at once, or accept it and never answer."""

    mode: RefuseMode

    def label(self) -> str:
        return f"refuse {self.mode}"


@dataclass
class ProxySchedule:
    """Faults per accepted connection (0 = first). ``refuse_from`` refuses every connection
    from that index on (the service stays unreachable)."""

    faults: dict[int, list[TcpFault]] = field(default_factory=dict)
    refusals: dict[int, Refusal] = field(default_factory=dict)
    refuse_from: int | None = None
    refuse_from_mode: RefuseMode = "rst"

    def add(self, fault: TcpFault, *, connection: int) -> ProxySchedule:
        self.faults.setdefault(connection, []).append(fault)
        return self

    def refuse(self, connections: Iterable[int], mode: RefuseMode = "rst") -> ProxySchedule:
        for index in connections:
            self.refusals[index] = Refusal(mode)
        return self

    def refusal_for(self, connection: int) -> Refusal | None:
        if self.refuse_from is not None and connection >= self.refuse_from:
            return Refusal(self.refuse_from_mode)
        return self.refusals.get(connection)

    def for_connection(self, connection: int) -> list[TcpFault]:
        return sorted(self.faults.get(connection, []), key=lambda f: f.at_byte)

    def describe(self) -> str:
        parts = []
        for index in sorted({*self.faults, *self.refusals}):
            refusal = self.refusals.get(index)
            labels = [refusal.label()] if refusal else []
            labels += [f.label() for f in self.for_connection(index)]
            parts.append(f"#{index}: {', '.join(labels)}")
        if self.refuse_from is not None:
            parts.append(f"#{self.refuse_from}+: refuse {self.refuse_from_mode}")
        return "; ".join(parts) or "no faults"


@dataclass
class FiredFault:
    connection: int
    label: str
    t: float = field(default_factory=time.monotonic)


class _FrameBoundaries:
    """Finds WebSocket frame boundaries in the server-to-client byte stream (RFC 6455 §5.2).

    The stream starts with the HTTP upgrade response; frames follow its blank line."""

    def __init__(self) -> None:
        self.in_http = True
        self._http_tail = b""
        self._header = bytearray()
        self._payload_left = 0
        self.at_boundary = False  # True between frames (after the HTTP response)

    def feed(self, data: bytes) -> Iterator[int]:
        """Yield each offset within ``data`` where a new frame starts (or the stream is
        between frames), in order, including ``len(data)`` when it ends on a boundary."""
        i, n = 0, len(data)
        if self.in_http:
            buf = self._http_tail + data
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self._http_tail = buf[-3:]
                return
            i = end + 4 - len(self._http_tail)
            self.in_http = False
            self.at_boundary = True
            yield i
        while i < n:
            if self._payload_left:
                step = min(self._payload_left, n - i)
                self._payload_left -= step
                i += step
                if not self._payload_left:
                    self.at_boundary = True
                    yield i
                continue
            self.at_boundary = False
            self._header.append(data[i])
            i += 1
            need = self._header_size()
            if need is not None and len(self._header) == need:
                self._payload_left = self._payload_size()
                self._header.clear()
                if not self._payload_left:
                    self.at_boundary = True
                    yield i

    def _header_size(self) -> int | None:
        h = self._header
        if len(h) < 2:
            return None
        size = 2 + (4 if h[1] & 0x80 else 0)
        short = h[1] & 0x7F
        return size + (2 if short == 126 else 8 if short == 127 else 0)

    def _payload_size(self) -> int:
        h = self._header
        short = h[1] & 0x7F
        if short == 126:
            return int(struct.unpack("!H", h[2:4])[0])
        if short == 127:
            return int(struct.unpack("!Q", h[2:10])[0])
        return short


def close_frame(code: int, reason: str) -> bytes:
    """An unmasked (server) WebSocket close frame."""
    payload = struct.pack("!H", code) + reason.encode()
    return bytes([0x88, len(payload)]) + payload


def _rst(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class _Conn:
    """One proxied connection: per direction a reader task filling a bounded queue and a
    forwarder applying the faults; both forwarders share a stall gate."""

    def __init__(
        self,
        proxy: TcpFaultProxy,
        index: int,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        faults: list[TcpFault],
    ) -> None:
        self.proxy = proxy
        self.index = index
        self.client_r, self.client_w = client
        self.up_r, self.up_w = upstream
        self.pending = {d: [f for f in faults if f.direction == d] for d in ("c2s", "s2c")}
        self.pos = {"c2s": 0, "s2c": 0}
        # Chunks read but not forwarded (None: the source reset, b"": it sent EOF). Bounded:
        # a stall still pushes back on the sender once this much is queued.
        self.queues: dict[str, asyncio.Queue[bytes | None]] = {
            "c2s": asyncio.Queue(),
            "s2c": asyncio.Queue(),
        }
        self.taken = {"c2s": asyncio.Event(), "s2c": asyncio.Event()}
        # During a stall that is not hold_open the client's bytes are read without bound, so
        # that its leaving is seen at once.
        self.watch_client = False
        self.client_gone = asyncio.Event()
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.drip_until = {"c2s": 0.0, "s2c": 0.0}
        self.frames = _FrameBoundaries()
        self.injected_close: TcpFault | None = None
        self.request_head = b""

    def _echo_401(self, writer: asyncio.StreamWriter) -> None:
        """Answer the upgrade with a 401 whose body echoes the request, headers included (as
        some front ends do): the client must not let the credential out of its error."""
        self.proxy.fired.append(FiredFault(self.index, "echo 401"))
        body = b"Unauthorized request:\n" + self.request_head.split(b"\r\n\r\n")[0]
        writer.write(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
        )
        writer.close()
        self.up_w.close()

    def fire(self, fault: TcpFault) -> None:
        self.proxy.fired.append(FiredFault(self.index, fault.label()))

    def reset(self) -> None:
        _rst(self.client_w)
        _rst(self.up_w)

    async def stall(self, fault: TcpFault) -> None:
        """Forward nothing either way for ``duration_s``. If the client leaves meanwhile, the
        server sees it go (RST) unless ``hold_open``: then the server's socket stays open and
        silent until the stall ends."""
        self.flowing.clear()
        try:
            if fault.hold_open:
                await asyncio.sleep(fault.duration_s)
                return
            self.watch_client = True
            self.taken["c2s"].set()  # wake the reader if it waits for room
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.client_gone.wait(), fault.duration_s)
                _rst(self.up_w)
        finally:
            self.watch_client = False
            self.flowing.set()

    async def _take(self, direction: Direction) -> bytes | None:
        data = await self.queues[direction].get()
        self.taken[direction].set()
        return data

    async def read(self, direction: Direction) -> None:
        reader = self.client_r if direction == "c2s" else self.up_r
        queue = self.queues[direction]
        end: bytes | None = b""
        try:
            while data := await reader.read(_READ_SIZE):
                queue.put_nowait(data)
                while queue.qsize() >= _QUEUE_CHUNKS and not (
                    direction == "c2s" and self.watch_client
                ):
                    self.taken[direction].clear()
                    await self.taken[direction].wait()
        except (ConnectionError, OSError):
            end = None
        if direction == "c2s":
            self.client_gone.set()
        queue.put_nowait(end)

    async def pump(self, direction: Direction) -> None:
        writer = self.up_w if direction == "c2s" else self.client_w
        loop = asyncio.get_running_loop()
        try:
            while data := await self._take(direction):
                if not await self._forward(direction, data, writer, loop):
                    return
            if data is None:  # the source reset: so does the proxy, both ways
                self.reset()
                return
            # EOF from the source: pass it on (the other direction keeps going).
            await self.flowing.wait()
            with contextlib.suppress(OSError, RuntimeError):
                if writer.can_write_eof() and not writer.is_closing():
                    writer.write_eof()
        except (ConnectionError, OSError):
            self.reset()

    async def _forward(
        self,
        direction: Direction,
        data: bytes,
        writer: asyncio.StreamWriter,
        loop: asyncio.AbstractEventLoop,
    ) -> bool:
        """Forward one chunk, firing the faults that fall in it; False: stop this pump."""
        start = self.pos[direction]
        self.pos[direction] += len(data)
        boundaries: list[int] = []
        if direction == "c2s" and len(self.request_head) < 8192:
            self.request_head += data[: 8192 - len(self.request_head)]
        if direction == "s2c":
            if start == 0 and self.proxy.echo_request_on_401 and data.startswith(b"HTTP/1.1 401"):
                self._echo_401(writer)
                return False
            self.proxy.bytes_s2c += len(data)
            if self.injected_close is not None:
                return True  # after an injected close frame the server's bytes are dropped
            boundaries = list(self.frames.feed(data))
        else:
            self.proxy.bytes_c2s += len(data)
        pending = self.pending[direction]
        offset = 0
        while pending and pending[0].at_byte < start + len(data):
            fault = pending[0]
            cut = max(0, fault.at_byte - start)
            if fault.kind == "close_frame":
                later = [b for b in boundaries if b >= max(cut, offset)]
                if not later:
                    break  # no boundary in this chunk: try the next one
                cut = later[0]
            pending.pop(0)
            await self._write(direction, data[offset:cut], writer, loop)
            offset = cut
            self.fire(fault)
            if fault.kind == "reset":
                self.reset()
                return False
            if fault.kind == "truncate":
                self.client_w.close()
                self.up_w.close()
                return False
            if fault.kind == "fin":
                with contextlib.suppress(OSError, RuntimeError):
                    writer.write_eof()
                await self._drain(direction)
                return False
            if fault.kind == "close_frame":
                self.injected_close = fault
                writer.write(close_frame(fault.code, fault.reason))
                return True
            if fault.kind == "stall":
                await self.stall(fault)
            elif fault.kind == "delay":
                await asyncio.sleep(fault.duration_s)
            elif fault.kind == "drip":
                self.drip_until[direction] = loop.time() + fault.duration_s
        await self._write(direction, data[offset:], writer, loop)
        return True

    async def _drain(self, direction: Direction) -> None:
        """After a FIN on ``direction``: drop what that direction still sends."""
        while await self._take(direction):
            pass

    async def _write(
        self,
        direction: Direction,
        data: bytes,
        writer: asyncio.StreamWriter,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        if not data:
            return
        await self.flowing.wait()
        if loop.time() < self.drip_until[direction]:
            for i in range(len(data)):
                if loop.time() >= self.drip_until[direction]:
                    writer.write(data[i:])
                    break
                writer.write(data[i : i + 1])
                await writer.drain()
                await asyncio.sleep(_DRIP_SLEEP_S)
                await self.flowing.wait()
        else:
            writer.write(data)
        await writer.drain()


class TcpFaultProxy:
    """The proxy. Use as ``async with TcpFaultProxy(port, schedule) as proxy``; connect the
    client to ``proxy.base_url``.

    ``echo_request_on_401``: answer an upstream 401 with a 401 whose body echoes the client's
    request head (credentials included). ``client_rcvbuf``: ``SO_RCVBUF`` of accepted sockets.
    """

    def __init__(
        self,
        upstream_port: int,
        schedule: ProxySchedule | None = None,
        *,
        upstream_host: str = "127.0.0.1",
        echo_request_on_401: bool = False,
        client_rcvbuf: int | None = None,
    ) -> None:
        if upstream_host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the fault proxy forwards to loopback only")
        self.upstream = (upstream_host, upstream_port)
        self.schedule = schedule or ProxySchedule()
        self.echo_request_on_401 = echo_request_on_401
        self.client_rcvbuf = client_rcvbuf
        self.port = 0
        self.connections = 0
        self.refused = 0
        self.bytes_c2s = 0
        self.bytes_s2c = 0
        self.fired: list[FiredFault] = []
        self.open_client_sockets = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._changed = asyncio.Event()

    @property
    def base_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def faults_fired(self) -> int:
        return len(self.fired)

    async def start(self) -> TcpFaultProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aenter__(self) -> TcpFaultProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Stop listening, reset every socket, cancel every task (bounded)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2.0)
        if server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 2.0)

    async def wait_client_sockets_closed(self, timeout_s: float) -> bool:
        """Wait until every client socket the proxy accepted is closed; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.open_client_sockets:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return True

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.open_client_sockets += 1
        sock = writer.get_extra_info("socket")
        if self.client_rcvbuf is not None and sock is not None:
            # A small receive buffer: a stall pushes back on the client's sends quickly.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.client_rcvbuf)
        index = self.connections
        self.connections += 1
        try:
            await self._serve(index, reader, writer)
        except asyncio.CancelledError:
            # Only stop() cancels these tasks, and nothing awaits them: asyncio's streams
            # would log a cancelled connection handler as an error.
            pass
        finally:
            writer.transport.abort()
            self._writers.discard(writer)
            self.open_client_sockets -= 1
            self._changed.set()
            self._tasks.discard(task)

    async def _serve(
        self, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        refusal = self.schedule.refusal_for(index)
        if refusal is not None:
            self.refused += 1
            self.fired.append(FiredFault(index, refusal.label()))
            if refusal.mode == "rst":
                _rst(writer)
                return
            # Accept and never answer: wait (bounded) until the client gives up.
            with contextlib.suppress(asyncio.TimeoutError, ConnectionError, OSError):
                await asyncio.wait_for(_read_until_eof(reader), MAX_HOLD_S)
            return
        try:
            up_r, up_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            _rst(writer)
            return
        self._writers.add(up_w)
        conn = _Conn(
            self, index, (reader, writer), (up_r, up_w), self.schedule.for_connection(index)
        )
        readers = [asyncio.ensure_future(conn.read(d)) for d in ("c2s", "s2c")]
        pumps = [asyncio.ensure_future(conn.pump(d)) for d in ("c2s", "s2c")]
        try:
            # Both directions forwarded to their end (EOF, reset or a fault that ends them).
            await asyncio.gather(*pumps)
        finally:
            pumps += readers
            for pump in pumps:
                pump.cancel()
            await asyncio.wait(pumps, timeout=2.0)
            self._writers.discard(up_w)
            up_w.transport.abort()


async def _read_until_eof(reader: asyncio.StreamReader) -> None:
    while await reader.read(_READ_SIZE):
        pass


def random_schedule(
    seed: int,
    *,
    connections: int = 6,
    probability: float = 0.9,
    max_c2s_byte: int = 200_000,
    max_s2c_byte: int = 200_000,
    max_stall_s: float = 3.0,
    refuse_probability: float = 0.15,
    max_refused: int = 2,
    outage_probability: float = 0.05,
) -> ProxySchedule:
    """A reproducible schedule: each connection likely meets a byte fault or two; some reconnects
    are refused (``max_refused`` in a row at most); rarely, the service becomes unreachable
    for good from some connection on (``refuse_from``)."""
    rng = random.Random(seed)
    schedule = ProxySchedule()
    index = 0
    while index < connections:
        if index > 0 and rng.random() < refuse_probability:
            count = rng.randint(1, max_refused)
            schedule.refuse(range(index, index + count), rng.choice(("rst", "silent")))
            index += count
        # Up to two faults per connection: a timing fault often leaves the connection alive.
        for chance in (probability, probability / 2):
            if rng.random() < chance:
                # The first connection is the user's open(): faults start after its setup.
                low = FIRST_CONNECTION_MIN_BYTE if index == 0 else 0
                fault = _random_fault(rng, low, max_c2s_byte, max_s2c_byte, max_stall_s)
                schedule.add(fault, connection=index)
        index += 1
    if rng.random() < outage_probability:
        schedule.refuse_from = rng.randint(1, 3)
        schedule.refuse_from_mode = rng.choice(("rst", "silent"))
    return schedule


def _random_fault(
    rng: random.Random, low: int, max_c2s_byte: int, max_s2c_byte: int, max_stall_s: float
) -> TcpFault:
    kind = rng.choice(BYTE_FAULTS)
    direction: Direction = "s2c" if kind == "close_frame" else rng.choice(("c2s", "s2c"))
    limit = max_c2s_byte if direction == "c2s" else max_s2c_byte
    duration = 0.0
    if kind == "stall":
        duration = rng.uniform(0.2, max_stall_s)
    elif kind == "drip":
        duration = rng.uniform(0.05, 0.5)
    elif kind == "delay":
        duration = rng.uniform(0.05, 1.0)
    code = rng.choice(CLOSE_CODES)
    reason = {1000: "", 1001: "going away", 1011: "Internal error occurred."}[code]
    return TcpFault(kind, direction, rng.randrange(low, limit), duration, code, reason)
