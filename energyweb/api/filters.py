"""DRF's search filter with a bound on what a client may search for.

A 4,000-character ``?search=`` term took 6-22 s on the fit, LLM and hardware lists (each term
becomes an ILIKE over several joined columns). No name or citation here is longer than
MAX_NAME_LENGTH, so a longer term can match nothing; more than a few terms is no search a
person types.
"""

from __future__ import annotations

from rest_framework import filters
from rest_framework.exceptions import ValidationError

MAX_SEARCH_CHARS = 200
MAX_SEARCH_TERMS = 8


class BoundedSearchFilter(filters.SearchFilter):
    def get_search_terms(self, request):
        raw = request.query_params.get(self.search_param, "")
        if len(raw) > MAX_SEARCH_CHARS:
            raise ValidationError({self.search_param: [
                f"The search is {len(raw):,} characters long; at most {MAX_SEARCH_CHARS}."]})
        terms = super().get_search_terms(request)
        if len(terms) > MAX_SEARCH_TERMS:
            raise ValidationError({self.search_param: [f"At most {MAX_SEARCH_TERMS} search terms."]})
        return terms
