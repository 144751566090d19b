"""The OpenAPI document says what the service enforces: question limits, `top_k`, error media types.

The question limits come from the settings (`DOCQA_MAX_QUESTION_CHARS`), so they are written into
the schema when it is generated rather than fixed in the request models: ``minLength`` 1,
``maxLength`` the configured limit, and `index.question.NON_BLANK_PATTERN` (a character that is
not white space). The check itself stays in `index.question.check_question`, which gives each
refusal its own error code (``empty_question``, ``question_too_long``, ``invalid_text``).

Integer bounds are written as integers (FastAPI writes ``50.0``). Routes that answer HTML or
JavaScript still send their errors as JSON; FastAPI would document those errors under the route's
own media type, so they are moved to ``application/json`` here.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from index.question import NON_BLANK_PATTERN
from service.config import Settings

# (component, property) of every request text that reaches the engine as a question.
QUESTION_FIELDS = (("QueryRequest", "question"), ("ChatRequest", "message"))
_ERROR_REF = "#/components/schemas/ErrorOut"


def install_openapi_limits(app: FastAPI, settings: Settings) -> None:
    """Make `app.openapi()` publish the question limits of `settings` and JSON error media types."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            _question_limits(schema, settings.max_question_chars)
            _json_errors(schema)
            _integer_bounds(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _question_limits(schema: dict[str, Any], max_chars: int) -> None:
    components = schema.get("components", {}).get("schemas", {})
    for component, name in QUESTION_FIELDS:
        prop = components.get(component, {}).get("properties", {}).get(name)
        if prop is not None:
            prop.update(minLength=1, maxLength=max_chars, pattern=NON_BLANK_PATTERN)


def _json_errors(schema: dict[str, Any]) -> None:
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if not status.startswith(("4", "5")) or "application/json" in content:
                    continue
                moved = [
                    media
                    for media, body in content.items()
                    if body.get("schema", {}).get("$ref") == _ERROR_REF
                ]
                for media in moved:
                    response["content"] = {"application/json": content.pop(media), **content}


def _integer_bounds(node: Any) -> None:
    """FastAPI's OpenAPI models type every bound as a float (``"maximum": 50.0``); an integer's
    bounds are written as integers, as the request models declare them."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                value = node.get(key)
                if isinstance(value, float) and value.is_integer():
                    node[key] = int(value)
        for value in node.values():
            _integer_bounds(value)
    elif isinstance(node, list):
        for value in node:
            _integer_bounds(value)
