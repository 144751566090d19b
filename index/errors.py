"""Domain errors. Each carries an HTTP-ish `status` and a stable `code`; messages say what to do next."""

from __future__ import annotations


class QAError(Exception):
    """Base class of every error docqa reports to a client."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class IndexNotReady(QAError):
    """No usable index: missing, corrupt, built with another model, or for another corpus."""

    status = 503
    code = "index_not_ready"


class IndexCorrupt(IndexNotReady):
    """A built index failed its integrity check (checksums or structure): rebuild it, do not serve it.

    Same status and code as `IndexNotReady` (clients see a 503 ``index_not_ready``); the class lets
    `docqa serve` tell it from a missing or stale index, which it builds by itself.
    """


class EmptyQuery(QAError):
    """The question is empty or whitespace."""

    status = 422
    code = "empty_question"


class QueryTooLong(QAError):
    """The question is longer than the documented limit."""

    status = 422
    code = "question_too_long"


class InvalidText(QAError):
    """The question is not valid Unicode text (a lone UTF-16 surrogate, e.g. JSON ``"\\ud800"``)."""

    status = 422
    code = "invalid_text"


class UnknownDocument(QAError):
    """No document with that id."""

    status = 404
    code = "unknown_document"


class CorpusError(QAError):
    """The corpus folder is missing, empty or unreadable."""

    status = 400
    code = "corpus_error"
