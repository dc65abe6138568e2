"""A fixed list of Triton endpoints, for development, CI, and clusters without discovery."""

from __future__ import annotations

from collections.abc import Iterable

from gateway.discovery.endpoints import OnChange, format_endpoint, parse_endpoint


class StaticEndpoints:
    """Reports one fixed endpoint list at `start()`; it never changes afterwards.

    The list is validated in the constructor so that a typo in configuration fails at start-up
    with the offending value in the message, not later as a connection error.
    """

    def __init__(self, urls: Iterable[str], on_change: OnChange) -> None:
        if isinstance(urls, str):
            raise TypeError(f"urls must be a list of 'host:port' strings, not the string {urls!r}")
        normalized = {format_endpoint(*parse_endpoint(url)) for url in urls}
        if not normalized:
            raise ValueError("no Triton endpoints given: need at least one 'host:port'")
        self._endpoints = sorted(normalized)
        self._on_change = on_change

    @property
    def endpoints(self) -> list[str]:
        """The validated, de-duplicated, sorted endpoints."""
        return list(self._endpoints)

    async def start(self) -> None:
        """Report the endpoints once."""
        self._on_change(list(self._endpoints))

    async def stop(self) -> None:
        """Nothing runs in the background; present for the common source interface."""
