"""A deadline for a request's body. A client that announces more bytes than it sends (a lying Content-Length), or sends
them a few at a time, would otherwise hold a worker thread for as long as it keeps the connection open: gunicorn has no
body timeout. Under gunicorn, every read of the body waits at most until `FEMVERIFY_BODY_TIMEOUT` seconds (default 10)
after the request began; then the client is answered 408 `request_timeout` and the thread is free."""
import socket, time
from werkzeug.exceptions import RequestTimeout


class BodyDeadline:
    "WSGI middleware: reads of `wsgi.input` end by `seconds` after the request's start (408), the socket's timeout following."
    def __init__(self, app, seconds: float):
        self.app, self.seconds = app, float(seconds)

    def __call__(self, environ, start_response):
        sock = environ.get('gunicorn.socket')  # another server (Werkzeug's, in tests) has its own socket handling
        if sock is None or self.seconds <= 0: return self.app(environ, start_response)
        environ['wsgi.input'] = TimedInput(environ['wsgi.input'], sock, time.monotonic() + self.seconds, self.seconds)
        try: return self.app(environ, start_response)
        finally: sock.settimeout(None)  # the answer is written without the body's deadline


class TimedInput:
    "A request body whose reads raise `RequestTimeout` once `deadline` (time.monotonic) has passed."
    def __init__(self, stream, sock, deadline: float, seconds: float):
        self.stream, self.sock, self.deadline, self.seconds = stream, sock, deadline, seconds

    def _call(self, fn, *a):
        left = self.deadline - time.monotonic()
        if left <= 0: raise self._late()
        self.sock.settimeout(left)
        try: return fn(*a)
        except (socket.timeout, TimeoutError): raise self._late() from None

    def _late(self) -> RequestTimeout:
        return RequestTimeout(f"the request's body did not arrive within {self.seconds:g} s (FEMVERIFY_BODY_TIMEOUT)")

    def read(self, *a): return self._call(self.stream.read, *a)
    def readline(self, *a): return self._call(self.stream.readline, *a)
    def readlines(self, *a): return self._call(self.stream.readlines, *a)
    def __iter__(self): return iter(self.readline, b'')
