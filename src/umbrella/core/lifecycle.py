"""State machines for records with a lifecycle (requirement lists, pledges, later shipments and money)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, IntegerField, TextChoices, Value, When
from django.utils.translation import gettext as _

from umbrella.core.errors import InvalidTransition


@dataclass(frozen=True)
class Step:
    name: str
    sources: frozenset[str]
    target: str
    label: str


def in_lifecycle_order(field: str, states: type[TextChoices]) -> Case:
    """An ordering expression: `field`'s states in the order the lifecycle declares them, not alphabetically."""
    return Case(
        *(When(**{field: state}, then=Value(index)) for index, state in enumerate(states.values)),
        default=Value(len(states.values)),
        output_field=IntegerField(),
    )


class Lifecycle:
    def __init__(self, *steps: Step) -> None:
        self.steps = {step.name: step for step in steps}

    def step(self, name: str, record: Any, *, may: Callable[[str], bool] = lambda step: False) -> Step:
        """The step `name` from the record's state, or InvalidTransition saying, as a person would, why not and
        which steps the reader may take instead (`may`: whether this reader may take a step now). The error
        carries the record's address, so a page refusing it links back to the record, and each step the reader
        could take with where it is taken (`next_steps`): the record's `step_url(name)` when it has a page per
        step, else the record's own page, where the step's button is."""
        step = self.steps.get(name)
        if step is None:
            raise InvalidTransition(_("There is no step called %(step)s.") % {"step": repr(name)}, step=name, state=record.state)
        if record.state not in step.sources:
            why = self._why_not(step, record)
            yours = [other for other in self.possible(record.state) if may(other)]
            raise InvalidTransition(
                self._refusal(why, yours),
                step=name,
                state=record.state,
                record=str(record),
                url=record.get_absolute_url(),
                reason=why,
                next_steps=[{"label": str(self.steps[other].label), "url": _step_url(record, other)} for other in yours],
            )
        return step

    def possible(self, current: str) -> list[str]:
        return [name for name, step in self.steps.items() if current in step.sources]

    def _why_not(self, step: Step, record: Any) -> str:
        names = {"record": record._meta.verbose_name, "state": record.get_state_display(), "step": step.label}
        if record.state == step.target:
            return _("This %(record)s is already %(state)s.") % names
        return _("This %(record)s is %(state)s, so “%(step)s” is not possible now.") % names

    def _refusal(self, why: str, yours: list[str]) -> str:
        if not yours:
            return why
        steps = ", ".join(str(self.steps[name].label) for name in yours)
        return f"{why} {_('You could: %(steps)s.') % {'steps': steps}}"


def _step_url(record: Any, step: str) -> str:
    step_url = getattr(record, "step_url", None)
    return step_url(step) if step_url is not None else record.get_absolute_url()
