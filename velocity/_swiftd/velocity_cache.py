"""An in-process stand-in for Swift's ``cache`` (memcached) middleware.

Production proxies cache account and container info in memcached; without a
cache the proxy re-reads both on every request, which halves small-object
throughput.  A local single-worker proxy keeps the cache in a dict instead.
It offers the subset of ``swift.common.memcached.MemcacheRing`` that the proxy
and its middlewares call.  Loaded by paste from the proxy config::

    [filter:cache]
    paste.filter_factory = velocity_cache:filter_factory
"""
import json
import threading
import time

# memcached treats an expiry above 30 days as an absolute unix time
_RELATIVE_LIMIT = 30 * 24 * 3600


class DictCache:
    def __init__(self):
        self._items = {}
        self._lock = threading.Lock()

    @staticmethod
    def _deadline(ttl):
        ttl = float(ttl or 0)
        if ttl <= 0:
            return None
        return ttl if ttl > _RELATIVE_LIMIT else time.time() + ttl

    def _lookup(self, key):
        entry = self._items.get(key)
        if entry is None:
            return None
        deadline, _ = entry
        if deadline is not None and deadline <= time.time():
            self._items.pop(key, None)
            return None
        return entry

    def get(self, key, raise_on_error=False):
        entry = self._lookup(key)
        return None if entry is None else entry[1]

    def get_multi(self, keys, server_key, raise_on_error=False):
        return [self.get(key) for key in keys]

    def set(self, key, value, serialize=True, time=0, min_compress_len=0,
            raise_on_error=False):
        if serialize:
            # the real client stores JSON text; round-trip for the same types
            value = json.loads(json.dumps(value))
        elif isinstance(value, str):
            value = value.encode("utf-8")
        self._items[key] = (self._deadline(time), value)

    def set_multi(self, mapping, server_key, serialize=True, time=0,
                  min_compress_len=0, raise_on_error=False):
        for key, value in mapping.items():
            self.set(key, value, serialize=serialize, time=time)

    def incr(self, key, delta=1, time=0, raise_on_error=False):
        with self._lock:
            entry = self._lookup(key)
            if entry is None:
                deadline, value = self._deadline(time), 0
            else:
                deadline, value = entry[0], int(entry[1])
            value = max(value + int(delta), 0)
            self._items[key] = (deadline, value)
            return value

    def decr(self, key, delta=1, time=0, raise_on_error=False):
        return self.incr(key, -int(delta), time)

    def delete(self, key, server_key=None):
        self._items.pop(key, None)


def filter_factory(global_conf, **local_conf):
    cache = DictCache()

    def make_filter(app):
        def cache_filter(environ, start_response):
            environ["swift.cache"] = cache
            return app(environ, start_response)

        return cache_filter

    return make_filter
