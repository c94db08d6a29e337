"""Every list endpoint pages, and no client may ask for more than API_MAX_PAGE_SIZE rows at once
(``?limit=1000000`` on the measurement list returned 132 MiB to any signed-in user)."""

from django.conf import settings
from rest_framework.pagination import LimitOffsetPagination


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    @property
    def max_limit(self) -> int:
        return int(settings.API_MAX_PAGE_SIZE)

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

        ttl = int(settings.API_COUNT_CACHE_S)
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
        if count >= int(settings.API_COUNT_CACHE_MIN_ROWS):
            cache.set(key, count, ttl)
        return count


# Deeper than this, an offset makes the database walk and discard every row before it
# (?offset=1999990 on 2M measurements: 6.2 s); the large lists page by key instead.
MAX_OFFSET = 10_000


class KeysetPagination(BoundedLimitOffsetPagination):
    """Keyset ("cursor") paging by primary key for the large lists, with the offset form kept
    for the first pages.

    In order by id (the measurement list's default; ``?ordering=id`` on the fit list), ``next`` is ``?after=<last id>``: the database seeks
    the primary key index and reads ``limit`` rows, however deep the page. ``count`` is the
    cached count of the whole filtered list. An ``offset`` past MAX_OFFSET is refused with a
    400 that names ``after``; with another ``?ordering=`` the offset form applies, within the
    same bound.
    """

    after_query_param = "after"

    def _keyset(self, request, view) -> bool:
        ordering = request.query_params.get("ordering", "")
        if ordering:
            return ordering == "id"
        queryset = getattr(view, "queryset", None)
        return queryset is not None and tuple(queryset.query.order_by) in (("id",), ("pk",))

    def paginate_queryset(self, queryset, request, view=None):
        from rest_framework.exceptions import ValidationError

        raw_after = request.query_params.get(self.after_query_param)
        self._after_used = self._by_key = False
        if raw_after is None or not self._keyset(request, view):
            if raw_after is not None:
                raise ValidationError({self.after_query_param: ["after pages the order by id only "
                                                                "(?ordering=id, or the list's default if by id)."]})
            if self.get_offset(request) > MAX_OFFSET:
                raise ValidationError({self.offset_query_param: [
                    f"At most {MAX_OFFSET:,}: deeper pages are read with ?after=<last id> "
                    "(the next link gives it)."]})
            page = super().paginate_queryset(queryset, request, view)
            self._by_key = self._keyset(request, view)
            self._last_id = page[-1].pk if page else None
            return page
        if not raw_after.isdigit() or len(raw_after) > 19:
            raise ValidationError({self.after_query_param: ["The id of the last row of the previous page."]})
        self.request = request
        self.limit = self.get_limit(request)
        self.offset = 0
        self.count = self.get_count(queryset)
        self._after_used = self._by_key = True
        page = list(queryset.filter(pk__gt=int(raw_after)).order_by("pk")[: self.limit])
        self._last_id = page[-1].pk if len(page) == self.limit else None
        return page

    def get_next_link(self):
        from rest_framework.utils.urls import remove_query_param, replace_query_param

        if not getattr(self, "_by_key", False):
            return super().get_next_link()
        if self._last_id is None:
            return None
        if not self._after_used and self.offset + self.limit >= self.count:
            return None
        url = remove_query_param(self.request.build_absolute_uri(), self.offset_query_param)
        url = replace_query_param(url, self.limit_query_param, self.limit)
        return replace_query_param(url, self.after_query_param, self._last_id)

    def get_previous_link(self):
        if getattr(self, "_after_used", False):
            return None  # keyset pages run forward; the first page is the URL without after
        return super().get_previous_link()

    def get_schema_operation_parameters(self, view):
        params = super().get_schema_operation_parameters(view)
        params.append({"name": self.after_query_param, "required": False, "in": "query",
                       "description": "Keyset paging: the id of the last row of the previous page "
                                      "(the next link gives it; only in the default order).",
                       "schema": {"type": "integer"}})
        return params
