"""Template built-ins for every template (``TEMPLATES[...]["OPTIONS"]["builtins"]``).

``{% url %}`` is Django's tag, parsed the same way, but reversed with ``circlecare.urlshapes`` so
a link in every row of a long list costs little.
"""

from __future__ import annotations

from html import escape
from typing import Any

from django import template
from django.template import defaulttags
from django.template.base import Parser, Token
from django.urls import NoReverseMatch

from circlecare import urlshapes

register = template.Library()


class ShapedURLNode(defaulttags.URLNode):
    def render(self, context: Any) -> str:
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {k: v.resolve(context) for k, v in self.kwargs.items()}
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        url = ""
        try:
            url = urlshapes.reverse(view_name, args=args, kwargs=kwargs, current_app=current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        # A URL is a plain string: Python's escape is what Django's wraps, without its lazy checks.
        return escape(url) if context.autoescape else url


@register.tag
def url(parser: Parser, token: Token) -> ShapedURLNode:
    node = defaulttags.url(parser, token)
    return ShapedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
