"""A JSON parser that refuses absurd nesting with a 400 instead of a RecursionError (a 500)."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from energyweb.validation import MAX_JSON_DEPTH, json_depth_exceeds


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep.") from None
        # Parsed depth can still reach ~1000, which breaks json.dumps of a JSONField later.
        if json_depth_exceeds(data):
            raise ParseError(f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep.")
        return data
