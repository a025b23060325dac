"""Classification: is this response (or stream event) a billing gate, and what does it say.

The entry points of the pipeline that the transports and the stream look-ahead call.
"""

from __future__ import annotations

from .events import classify_event

__all__ = ["classify_event"]
