from __future__ import annotations


def navigation(request) -> dict:
    """The signed-in actor, for the header of every page."""
    return {"actor": getattr(request, "actor", None)}
