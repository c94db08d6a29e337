"""Every list endpoint pages, and no client may ask for more than API_MAX_PAGE_SIZE rows at once
(``?limit=1000000`` on the measurement list returned 132 MiB to any signed-in user)."""

from django.conf import settings
from rest_framework.pagination import LimitOffsetPagination


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    @property
    def max_limit(self) -> int:
        return int(getattr(settings, "API_MAX_PAGE_SIZE", 1000))

    def get_offset(self, request) -> int:
        # An offset past bigint would reach the database's OFFSET and fail there.
        return min(super().get_offset(request), 2**62)

    def get_count(self, queryset) -> int:
        """The row count, cached briefly when it is large.

        Counting a large table is the first cost of every page of the measurement list
        (a full scan: ~30 ms at 100k rows, hundreds at millions, on every request of every
        user). Counts above API_COUNT_CACHE_MIN_ROWS are reused for API_COUNT_CACHE_S
        seconds per distinct query, so a page's total may lag a running import by that
        long; small counts are always exact.
        """
        import hashlib

        from django.core.cache import cache

        ttl = int(getattr(settings, "API_COUNT_CACHE_S", 10))
        if ttl <= 0:
            return super().get_count(queryset)
        try:
            sql, params = queryset.query.sql_with_params()
        except Exception:  # an empty queryset (EmptyResultSet) and the like: count it plainly
            return super().get_count(queryset)
        key = "api-count:" + hashlib.sha256(repr((sql, params)).encode()).hexdigest()
        cached = cache.get(key)
        if cached is not None:
            return cached
        count = super().get_count(queryset)
        if count >= int(getattr(settings, "API_COUNT_CACHE_MIN_ROWS", 10000)):
            cache.set(key, count, ttl)
        return count
