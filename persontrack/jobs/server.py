"""``persontrack serve``: Rekognition's own wire protocol over HTTP, for any AWS SDK or the CLI.

An ASGI application (Starlette, served by uvicorn) answering the AWS JSON 1.1 protocol as
Rekognition does: ``POST /`` with ``X-Amz-Target: RekognitionService.StartPersonTracking``
or ``…GetPersonTracking`` and a JSON body. Every request must carry a valid AWS Signature
Version 4 for service ``rekognition`` (any region) made with one of the server's access
keys (:mod:`._sigv4`); nothing is started or read before that. Job semantics (validation,
idempotency, paging, notifications, errors) are those of
:class:`~persontrack.jobs.client.PersonTrackingClient`, whose public methods the server
calls in a pool of threads, in one or more worker processes sharing the listening socket
(:func:`serve`'s ``workers``).

Errors are sent as AWS sends them: HTTP status, ``x-amzn-ErrorType`` header and a JSON body
``{"__type": Code, "Code": Code, "Message": …}``, so boto3's ``e.response["Error"]["Code"]``
and the AWS CLI's ``An error occurred (Code)`` show Rekognition's names. HTTP statuses are
those of the Rekognition API reference: 500 for ``InternalServerError`` and
``ThrottlingException`` (so SDKs retry them), 400 for the other Rekognition errors
(including ``AccessDeniedException``, which the in-process client reports as 403). The
protocol's own errors: ``UnknownOperationException`` (bad target), ``SerializationException``
(body not a JSON object), ``RequestEntityTooLargeException`` (413),
``RequestTimeoutException`` (408, body too slow), and the authentication errors with 403.

Left out of the protocol: query-string (presigned) authentication, SigV4a, temporary
credentials (session tokens), ``Content-Encoding`` request compression, CBOR/RPCv2, and
Rekognition's other operations (answered ``UnknownOperationException``). Over the wire
``NotificationChannel`` is Rekognition's ``{SNSTopicArn, RoleArn}`` only (the client's
webhook-URL and callable forms are for local use). Responses keep persontrack's extension
fields (``FrameNumber``, ``BodyLandmarks``…); AWS SDKs ignore members their model lacks.

Examples
--------
>>> import tempfile
>>> from persontrack.jobs.client import client
>>> rek = client(data_dir=tempfile.mkdtemp(), bucket_root=tempfile.mkdtemp())
>>> app = create_app(rek, {"AKIDEXAMPLE": "secret"}, limits=Limits(threads=4))
>>> [(r.path, sorted(r.methods)) for r in app.routes]
[('/', ['POST']), ('/health', ['GET', 'HEAD'])]
>>> rek.close()

Run it with ``persontrack serve`` (see :func:`serve`); ``tests/jobs/test_server.py`` drives it
with boto3, the AWS CLI and raw HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import json
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._checks import is_number
from .._version import __version__
from ..errors import InvalidParameterException, PersonTrackError
from . import _http, _sigv4
from ._keys import load_access_keys
from .client import PersonTrackingClient

__all__ = ["Limits", "create_app", "default_workers", "load_access_keys", "serve"]

SERVICE = "rekognition"
TARGET_PREFIX = "RekognitionService."
CONTENT_TYPE = "application/x-amz-json-1.1"
SIGNED_HEADERS = ("content-type", "x-amz-target")
"""Headers a request must sign when it carries them: the target names the operation, so an
unsigned one could turn a signed GetPersonTracking into a StartPersonTracking (every AWS
SDK and the CLI sign both)."""
MAX_JSON_DEPTH = 16
"""Deepest nesting of arrays/objects in a request body (StartPersonTracking's deepest member,
``Video.S3Object.Bucket``, is 3 levels down). A body nested deeper (``[`` x 30000 made
``json.loads`` raise RecursionError) is a 400 SerializationException."""

# Rekognition API reference, "Errors" of StartPersonTracking/GetPersonTracking.
_HTTP_STATUS = {"InternalServerError": 500, "ThrottlingException": 500}

log = logging.getLogger("persontrack.serve")


@dataclass(frozen=True)
class Limits:
    """What keeps the service up under load and abuse.

    Parameters
    ----------
    max_body_bytes : int, default 65536
        Largest request body. A StartPersonTracking with every field at the maximum length
        of botocore's model (Bucket 255, Name/Version/JobTag 1024 characters, a 2048-
        character IAM role ARN) is about 6 KB, a few times that with JSON ``\\u``
        escapes; 64 KiB leaves room and stops memory abuse. Larger: 413
        ``RequestEntityTooLargeException``.
    max_concurrent_requests : int, default 64
        Requests being read, verified or answered at once; one more is answered
        ``ThrottlingException`` (HTTP 500, which SDKs retry with back-off) at once. Four
        times the 16 concurrent clients of ``benchmarks/serve_paging.py``, which ran with
        no such error; a page of 1000 holds ~0.3 MB while it is encoded, so 64 bound the
        memory of answers in progress to ~20 MB. The whole service's: :func:`serve`
        shares it out among its worker processes.
    threads : int, default 8
        Threads calling the jobs client in each server process (store reads are SQLite
        queries that release the GIL, a page's in one step); requests beyond this wait in
        a queue within ``request_timeout``. 2 instead of 8 made no difference with 16
        clients paging (``benchmarks/serve_paging.py``, 1.6-1.8 ms of server CPU per page
        and p99 74-90 ms either way, measured under load on 2 cores).
    body_timeout : float, default 10
        Seconds to receive the whole body; slower: 408 ``RequestTimeoutException``.
    request_timeout : float, default 60
        Seconds a request may take in the jobs client (queue included); longer:
        ``InternalServerError`` (a start may still complete: a retry with the same
        ``ClientRequestToken`` returns that job).
    keep_alive : float, default 5
        The idle timeout: seconds a connection may go without sending a whole request
        head (request line and headers), from when it opens or from its last answer; then
        it is closed. Silent or trickling connections (slowloris) are closed so, not held
        (:mod:`._http`). AWS SDKs send a request head at once (well under 10 ms here).
    max_connections : int, default 2048
        Open connections per server process; a request arriving past it is answered a
        bare 503. An idle connection costs ~4.6 KiB of the server's memory
        (``benchmarks/serve_idle.py``: 2000 held, half with an unfinished request head, a
        signed request answered meanwhile in 12 ms): 2048 are ~10 MB, and an attacker
        must open ~400 per second per process to keep them all taken.
    graceful_shutdown : float, default 10
        Seconds requests in progress get to finish on SIGTERM/SIGINT.
    """

    max_body_bytes: int = 65536
    max_concurrent_requests: int = 64
    threads: int = 8
    body_timeout: float = 10.0
    request_timeout: float = 60.0
    keep_alive: float = 5.0
    max_connections: int = 2048
    graceful_shutdown: float = 10.0

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not is_number(value) or value <= 0:
                raise InvalidParameterException(f"{name} must be a number > 0, got {value!r}")


class _Reject(Exception):
    """A protocol-level error answered before (or instead of) the jobs client."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _error(
    code: str, message: str, status: int, request_id: str, *, capital: bool = True
) -> Response:
    body: dict[str, Any] = {"__type": code}
    if capital:  # Rekognition's own errors: Code/Logref/Message
        body.update(Code=code, Logref=request_id, Message=message)
    else:  # the AWS front end's errors: lower-case message
        body["message"] = message
    return Response(
        json.dumps(body),
        status_code=status,
        media_type=CONTENT_TYPE,
        headers={"x-amzn-RequestId": request_id, "x-amzn-ErrorType": code},
    )


