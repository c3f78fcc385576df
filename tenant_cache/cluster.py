"""django-redis client for Redis Cluster (django-redis 7 ships none): redis-py's RedisCluster.

Selected by settings when REDIS_URL uses the `redis+cluster://` (or `rediss+cluster://`)
scheme or REDIS_CLUSTER=1; LOCATION lists one or more startup nodes, comma-separated
(`redis+cluster://10.0.0.1:6379,10.0.0.2:6379`). The cache needs nothing else: every key
of one call carries the tenant's hash tag (`cache:{acme}:...`), so each Lua script and
each pipeline of the cache runs on the one node that owns the tenant's slot.

Same failure behaviour as the single-node client: tight timeouts (SOCKET_TIMEOUT,
SOCKET_CONNECT_TIMEOUT) and no retries, so the cache's circuit breaker decides; and every
failure is a redis ConnectionError (redis-py raises some cluster failures, such as "no node
reachable" or "slots not covered", as plain exceptions, which neither the cache nor
django-redis would recognise).
"""

from __future__ import annotations

from typing import Any

from django_redis.client import DefaultClient
from django_redis.exceptions import ConnectionInterrupted
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.connection import parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException
from redis.retry import Retry

SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


class ClusterUnavailable(RedisConnectionError):
    """No node reachable, slots not covered...: a connection failure to the cache and to
    django-redis (which then ignores it for Django's own cache users, as configured)."""


class ClusterConnectFailed(ConnectionInterrupted, RedisConnectionError):  # type: ignore[misc]
    """No cluster client could be made: ignored by django-redis for Django's own cache users
    (IGNORE_EXCEPTIONS), a Redis failure to the FireLater cache (its breaker opens)."""


class TenantCacheRedisCluster(RedisCluster):
    """RedisCluster whose failures are all RedisErrors (see the module docstring)."""

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().execute_command(*args, **kwargs)  # type: ignore[no-untyped-call]
        except RedisClusterException as error:
            raise ClusterUnavailable(str(error)) from error

    def pipeline(self, transaction: Any = None, shard_hint: Any = None) -> ClusterPipeline:
        pipe: ClusterPipeline = super().pipeline(  # type: ignore[no-untyped-call]
            transaction=transaction, shard_hint=shard_hint
        )
        pipe.__class__ = _FireLaterClusterPipeline  # the same pipeline, with our execute()
        return pipe


class _FireLaterClusterPipeline(ClusterPipeline):
    def execute(self, raise_on_error: bool = True) -> list[Any]:
        try:
            return super().execute(raise_on_error=raise_on_error)
        except RedisClusterException as error:
            raise ClusterUnavailable(str(error)) from error


def node_urls(location: list[str] | tuple[str, ...]) -> list[str]:
    """Plain redis:// URLs of the startup nodes; a bare `host:port` takes the first's scheme."""
    urls = []
    scheme = "redis"
    for item in (entry.strip() for entry in location if entry.strip()):
        if "://" in item:
            given, rest = item.split("://", 1)
            scheme = SCHEMES.get(given, given)
            item = rest
        urls.append(f"{scheme}://{item}")
    return urls


def connect_cluster(location: list[str] | tuple[str, ...], options: dict[str, Any]) -> RedisCluster:
    """A RedisCluster over these startup nodes, with the cache's timeouts and no retries."""
    first, *others = node_urls(location)
    kwargs: dict[str, Any] = {}
    for option, name in (
        ("SOCKET_TIMEOUT", "socket_timeout"),
        ("SOCKET_CONNECT_TIMEOUT", "socket_connect_timeout"),
        ("USERNAME", "username"),
        ("PASSWORD", "password"),
    ):
        if options.get(option) is not None:
            kwargs[name] = options[option]
    startup_nodes = []
    for url in others:
        parsed = parse_url(url)  # type: ignore[no-untyped-call]
        node = ClusterNode(parsed["host"], parsed.get("port", 6379))  # type: ignore[no-untyped-call]
        startup_nodes.append(node)
    try:
        return TenantCacheRedisCluster(
            url=first,
            startup_nodes=startup_nodes,
            retry=Retry(NoBackoff(), 0),
            **kwargs,
        )
    except RedisClusterException as error:  # no startup node answered: a Redis failure
        raise ClusterUnavailable(str(error)) from error


class ClusterClient(DefaultClient):  # type: ignore[misc]  # django-redis has no types
    """django-redis CLIENT_CLASS whose connection is one RedisCluster for all of LOCATION.

    DefaultClient reads a comma-separated LOCATION as a primary and its replicas; here they
    are startup nodes of one cluster, which routes each command to its slot's node itself.
    """

    def get_next_client_index(self, write: bool = True, tried: list[int] | None = None) -> int:
        return 0

    def connect(self, index: int = 0) -> RedisCluster:
        try:
            return connect_cluster(self._server, self._options)
        except RedisConnectionError as error:
            # RedisCluster connects when it is made, so this fails in get_client(), which
            # django-redis calls outside its error handling: say it in both languages.
            raise ClusterConnectFailed(None) from error  # no connection to name

    def disconnect(self, index: int = 0, client: Any = None) -> None:
        client = client if client is not None else self._clients[index]
        if client is not None:
            client.close()
