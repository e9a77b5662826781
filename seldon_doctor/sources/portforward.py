"""API-server port-forwards for the live data-plane reads (what ``kubectl port-forward`` does).

:class:`PortForwarder` relays a local port to ``pod:port``; :func:`observe_via_portforward`
runs one read through it and gives up as soon as the forward fails (the API server refused a
stream, or kubelet found nothing listening in the pod: "connection refused"), instead of
letting the read's client wait out its whole deadline on a relay that can never answer:
gRPC clients reconnect with backoff until their deadline, and ``trace`` through a pod whose
ports were closed took 24 s for exit 3 (issue 16).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

# How long a failed forward's read may take to notice its closed port (> reach.RECHECK).
READ_GRACE = 2.0


def _forward_failure(namespace: str, pod: str, port: int, exc: BaseException) -> str:
    """One line for a port-forward the API server refused (the client's message is a dump of
    the handshake: status line, headers and the Status body)."""
    text = str(getattr(exc, "reason", "") or exc)
    status = re.search(r"Handshake status (\d{3}(?: [A-Za-z]+)*)", text)
    message = re.search(r'"message"\s*:\s*"((?:[^"\\]|\\.)*)"', text)
    detail = status.group(1) if status else text.splitlines()[0] if text else type(exc).__name__
    if message:
        detail += ": " + message.group(1).replace('\\"', '"')
    return f"port-forward to {namespace}/{pod}:{port} failed: {detail}"


class PortForwarder:
    """A local port that relays to ``pod:remote_port`` through the API server.

    Each local connection gets its own stream from the kubernetes client's ``portforward``
    (``connect_get_namespaced_pod_portforward``), as ``kubectl port-forward`` does; it lands
    on the pod's loopback, so Envoy's admin bound to 127.0.0.1:9901 is reachable. The first
    stream is opened at once, so a refused port-forward (403, unknown pod, no API server) is
    :class:`DataplaneUnavailable` here, before anything waits on the port.
    """

    def __init__(self, namespace: str, pod: str, remote_port: int, *, api: Any = None) -> None:
        import socket
        import threading

        from seldon_doctor.clients.errors import DataplaneUnavailable

        try:
            from kubernetes import client as k8s_client
            from kubernetes.stream import portforward
        except ImportError:
            raise DataplaneUnavailable("the kubernetes client is not installed") from None
        self.namespace, self.pod, self.remote_port = namespace, pod, remote_port
        self._portforward = portforward
        self._core = api or k8s_client.CoreV1Api()
        self.errors: list[str] = []
        # Set on the first error: observe_via_portforward stops waiting for its read then.
        self.failed = threading.Event()
        self._stop = threading.Event()
        self._spare: Any = self._open()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self._listener.settimeout(0.2)
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _open(self) -> Any:
        from seldon_doctor.clients.errors import DataplaneUnavailable

        try:
            return self._portforward(
                self._core.connect_get_namespaced_pod_portforward,
                self.pod,
                self.namespace,
                ports=str(self.remote_port),
            )
        except Exception as exc:
            reason = _forward_failure(self.namespace, self.pod, self.remote_port, exc)
            raise DataplaneUnavailable(reason) from None

    def _accept(self) -> None:
        import threading

        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: Any) -> None:
        import socket
        import threading

        from seldon_doctor.clients.errors import DataplaneUnavailable

        forward, self._spare = self._spare, None
        try:
            forward = forward or self._open()
            remote = forward.socket(self.remote_port)
        except DataplaneUnavailable as exc:
            self._error(exc.reason)
            conn.close()
            return
        except Exception as exc:
            self._error(_forward_failure(self.namespace, self.pod, self.remote_port, exc))
            conn.close()
            return

        def pump(src: Any, dst: Any, before_eof: Callable[[], None] | None = None) -> None:
            with contextlib.suppress(OSError):
                while not self._stop.is_set():
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            if before_eof is not None:
                before_eof()
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

        def note_refusal() -> None:
            # kubelet's word on the error channel (port closed in the pod), recorded before
            # the local client sees the connection end, so the read's failure can name it.
            with contextlib.suppress(Exception):
                refused = forward.error(self.remote_port)
                if refused:
                    where = f"{self.namespace}/{self.pod}:{self.remote_port}"
                    self._error(f"port-forward to {where}: {refused}".splitlines()[0])

        back = threading.Thread(target=pump, args=(remote, conn, note_refusal), daemon=True)
        back.start()
        pump(conn, remote)
        back.join(timeout=1.0)
        conn.close()
        with contextlib.suppress(Exception):
            forward.close()

    def _error(self, reason: str) -> None:
        self.errors.append(reason)
        self.failed.set()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        spare, self._spare = self._spare, None
        if spare is not None:
            with contextlib.suppress(Exception):
                spare.close()

    def __enter__(self) -> PortForwarder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def forwarded_port(namespace: str, pod: str, port: int, api: Any = None) -> Iterator[str]:
    """``127.0.0.1:P`` relayed to ``pod:port`` through the API server while the block runs.

    Raises:
        DataplaneUnavailable: the API server refused the port-forward.
    """
    with PortForwarder(namespace, pod, port, api=api) as forwarder:
        yield forwarder.address


def observe_via_portforward(
    namespace: str, pod: str, remote_port: int, read: Callable[[str], T], *, api: Any = None
) -> T:
    """Relay a local port to ``pod:remote_port`` through the API server and call ``read``.

    ``read`` gets a local address (``127.0.0.1:<port>``), see :class:`PortForwarder`, and runs
    in its own thread; the relay stops when it returns. A failed forward (a stream the API
    server refused, kubelet's "connection refused") is :class:`DataplaneUnavailable` with the
    forward's reason at once, whatever ``read``'s client is still waiting for: the local port
    is closed, so the client ends within its next reachability check, and its result is
    ignored. Live mode (``observe_live``) calls this per Envoy pod with port 9901 and per
    scheduler pod with 9004 and 9002.
    """
    from seldon_doctor.clients.errors import DataplaneUnavailable

    with PortForwarder(namespace, pod, remote_port, api=api) as forwarder:
        results: list[T] = []
        errors: list[BaseException] = []
        wake = forwarder.failed

        def run() -> None:
            try:
                results.append(read(forwarder.address))
            except BaseException as exc:  # handed to the caller's thread below
                errors.append(exc)
            finally:
                wake.set()

        reader = threading.Thread(target=run, daemon=True, name=f"read {namespace}/{pod}")
        reader.start()
        wake.wait()
        if not results and not errors:
            # The relay failed first: closing its port ends the read's client within a
            # reachability check (clients/reach.py) instead of by its deadline.
            forwarder.close()
            reader.join(timeout=READ_GRACE)
        if results:
            return results[0]
        if forwarder.errors and not (errors and not isinstance(errors[0], DataplaneUnavailable)):
            # The forward's own reason (kubelet's, the API server's) says more than the
            # dropped connection the read's client saw.
            raise DataplaneUnavailable(forwarder.errors[0].splitlines()[0])
        raise errors[0]
