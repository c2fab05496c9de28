"""The API's JSON parser: a body that is not JSON, or JSON nested too deeply for Python's
parser (5,000 levels of ``[[[…]]]`` raise ``RecursionError``, which DRF's own parser lets
through as a 500), is a 400 with the error envelope, in Chinese."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("请求正文的JSON嵌套层数过多，无法处理。")) from None
        except ParseError:
            raise ParseError(_("请求正文不是有效的JSON，请检查格式。")) from None
