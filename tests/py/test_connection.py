"""Transactions, pub/sub, RESP3, server commands and authentication through redis-py."""
import time

import pytest
import redis


def test_multi_exec_and_watch(r, server):
    with r.pipeline() as p:
        p.set("a", "1").incr("a").lpush("a", "x").get("a")
        res = p.execute(raise_on_error=False)
    assert res[0] is True and res[1] == 2 and isinstance(res[2], redis.ResponseError) and res[3] == "2"
    other = redis.Redis(port=server.port, decode_responses=True)
    with r.pipeline() as p:
        p.watch("a")
        other.set("a", "changed")
        p.multi()
        p.set("a", "mine")
        with pytest.raises(redis.WatchError):
            p.execute()
    assert r.get("a") == "changed"
    other.close()


def test_pubsub_channels_and_patterns(r, server):
    sub = redis.Redis(port=server.port, decode_responses=True).pubsub()
    sub.subscribe("news")
    sub.psubscribe("n*")
    for _ in range(2):
        assert sub.get_message(timeout=1)["type"] in ("subscribe", "psubscribe")
    assert r.publish("news", "hello") == 2
    got = [sub.get_message(timeout=1) for _ in range(2)]
    assert {m["type"] for m in got} == {"message", "pmessage"}
    assert all(m["data"] == "hello" for m in got)
    assert r.pubsub_numsub("news") == [("news", 1)]
    assert r.pubsub_numpat() == 1
    sub.close()


def test_resp3(r3, server):
    r3.hset("h", mapping={"a": "1"})
    assert r3.hgetall("h") == {"a": "1"}
    r3.zadd("z", {"m": 0.5})
    assert r3.zscore("z", "m") == 0.5
    assert r3.execute_command("HELLO", "3")["proto"] == 3
    sub = redis.Redis(port=server.port, decode_responses=True, protocol=3).pubsub()
    sub.subscribe("c3")
    assert sub.get_message(timeout=1)["type"] == "subscribe"
    r3.publish("c3", "x")
    assert sub.get_message(timeout=1)["data"] == "x"
    sub.close()


def test_server_commands(r):
    info = r.info()
    assert info["redis_version"] == "7.0.15" and info["role"] == "master"
    r.set("k", "v")
    assert r.info("keyspace")["db0"]["keys"] == 1
    assert r.config_get("maxmemory") == {"maxmemory": "0"}
    assert r.config_set("maxmemory", "100mb") is True
    assert r.config_get("maxmemory") == {"maxmemory": "104857600"}
    with pytest.raises(redis.ResponseError, match="Unknown option or number of arguments for CONFIG SET - 'nosuch'"):
        r.config_set("nosuch", "1")
    r.client_setname("py")
    assert r.client_getname() == "py"
    assert any(c["name"] == "py" for c in r.client_list())
    assert r.echo("hi") == "hi" and r.ping() is True
    assert r.command_count() > 100
    raw = r.execute_command("COMMAND INFO", "get")
    name, arity, flags, first, last, step, categories, tips, key_specs, subs = raw[0]
    assert (name, arity, flags, first, last, step) == ("get", 2, ["readonly", "fast"], 1, 1, 1)
    assert key_specs[0]["begin_search"] == {"type": "index", "spec": {"index": 1}}
    assert r.command_getkeys("SET", "a", "b") == ["a"]
    assert r.lastsave() is not None
    assert r.save() is True
    assert r.bgsave() is True
    time.sleep(0.3)
    assert r.info("persistence")["rdb_last_bgsave_status"] == "ok"


def test_auth(auth_server):
    c = redis.Redis(port=auth_server.port, decode_responses=True)
    with pytest.raises(redis.AuthenticationError):
        c.ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=auth_server.port, password="wrong").ping()
    ok = redis.Redis(port=auth_server.port, password="secret", decode_responses=True)
    assert ok.ping() is True
    hello = redis.Redis(port=auth_server.port, username="default", password="secret", protocol=3, decode_responses=True)
    assert hello.ping() is True
