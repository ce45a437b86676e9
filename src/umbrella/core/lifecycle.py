"""State machines for records with a lifecycle (requirement lists, pledges, later shipments and money)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from umbrella.core.errors import InvalidTransition


@dataclass(frozen=True)
class Step:
    name: str
    sources: frozenset[str]
    target: str
    label: str


class Lifecycle:
    def __init__(self, *steps: Step) -> None:
        self.steps = {step.name: step for step in steps}

    def step(self, name: str, current: str) -> Step:
        """The step `name` from state `current`, or InvalidTransition naming the steps that are possible."""
        step = self.steps.get(name)
        if step is None:
            raise InvalidTransition(_("There is no step called %(step)s.") % {"step": repr(name)}, step=name, state=current)
        if current not in step.sources:
            possible = ", ".join(self.possible(current)) or _("none")
            raise InvalidTransition(
                _("Cannot %(step)s from state %(state)s; possible steps: %(possible)s.")
                % {"step": str(step.label).lower(), "state": repr(current), "possible": possible},
                step=name,
                state=current,
            )
        return step

    def possible(self, current: str) -> list[str]:
        return [name for name, step in self.steps.items() if current in step.sources]
