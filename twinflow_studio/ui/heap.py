"""Keeping the garbage collector's full passes off the UI's back.

An open project is a few hundred thousand long-lived Python objects (canvas items, their
wrappers, the document). A full (generation 2) collection walks all of them, ~0.1 s per
200k objects, and it runs on whichever thread allocates: a viewer loading a table on its
worker thread would stall the window for that long. Once a project is open, the heap is
collected once and frozen (``gc.freeze``: survivors move to a generation the collector no
longer walks); the next open unfreezes first, so the previous project's objects are
collected then and nothing is kept for good.
"""

from __future__ import annotations

import gc


def settle_heap() -> None:
    gc.unfreeze()
    gc.collect()
    gc.freeze()