def _too_deep(value: Any, levels: int) -> bool:
    """Whether ``value`` (parsed JSON) nests more than ``levels`` arrays/objects deep."""
    if not isinstance(value, (dict, list)):
        return False
    if levels == 0:
        return True
    items = value.values() if isinstance(value, dict) else value
    return any(_too_deep(v, levels - 1) for v in items)


def _body_json(response: dict[str, Any]) -> str:
    """A client response as a wire body: compact JSON without ``ResponseMetadata``."""
    return json.dumps(
        {k: v for k, v in response.items() if k != "ResponseMetadata"}, separators=(",", ":")
    )


class _App:
    """The request handler and its state (client, keys, limits, thread pool)."""

    def __init__(
        self, client: PersonTrackingClient, keys: Mapping[str, str], limits: Limits
    ) -> None:
        if not keys:
            raise ValueError("the server needs at least one access key")
        self.client = client
        self.keys = dict(keys)
        self.limits = limits
        self.in_flight = 0
        self.started = time.time()
        self.pool: ThreadPoolExecutor | None = None
        # each returns the response body's JSON text (a page is spliced from stored JSON)
        self.operations: dict[str, Callable[..., str]] = {
            "StartPersonTracking": lambda **kw: _body_json(client.start_person_tracking(**kw)),
            "GetPersonTracking": client.get_person_tracking_json,
        }

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.pool = ThreadPoolExecutor(self.limits.threads, thread_name_prefix="persontrack-api")
        try:
            yield
        finally:
            pool, self.pool = self.pool, None
            await asyncio.get_running_loop().run_in_executor(None, pool.shutdown)

    async def health(self, request: Request) -> Response:
        body = {
            "status": "ok",
            "version": __version__,
            "pid": os.getpid(),
            "uptime_seconds": round(time.time() - self.started, 1),
            "requests_in_flight": self.in_flight,
            "max_concurrent_requests": self.limits.max_concurrent_requests,
        }
        return Response(json.dumps(body), media_type="application/json")

    async def not_found(self, request: Request, exc: Exception) -> Response:
        request_id = str(uuid.uuid4())
        return _error(
            "UnknownOperationException",
            f"{request.method} {request.url.path}: the API is POST / (AWS JSON 1.1); "
            "GET /health reports the service's state",
            404,
            request_id,
            capital=False,
        )

    async def rpc(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        if self.in_flight >= self.limits.max_concurrent_requests:
            return _error(
                "ThrottlingException",
                f"more than {self.limits.max_concurrent_requests} requests at once; retry",
                500,
                request_id,
            )
        self.in_flight += 1
        try:
            return await self._rpc(request, request_id)
        except _Reject as e:
            return _error(e.code, e.message, e.status, request_id, capital=False)
        except _sigv4.AuthError as e:
            return _error(e.code, e.message, 403, request_id, capital=False)
        except PersonTrackError as e:
            code = e.response["Error"]["Code"]
            status = _HTTP_STATUS.get(code, 400)
            return _error(code, e.message, status, request_id)
        except Exception:
            log.exception("request %s failed", request_id)
            return _error(
                "InternalServerError",
                f"persontrack failed internally (request {request_id}); retry",
                500,
                request_id,
            )
        finally:
            self.in_flight -= 1

    async def _rpc(self, request: Request, request_id: str) -> Response:
        body = await self._body(request)
        scope = request.scope
        signed = _sigv4.SignedRequest(
            method=request.method,
            path=scope.get("raw_path", scope["path"].encode()).decode("latin-1"),
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
            body=body,
        )
        _sigv4.verify(signed, self.keys, service=SERVICE, must_sign=SIGNED_HEADERS)
        target = request.headers.get("x-amz-target", "")
        operation = self.operations.get(target.removeprefix(TARGET_PREFIX))
        if not target.startswith(TARGET_PREFIX) or operation is None:
            raise _Reject("UnknownOperationException", f"Unknown operation {target[:100]!r}")
        try:
            params = json.loads(body) if body.strip() else {}
        except (ValueError, UnicodeDecodeError) as e:
            raise _Reject("SerializationException", f"the body is not valid JSON: {e}") from None
        except RecursionError:  # bad input, not a failure of ours (SDKs retry a 500)
            params = too_deep = True
        else:
            too_deep = _too_deep(params, MAX_JSON_DEPTH)
        if too_deep:
            raise _Reject(
                "SerializationException",
                f"the body's JSON nests deeper than {MAX_JSON_DEPTH} levels",
            )
        if not isinstance(params, dict):
            raise _Reject(
                "SerializationException",
                f"the body must be a JSON object, got {type(params).__name__}",
            )
        channel = params.get("NotificationChannel")
        if "NotificationChannel" in params and not isinstance(channel, dict):
            raise InvalidParameterException(
                "NotificationChannel must be an object {SNSTopicArn, RoleArn}", target
            )
        assert self.pool is not None, "the app runs inside its lifespan"

        def call() -> str:  # in a pool thread: the store query would hold up the event loop
            return operation(**params)

        future = asyncio.get_running_loop().run_in_executor(self.pool, call)
        try:
            text = await asyncio.wait_for(future, self.limits.request_timeout)
        except asyncio.TimeoutError:
            raise _Reject(
                "InternalServerError",
                f"no answer within {self.limits.request_timeout:g} s; retry (a start with "
                "the same ClientRequestToken returns the same job)",
                500,
            ) from None
        return Response(
            text,
            media_type=CONTENT_TYPE,
            headers={"x-amzn-RequestId": request_id},
        )

    async def _body(self, request: Request) -> bytes:
        limit = self.limits.max_body_bytes
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            raise _Reject(
                "RequestEntityTooLargeException",
                f"the request body is larger than {limit} bytes",
                413,
            )

        async def read() -> bytes:
            chunks, size = [], 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _Reject(
                        "RequestEntityTooLargeException",
                        f"the request body is larger than {limit} bytes",
                        413,
                    )
                chunks.append(chunk)
            return b"".join(chunks)

        try:
            return await asyncio.wait_for(read(), self.limits.body_timeout)
        except asyncio.TimeoutError:
            raise _Reject(
                "RequestTimeoutException",
                f"the request body did not arrive within {self.limits.body_timeout:g} s",
                408,
            ) from None


def create_app(
    client: PersonTrackingClient,
    keys: Mapping[str, str],
    *,
    limits: Limits | None = None,
) -> Starlette:
    """The ASGI application of the Rekognition endpoint.

    Parameters
    ----------
    client : PersonTrackingClient
        Runs the jobs; its options (data dir, buckets, tracker, limits) are the service's.
    keys : mapping of str to str
        Secret access key by access key id: the keys whose signatures are accepted.
    limits : Limits, optional
        Body size, concurrency and time limits (default :class:`Limits`).

    Returns
    -------
    starlette.applications.Starlette
    """
    handler = _App(client, keys, limits or Limits())
    return Starlette(
        routes=[
            Route("/", handler.rpc, methods=["POST"]),
            Route("/health", handler.health, methods=["GET"]),
        ],
        exception_handlers={404: handler.not_found, 405: handler.not_found},
        lifespan=handler.lifespan,
    )


# -- running ------------------------------------------------------------------------------


def default_workers() -> int:
    """Worker processes of :func:`serve` by default: one per CPU this process may use.

    Examples
    --------
    >>> default_workers() >= 1
    True
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def serve(
    client: PersonTrackingClient,
    keys: Mapping[str, str],
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    limits: Limits | None = None,
    workers: int = 1,
    access_log: bool = False,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the endpoint until SIGTERM or SIGINT, then drain requests and return.

    Parameters
    ----------
    client : PersonTrackingClient
        The jobs client (closed by the caller afterwards; jobs in flight keep running in
        their workers and are answered again by the next server on the same data dir).
    keys : mapping of str to str
        Secret access key by access key id.
    host, port : str, int
        Where to listen (``port=0``: any free port).
    limits : Limits, optional
        See :class:`Limits`. ``max_concurrent_requests`` is the whole service's, shared
        out among the workers.
    workers : int, default 1
        Processes answering requests on the one listening socket (at most
        ``max_concurrent_requests``). Each is a fork of this process with the same
        client, keys and limits, its own event loop, threads and store connections. One
        Python process runs its requests' Python code on one core at a time (the GIL);
        one process per core lets the server use every core when its clients are on other
        machines. The jobs are in the store, so any worker answers for any job. This
        process only watches them: it starts another if one dies, and on SIGTERM/SIGINT
        lets each drain its requests (``graceful_shutdown``). A client with
        ``max_requests_per_second`` needs ``workers=1`` (the rate is counted in-process).
    access_log : bool, default False
        Log one line per request (uvicorn's access log).
    on_ready : callable, optional
        Called with the base URL once the socket listens and every worker answers.
    """
    limits = limits or Limits()
    if not is_number(workers, int) or workers < 1:
        raise InvalidParameterException(f"workers must be an integer >= 1, got {workers!r}")
    workers = min(workers, limits.max_concurrent_requests)
    if workers > 1 and client.max_requests_per_second is not None:
        raise InvalidParameterException(
            "max_requests_per_second is counted in one process: serve it with workers=1"
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise InvalidParameterException(f"cannot listen on {host}:{port}: {e}") from e
    sock.listen(2048)
    sock.set_inheritable(True)
    bound = sock.getsockname()[1]
    url = f"http://{'[' + host + ']' if family == socket.AF_INET6 else host}:{bound}"
    ready = None if on_ready is None else functools.partial(on_ready, url)
    try:
        if workers == 1:
            _run(client, keys, sock, limits, access_log=access_log, on_ready=ready)
        else:
            _Supervisor(client, keys, sock, limits, workers, access_log).run(ready)
    finally:
        sock.close()


def _run(
    client: PersonTrackingClient,
    keys: Mapping[str, str],
    sock: socket.socket,
    limits: Limits,
    *,
    access_log: bool,
    on_ready: Callable[[], None] | None = None,
    parent: int | None = None,
) -> None:
    """Answer requests on ``sock`` in this process until SIGTERM/SIGINT (or, in a worker,
    until the process ``parent`` is gone)."""
    import uvicorn

    app = create_app(client, keys, limits=limits)
    config = uvicorn.Config(
        app,
        log_level="info" if access_log else "warning",
        access_log=access_log,
        http=_http.protocol(limits.keep_alive),  # the idle timeout (uvicorn has none)
        timeout_keep_alive=max(1, int(limits.keep_alive)),
        timeout_graceful_shutdown=int(limits.graceful_shutdown),
        # counts connections, idle ones too: uvicorn answers a bare 503 past it
        limit_concurrency=max(limits.max_connections, limits.max_concurrent_requests),
        server_header=False,
        lifespan="on",
    )
    config.load()  # import the protocol modules now, not at the first request
    server = uvicorn.Server(config)

    async def orphaned() -> None:
        while os.getppid() == parent:
            await asyncio.sleep(PARENT_POLL)
        server.should_exit = True

    async def run() -> None:
        # job runners are this process's children: collect each as it ends, not at the
        # next job check (until then it would linger as a zombie)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGCHLD, client.reap_runners)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        watch = asyncio.create_task(orphaned()) if parent is not None else None
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started and on_ready is not None:
            on_ready()
        try:
            await task
        finally:
            if watch is not None:
                watch.cancel()

    # uvicorn drains on SIGTERM/SIGINT, then re-raises the signal to the handler it found:
    # make that ours (a no-op), so the caller can close the client and exit with status 0.
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: None)
    # The ~150,000 objects the imports and the client made are not garbage. Collected now
    # they leave the young generations (whose collections during requests then take
    # < 1 ms), and frozen the collector never walks them again: a full collection of
    # them took 63 ms of CPU (measured with gc.callbacks), which would stop every request
    # in flight whenever Python decided on one.
    gc.collect()
    gc.freeze()
    try:
        asyncio.run(run())
    finally:
        gc.unfreeze()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if not server.started:
        raise RuntimeError("the server did not start (see the log above)")


PARENT_POLL = 0.5
"""Seconds between a worker's checks that the process that started it is still there
(a worker whose parent was killed stops instead of holding the port)."""
RESTART_PAUSE = 1.0
"""Seconds before a worker that died is replaced (a worker dying at once is not
restarted in a busy loop)."""
SUPERVISE_POLL = 0.1
"""Seconds between the parent's looks at its workers (a wait that signals cannot block)."""
KILL_AFTER = 5.0
"""Seconds past ``graceful_shutdown`` after which a worker that has not stopped is killed."""


class _Supervisor:
    """The parent of ``workers`` forked server processes sharing one listening socket."""

    def __init__(
        self,
        client: PersonTrackingClient,
        keys: Mapping[str, str],
        sock: socket.socket,
        limits: Limits,
        workers: int,
        access_log: bool,
    ) -> None:
        self.client, self.keys, self.sock = client, keys, sock
        self.limits, self.workers, self.access_log = limits, workers, access_log
        self.children: dict[int, int] = {}  # pid: worker number
        self.stopping = False
        self.pid = os.getpid()
        self.ready_r, self.ready_w = os.pipe()

    def share(self, number: int) -> Limits:
        """Worker ``number``'s part of the service's concurrent requests."""
        total, n = self.limits.max_concurrent_requests, self.workers
        return replace(self.limits, max_concurrent_requests=total // n + (number < total % n))

    def start(self, number: int) -> None:
        self.client.store.close()  # no SQLite connection may cross a fork
        pid = os.fork()
        if pid:
            self.children[pid] = number
            return
        status = 1
        try:
            os.setpgid(0, 0)  # a terminal's Ctrl-C goes to the parent, which passes it on
            os.close(self.ready_r)
            _run(
                self.client,
                self.keys,
                self.sock,
                self.share(number),
                access_log=self.access_log,
                on_ready=self.started,
                parent=self.pid,
            )
            status = 0
        except SystemExit as e:  # stopped before it served
            status = 0 if e.code in (0, None) else 1
        except BaseException:
            log.exception("worker %d (pid %d) failed", number, os.getpid())
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)

    def started(self) -> None:
        """In a worker: tell the parent that it answers requests."""
        os.write(self.ready_w, b".")

    def stop(self, *_: Any) -> None:
        if os.getpid() != self.pid:  # a worker's signal before uvicorn took signals over
            raise SystemExit(0)
        self.stopping = True
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def reap(self) -> list[tuple[int, int]]:
        """(worker number, wait status) of the workers that ended (job runners that this
        process's client started are reaped too, and left out)."""
        ended = []
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid in self.children:
                ended.append((self.children.pop(pid), status))
        return ended

    def run(self, on_ready: Callable[[], None] | None) -> None:
        previous = {sig: signal.signal(sig, self.stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            for number in range(self.workers):
                self.start(number)
            started = 0
            while started < self.workers and not self.stopping:
                if select.select([self.ready_r], [], [], SUPERVISE_POLL)[0]:
                    started += len(os.read(self.ready_r, self.workers))
                if self.reap():
                    self.stop()
                    self.wait()
                    raise RuntimeError("a server worker did not start (see the log above)")
            if on_ready is not None and not self.stopping:
                on_ready()
            self.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            os.close(self.ready_r)
            os.close(self.ready_w)

    def wait(self) -> None:
        """Until every worker has ended: replace those that die, and after a stop kill
        those still running ``graceful_shutdown`` + :data:`KILL_AFTER` seconds later."""
        deadline = None
        while self.children:
            for number, status in self.reap():
                if not self.stopping:
                    log.warning(
                        "worker %d ended (wait status %d); starting another", number, status
                    )
                    time.sleep(RESTART_PAUSE)
                    if not self.stopping:
                        self.start(number)
            if self.stopping and deadline is None:
                deadline = time.monotonic() + self.limits.graceful_shutdown + KILL_AFTER
            if deadline is not None and time.monotonic() > deadline:
                for pid in self.children:
                    log.warning("worker pid %d did not stop; killed", pid)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                deadline = float("inf")
            time.sleep(SUPERVISE_POLL)
