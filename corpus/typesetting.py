"""Typesetting conventions the PDF and Word readers share to tell headings and code set by hand.

None is fitted on any corpus: they are how documents are commonly set.
"""

from __future__ import annotations

import re

HEADING_SIZE = 1.12  # set this much larger than the body text: a heading
BOLD_WEIGHT = 600  # font weights: 400 regular, 700 bold
MAX_BOLD_HEADING_WORDS = 12  # a bold heading at body size is short
NOT_SENTENCE_END = ".!?:;,"  # a heading does not end like a sentence or a clause
# Font names that say fixed-pitch (code) when nothing else does.
MONO_FONT_NAME = re.compile(r"mono|courier|consol|code", re.IGNORECASE)
