"""What a question must be before it reaches the tokenizers and the model: one check for every door.

`/v1/query`, `/v1/chat`, the Slack bot and `docqa ask` all end in `Index.query`, which calls
`check_question`; the HTTP routes call it first too, so that a bad question never costs a search.
The same rules are published in the OpenAPI schema (`NON_BLANK_PATTERN`, ``minLength``,
``maxLength``), so the schema says exactly what the service enforces.
"""

from __future__ import annotations

import re

from index.errors import EmptyQuery, InvalidText, QueryTooLong

# A question needs one character that is white space neither to Python (`str.split`, which cleans
# questions) nor to JSON Schema's ECMA-262 `\s` (which validates the published pattern): the two
# sets differ by U+001C-U+001F and U+0085 (Python only) and U+FEFF (ECMA only). The escapes mean
# the same in both regex dialects.
NON_BLANK_PATTERN = r"[^\s\u001c-\u001f\u0085\ufeff]"
_NON_BLANK = re.compile(NON_BLANK_PATTERN)
# A lone UTF-16 surrogate is valid JSON (``"\ud800"``) and a valid Python str, but not text: the
# tokenizers raise on it and it cannot be encoded as UTF-8. `docqa ask` gets them too, from
# arguments that are not UTF-8 (Python decodes those bytes to U+DC80-U+DCFF).
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def check_question(text: object, limit: int, what: str = "question") -> str:
    """Refuse an empty, non-text or over-long question; return it unchanged otherwise.

    Args:
        text: The question as received.
        limit: Most characters (code points) accepted.
        what: How the message names it ("question", "message").

    Raises:
        EmptyQuery: Not a string, empty, or only white space.
        InvalidText: It holds a lone UTF-16 surrogate.
        QueryTooLong: More than `limit` characters.
    """
    if not isinstance(text, str) or _NON_BLANK.search(text) is None:
        raise EmptyQuery(f"The {what} is empty; send the question as text.")
    bad = _SURROGATE.search(text)
    if bad is not None:
        raise InvalidText(
            f"The {what} is not valid Unicode text: character {bad.start() + 1} is a lone UTF-16 "
            f"surrogate (U+{ord(bad.group()):04X}, in JSON an unpaired \\u{ord(bad.group()):04x} escape). "
            "Send UTF-8 text."
        )
    if len(text) > limit:
        raise QueryTooLong(f"The {what} has {len(text)} characters; the limit is {limit}.")
    return text
