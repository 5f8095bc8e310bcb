"""Typed keys of the app's state."""

from __future__ import annotations

from aiohttp import web

from staffsync.handlers import Context
from staffsync.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
CONTEXT = web.AppKey("context", Context)
STARTED = web.AppKey("started", float)
