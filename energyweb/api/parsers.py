"""A JSON parser that refuses absurd nesting with a 400 instead of a RecursionError (a 500)."""

import io

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from energyweb.validation import MAX_JSON_DEPTH, json_depth_exceeds

TOO_DEEP = f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep."


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        # Checked on the text, before parsing: a body within the interpreter's recursion limit
        # (~1,000 levels) would otherwise parse and then break json.dumps of a JSONField later.
        if json_depth_exceeds(raw):
            raise ParseError(TOO_DEEP)
        try:
            return super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:  # belt and braces: the check above should have refused it
            raise ParseError(TOO_DEEP) from None
