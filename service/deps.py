"""Annotated dependencies: routes declare what they need, the app state provides it.

Every provider is ``async def``: FastAPI runs a plain ``def`` dependency in its thread pool, and
these only read the app state, so a thread hop each (six per question) cost more than the reading.
They must stay free of blocking calls.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from index import Index
from service.chat import ChatService
from service.config import Settings
from service.holder import IndexHolder
from service.links import ViewerLinks
from service.metrics import Metrics


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_holder(request: Request) -> IndexHolder:
    """The holder of the current index (for readiness and reloads)."""
    holder: IndexHolder = request.app.state.holder
    return holder


async def get_index(request: Request) -> Index:
    """The current index; raises `IndexNotReady` (503) until one is loaded.

    A request resolves this once, so a hot reload during the request does not affect it.
    """
    holder: IndexHolder = request.app.state.holder
    return holder.get()


async def get_chat(request: Request) -> ChatService:
    """The app's chat service (sessions live as long as the process)."""
    chat: ChatService = request.app.state.chat
    return chat


async def get_metrics(request: Request) -> Metrics:
    """The app's Prometheus metrics."""
    metrics: Metrics = request.app.state.metrics
    return metrics


async def get_links(request: Request) -> ViewerLinks:
    """Signs the viewer links of responses when the viewer is protected (issue 11)."""
    links: ViewerLinks = request.app.state.links
    return links


SettingsDep = Annotated[Settings, Depends(get_settings)]
HolderDep = Annotated[IndexHolder, Depends(get_holder)]
IndexDep = Annotated[Index, Depends(get_index)]
ChatDep = Annotated[ChatService, Depends(get_chat)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
LinksDep = Annotated[ViewerLinks, Depends(get_links)]
