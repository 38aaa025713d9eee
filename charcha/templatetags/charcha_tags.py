from __future__ import annotations

from django import template

from charcha.wording import PROMPTS

register = template.Library()


@register.filter
def action_label(action: str) -> str:
    """A step's prompt as the user saw it ("Look up"), for lists of past challenges."""
    return PROMPTS.get(action, action)
