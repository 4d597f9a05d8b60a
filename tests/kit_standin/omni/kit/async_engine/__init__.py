"""Test-only stand-in for omni.kit.async_engine.run_coroutine: Kit runs coroutines on its own loop.

Without a running loop (a script passed to ``--exec`` runs before Kit's loop turns) the coroutine is queued;
``run_pending()`` (test helper) plays Kit's loop until every queued coroutine is done.
"""

import asyncio

pending: list = []


def run_coroutine(coroutine):
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        pending.append(coroutine)
        return coroutine
    return loop.create_task(coroutine)


def run_pending():
    results = []
    while pending:
        results.append(asyncio.run(pending.pop(0)))
    return results
