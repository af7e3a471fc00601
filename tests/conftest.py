"""Shared fixtures: the Flask app and client, real photos that ship with matplotlib, no network."""
import socket
from pathlib import Path
import matplotlib.cbook
import pytest

ROOT = Path(__file__).resolve().parent.parent
HOPPER = Path(matplotlib.cbook.get_sample_data('grace_hopper.jpg', asfileobj=False))


@pytest.fixture
def no_network(monkeypatch):
    "Any attempt to open a network connection fails, as on a machine that can't reach the weights' hosts."
    def refuse(*a, **k): raise OSError('network unreachable (blocked by test)')
    monkeypatch.setattr(socket.socket, 'connect', refuse)
    monkeypatch.setattr(socket, 'create_connection', refuse)
    monkeypatch.setattr(socket, 'getaddrinfo', refuse)


@pytest.fixture
def hopper_bytes():
    return HOPPER.read_bytes()
