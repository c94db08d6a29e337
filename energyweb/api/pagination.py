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
