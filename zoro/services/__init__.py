"""Strict validation and the system's rules between the HTTP layer and the actors."""

from zoro.services import collections, points, search
from zoro.services.context import Context

__all__ = ["Context", "collections", "points", "search"]
