"""The five data types and expiry through redis-py, with Redis 7.0's replies and errors."""
import time

import pytest
import redis


def test_strings(r):
    assert r.set("keyone", "lisuo") is True
    assert r.get("keyone") == "lisuo"
    assert r.set("keyone", "x", nx=True) is None
    assert r.set("keyone", "y", xx=True, get=True) == "lisuo"
    assert r.incr("n") == 1 and r.incrby("n", 9) == 10 and r.decr("n") == 9
    assert r.incrbyfloat("f", 2.5) == 2.5
    assert r.append("s", "ab") == 2 and r.append("s", "cd") == 4
    assert r.getrange("s", 1, 2) == "bc"
    assert r.setrange("s", 1, "XY") == 4 and r.get("s") == "aXYd"
    assert r.mset({"a": "1", "b": "2"}) is True
    assert r.mget("a", "missing", "b") == ["1", None, "2"]
    assert r.getdel("a") == "1" and r.get("a") is None
    with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
        r.incr("keyone")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE Operation against a key holding the wrong kind of value"):
        r.lpush("keyone", "x")


def test_expiry(r):
    r.set("k", "v", px=150)
    assert 0 < r.pttl("k") <= 150
    assert r.ttl("missing") == -2
    r.set("p", "v")
    assert r.ttl("p") == -1
    assert r.expire("p", 100) is True and r.ttl("p") == 100
    assert r.persist("p") is True and r.ttl("p") == -1
    time.sleep(0.2)
    assert r.get("k") is None
    assert r.exists("k") == 0


def test_lists_seed_000(r):
    assert r.lpush("menu", "apple", "banana") == 2
    assert r.lpush("menu", "pine") == 3
    assert r.lrange("menu", 0, -1) == ["pine", "banana", "apple"]
    assert r.rpush("menu", "kiwi") == 4
    assert r.lpop("menu") == "pine"
    assert r.rpop("menu", 2) == ["kiwi", "apple"]
    assert r.llen("menu") == 1
    assert r.lindex("menu", 0) == "banana"
    r.rpush("l", "a", "b", "c", "b")
    assert r.lpos("l", "b") == 1
    assert r.lrem("l", 0, "b") == 2
    assert r.lmove("l", "m", "LEFT", "RIGHT") == "a"
    assert r.lrange("m", 0, -1) == ["a"]


def test_blocking_pop_served_by_another_client(r, server):
    other = redis.Redis(port=server.port, decode_responses=True)
    assert r.blpop(["q"], timeout=0.1) is None
    import threading

    def push():
        time.sleep(0.1)
        other.rpush("q", "job")

    t = threading.Thread(target=push)
    t.start()
    assert r.blpop(["q"], timeout=5) == ("q", "job")
    t.join()
    other.close()


def test_hashes(r):
    assert r.hset("h", mapping={"f1": "v1", "f2": "v2"}) == 2
    assert r.hget("h", "f1") == "v1"
    assert r.hgetall("h") == {"f1": "v1", "f2": "v2"}
    assert r.hincrby("h", "n", 5) == 5
    assert r.hincrbyfloat("h", "x", 1.5) == 1.5
    assert r.hdel("h", "f1", "nope") == 1
    assert sorted(r.hkeys("h")) == ["f2", "n", "x"]
    assert r.hlen("h") == 3
    cursor, items = r.hscan("h", 0)
    assert cursor == 0 and len(items) == 3


def test_sets(r):
    assert r.sadd("s", "a", "b", "c") == 3
    assert r.sadd("t", "b", "c", "d") == 3
    assert r.sismember("s", "a") == 1
    assert r.sinter("s", "t") == {"b", "c"}
    assert r.sunion("s", "t") == {"a", "b", "c", "d"}
    assert r.sdiff("s", "t") == {"a"}
    assert r.scard("s") == 3
    assert r.smove("s", "t", "a") is True
    assert r.spop("s") in {"b", "c"}
    assert r.srandmember("t", 2) is not None


def test_sorted_sets(r):
    assert r.zadd("z", {"a": 1, "b": 2.5, "c": 3}) == 3
    assert r.zscore("z", "b") == 2.5
    assert r.zrange("z", 0, -1, withscores=True) == [("a", 1.0), ("b", 2.5), ("c", 3.0)]
    assert r.zrangebyscore("z", "(1", "+inf") == ["b", "c"]
    assert r.zrange("z", "+inf", "(1", byscore=True, desc=True, offset=0, num=1) == ["c"]
    assert r.zincrby("z", 1, "a") == 2.0
    assert r.zrank("z", "a") == 0 and r.zrevrank("z", "a") == 2
    assert r.zpopmin("z") == [("a", 2.0)]
    assert r.zcount("z", "-inf", "+inf") == 2
    r.zadd("y", {"b": 10, "q": 1})
    assert r.zunionstore("u", ["z", "y"]) == 3
    assert r.zscore("u", "b") == 12.5
    assert r.zinterstore("i", {"z": 2, "y": 1}, aggregate="MAX") == 1
    assert r.zscore("i", "b") == 10.0


def test_keyspace(r):
    r.mset({"user:1": "a", "user:2": "b", "other": "c"})
    assert sorted(r.keys("user:*")) == ["user:1", "user:2"]
    assert sorted(r.scan_iter(match="user:*", count=1)) == ["user:1", "user:2"]
    assert r.type("user:1") == "string"
    assert r.rename("other", "renamed") is True
    with pytest.raises(redis.ResponseError, match="no such key"):
        r.rename("missing", "x")
    assert r.dbsize() == 3
    r.select(2) if hasattr(r, "select") else r.execute_command("SELECT", 2)
    assert r.dbsize() == 0
    r.execute_command("SELECT", 0)
    dumped = r.dump("user:1")
    assert r.restore("copy", 0, dumped) in ("OK", True)
    assert r.get("copy") == "a"
    with pytest.raises(redis.ResponseError, match="BUSYKEY Target key name already exists."):
        r.restore("copy", 0, dumped)
    assert r.object("encoding", "user:1") == "embstr"
