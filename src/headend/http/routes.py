"""The native (media-plane) route table: routes the server answers itself, without the ASGI framework."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from headend.http.connection import Request, Responder
from headend.http.policy import Policy

NativeHandler = Callable[[Request, Responder, Mapping[str, str]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class NativeRoute:
    name: str
    path: str  # documentation form, e.g. /stream/{channel_id}.ts
    pattern: re.Pattern[str]
    methods: frozenset[str]
    handler: NativeHandler
    policy: Policy


class NativeRouter:
    def __init__(self) -> None:
        self.routes: list[NativeRoute] = []

    def add(self, name: str, path: str, pattern: str, handler: NativeHandler, *, policy: Policy) -> None:
        methods = frozenset({"GET", "HEAD"})
        self.routes.append(NativeRoute(name, path, re.compile(pattern), methods, handler, policy))

    def match(self, method: str, path: str) -> tuple[NativeRoute, dict[str, str]] | None:
        for route in self.routes:
            found = route.pattern.fullmatch(path)
            if found is not None and method in route.methods:
                return route, found.groupdict()
        return None
