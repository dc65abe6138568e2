"""The cache URL: every deployment form parses to the right target; mistakes are refused with a
clear reason at configuration time, without echoing the password."""

from __future__ import annotations

import pytest

from asen_contract.errors import AsenError
from gateway.cache.redis_url import RedisKind, parse_redis_url
from gateway.config import GatewayConfig


def test_single_server_urls_are_handed_to_redis_py_unchanged() -> None:
    for url in ("redis://127.0.0.1:6379/2", "rediss://:pw@cache:6380/0", "unix:///tmp/r.sock"):
        target = parse_redis_url(url)
        assert target.kind is RedisKind.SINGLE and target.url == url
    assert parse_redis_url("rediss://cache:6380").tls


def test_cluster_url_lists_seed_nodes_with_default_port_and_credentials() -> None:
    target = parse_redis_url("redis+cluster://app:s%40cret@10.0.0.1:7000,10.0.0.2,[::1]:7002/")
    assert target.kind is RedisKind.CLUSTER
    assert target.nodes == (("10.0.0.1", 7000), ("10.0.0.2", 6379), ("::1", 7002))
    assert (target.username, target.password, target.tls) == ("app", "s@cret", False)
    assert parse_redis_url("rediss+cluster://c:1").tls
    assert parse_redis_url("redis+cluster://:pw@c:1").username is None


def test_sentinel_url_names_the_master_and_database() -> None:
    target = parse_redis_url("redis+sentinel://:pw@s1:26380,s2/mymaster/3")
    assert target.kind is RedisKind.SENTINEL
    assert target.nodes == (("s1", 26380), ("s2", 26379))
    assert (target.master_name, target.db, target.password) == ("mymaster", 3, "pw")
    assert parse_redis_url("redis+sentinel://s1/cache").db == 0


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("memcached://h:1", "must start with"),
        ("h:6379", "must start with"),
        ("redis+cluster://", "empty host"),
        ("redis+cluster://a:1,,b:2", "empty host"),
        ("redis+cluster://a:notaport", "bad port"),
        ("redis+cluster://a:1/3", "no database"),
        ("redis+cluster://a:1?read_from_replicas=1", "no query options"),
        ("redis+sentinel://s:26379", "master name"),
        ("redis+sentinel://s:26379/", "master name"),
        ("redis+sentinel://s:26379/m/x", "must be a number"),
        ("redis+sentinel://s:26379/m/0/extra", r"/master-name\[/db\]"),
    ],
)
def test_malformed_urls_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_redis_url(url)


def test_gateway_configuration_refuses_a_bad_cache_url_without_the_password() -> None:
    env = {"ASEN_REDIS_URL": "redis+cluster://:topsecret@a:1/5"}
    with pytest.raises(AsenError, match="ASEN_REDIS_URL") as error:
        GatewayConfig.load(env=env)
    assert "topsecret" not in str(error.value)


def test_gateway_configuration_accepts_and_masks_cluster_and_sentinel_urls() -> None:
    for url in ("redis+cluster://:topsecret@a:1,b:2", "redis+sentinel://:topsecret@s:1/m/0"):
        config = GatewayConfig.load(env={"ASEN_REDIS_URL": url, "ASEN_CACHE_DTYPE": "float16"})
        assert config.cache_dtype == "float16"
        assert "topsecret" not in str(config.masked())


def test_cache_dtype_must_be_float32_or_float16() -> None:
    with pytest.raises(AsenError, match="cache_dtype"):
        GatewayConfig(cache_dtype="int8").validate()
