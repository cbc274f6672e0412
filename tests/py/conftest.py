"""Fixtures for the redis-py suite: a server on a free loopback port in a temporary directory.

The server under test is halab ($HALAB_BIN, default target/release/halab). Setting
REDIS_UNDER_TEST=redis-server runs the same suite against Debian's redis-server 7.0, which is
how the expectations here were checked.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    def __init__(self, *extra):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="halab-py-")
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--dir", self.dir,
                "--logfile", os.path.join(self.dir, "server.log"), "--enable-debug-command", "local", *extra]
        if os.environ.get("REDIS_UNDER_TEST") == "redis-server":
            cmd = ["redis-server", *args]
        else:
            binary = os.environ.get("HALAB_BIN", str(ROOT / "target" / "release" / "halab"))
            cmd = [binary, "server", *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("server exited: " + self.proc.stderr.read().decode())
                time.sleep(0.02)
        raise RuntimeError("server did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def server():
    s = ServerProcess()
    yield s
    s.stop()


@pytest.fixture
def r(server):
    c = redis.Redis(port=server.port, decode_responses=True)
    c.flushall()
    yield c
    c.close()


@pytest.fixture
def r3(server):
    c = redis.Redis(port=server.port, decode_responses=True, protocol=3)
    c.flushall()
    yield c
    c.close()


@pytest.fixture(scope="module")
def auth_server():
    s = ServerProcess("--requirepass", "secret")
    yield s
    s.stop()
