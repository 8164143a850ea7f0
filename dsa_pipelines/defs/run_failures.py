"""Why a run failed, as text a user can act on (read from the run's event log)."""

from __future__ import annotations

import dagster as dg

_WRAPPERS = {"DagsterExecutionStepExecutionError", "Failure", "DagsterUserCodeExecutionError"}


def _error_chain(error: object) -> list:
    chain = []
    while error is not None:
        chain.append(error)
        error = getattr(error, "cause", None) or getattr(error, "context", None)
    return chain


def _first_line_block(message: str) -> str:
    """``pkg.mod.InvalidFile: text`` → ``InvalidFile: text`` (the user's message, no module path)."""
    head, sep, rest = message.strip().partition(": ")
    return f"{head.rsplit('.', 1)[-1]}{sep}{rest}" if sep and " " not in head else message.strip()


def _describe(error: object) -> str:
    chain = _error_chain(error)
    user = [e for e in chain if e.cls_name not in _WRAPPERS] or chain
    return _first_line_block(user[0].message) if user else ""


def run_failure_text(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """The failure messages of a run: one line per failed step, or the run's own failure.

    For a step that raised a ``DsaError`` (directly or as the cause of a ``dg.Failure``)
    the line is ``<ErrorClass>: <message>`` — the message names file, row and column.
    A run that failed before any step (bad config, a resource that could not start)
    yields the run failure's message instead.
    """
    lines: list[str] = []
    events = instance.all_logs(run_id, of_type={dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE})
    for record in events:
        event = record.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            data = event.step_failure_data
            user = data.user_failure_data
            text = _describe(data.error) if data.error else ""
            if user is not None and user.description and (not text or user.description not in text):
                text = user.description
            lines.append(f"step {event.step_key}: {text or record.message}")
        elif not lines:
            error = getattr(event.event_specific_data, "error", None)
            lines.append(_describe(error) if error is not None else (record.message or "the run failed"))
    return lines
