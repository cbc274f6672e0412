"""redis-py's Sentinel client against halab sentinels watching halab servers: it discovers the
master and the replica through the sentinels, writes to the master, and after the master dies
writes to the promoted replica. Every wait polls for its condition. REDIS_UNDER_TEST=redis-server
runs the same test with redis-server and redis-sentinel."""
import os
import shutil
import subprocess
import tempfile
import time

import redis
import redis.sentinel
from redis.sentinel import Sentinel

from conftest import ROOT, ServerProcess, free_port


class SentinelProcess:
    def __init__(self, master_port):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="halab-py-sentinel-")
        conf = os.path.join(self.dir, "sentinel.conf")
        with open(conf, "w") as f:
            f.write(f"port {self.port}\nbind 127.0.0.1\n"
                    f"sentinel monitor mymaster 127.0.0.1 {master_port} 2\n"
                    "sentinel down-after-milliseconds mymaster 2000\n"
                    "sentinel failover-timeout mymaster 6000\n")
        args = [conf, "--logfile", os.path.join(self.dir, "sentinel.log"), "--dir", self.dir]
        if os.environ.get("REDIS_UNDER_TEST") == "redis-server":
            cmd = ["redis-sentinel", *args]
        else:
            binary = os.environ.get("HALAB_BIN", str(ROOT / "target" / "release" / "halab"))
            cmd = [binary, "sentinel", *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(lambda: ping(self.port), "sentinel up")

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def ping(port):
    try:
        return redis.Redis(port=port, socket_timeout=1).ping()
    except redis.RedisError:
        return False


def wait_for(cond, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout}s")


def test_sentinel_client_discovers_and_follows_a_failover():
    master = ServerProcess()
    replica = ServerProcess("--replicaof", "127.0.0.1", str(master.port))
    sentinels = [SentinelProcess(master.port) for _ in range(3)]
    try:
        wait_for(lambda: redis.Redis(port=replica.port).info("replication")["master_link_status"] == "up",
                 "replica in sync")
        sentinel = Sentinel([("127.0.0.1", s.port) for s in sentinels], socket_timeout=2)
        wait_for(lambda: all(redis.Redis(port=s.port).sentinel_master("mymaster")["num-other-sentinels"] == 2
                             and redis.Redis(port=s.port).sentinel_master("mymaster")["num-slaves"] == 1
                             for s in sentinels), "sentinels discover each other and the replica")
        assert sentinel.discover_master("mymaster") == ("127.0.0.1", master.port)
        assert sentinel.discover_slaves("mymaster") == [("127.0.0.1", replica.port)]
        writer = sentinel.master_for("mymaster", socket_timeout=2, decode_responses=True)
        assert writer.set("k", "before")
        reader = sentinel.slave_for("mymaster", socket_timeout=2, decode_responses=True)
        wait_for(lambda: reader.get("k") == "before", "the replica has the write")
        # The master dies; the client follows the sentinels to the promoted replica.
        master.proc.kill()
        master.proc.wait()
        def promoted():
            try:
                return sentinel.discover_master("mymaster") == ("127.0.0.1", replica.port)
            except redis.sentinel.MasterNotFoundError:  # while the sentinels see it down
                return False

        wait_for(promoted, "failover")

        def write_after():
            try:
                return writer.set("k", "after")
            except redis.ConnectionError:
                return False

        wait_for(write_after, "a write through master_for after the failover")
        assert redis.Redis(port=replica.port, decode_responses=True).get("k") == "after"
        assert redis.Redis(port=replica.port).info("replication")["role"] == "master"
    finally:
        for s in sentinels:
            s.stop()
        replica.stop()
        master.stop()
