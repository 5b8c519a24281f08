"""A window closed right after runs: the lineage refresh the runs scheduled never outlives it
(no "Internal C++ object already deleted", no "Task exception was never retrieved")."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QApplication
from ui_helpers import run_to_end


def test_closing_after_two_quick_runs_leaves_no_task_behind(window, qt_loop, hello_dir):
    errors: list[dict] = []
    handler = qt_loop.get_exception_handler()
    qt_loop.set_exception_handler(lambda _loop, context: errors.append(context))
    try:
        assert window.open_path(hello_dir / "hello.twin")
        run_to_end(qt_loop, window.run_all())
        first = window.lineage_refresh
        run_to_end(qt_loop, window.run_all())  # before the first refresh was awaited
        second = window.lineage_refresh
        assert first is not None and second is not None and first is not second
        assert window.close()
        QApplication.processEvents()
        qt_loop.run_until_complete(asyncio.sleep(0.5))
        for task in (first, second):
            assert task.done()
            assert task.cancelled() or task.exception() is None
    finally:
        qt_loop.set_exception_handler(handler)
    assert errors == []
