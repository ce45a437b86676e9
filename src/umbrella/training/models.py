"""Training: the courses that qualify the recipient's crews, and the people nominated to them.

A `CourseType` is a qualification and the course that gives it (length in weeks, language), usually for one
crew-served system. A `Course` is one instance a donor offers (provider, training site, dates, seats); its seats
count as the donor's in-kind support at their seat value. The recipient nominates trainees to it by a
pseudonymous identifier and unit, and records their attendance and graduation.

No trainee is named here. Umbrella is read by every donor's liaison officers and keeps an append-only ledger that
cannot forget: a name, birth date or service number written into it could never be erased and would expose the
people the recipient sends abroad. Readiness needs only how many people of which unit hold which qualification,
so a trainee is a code the recipient's own personnel system can resolve and nobody else can (see
`docs/training.md`).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from umbrella.core.access import Actor, Marking, VisibleQuerySet, visibility_q
from umbrella.core.models import OwnedModel, marking_field
from umbrella.pledges.models import REASON_MAX_LENGTH

MOST_SEATS = 5000  # the most seats one course may have
LANGUAGE_VALIDATOR = RegexValidator(r"^[a-z]{2}$", _("A two-letter ISO 639-1 language code, e.g. en, uk, de."))
# At least one digit: a pseudonym such as T-47-00123 has some, a name has none, so "IVAN-PETRENKO" typed by
# mistake is refused as well as "Ivan Petrenko".
TRAINEE_VALIDATOR = RegexValidator(
    r"^(?=[A-Z0-9-]*[0-9])[A-Z0-9][A-Z0-9-]{3,39}$",
    _(
        "“%(value)s” is not a pseudonymous identifier: give 4 to 40 capital letters, digits and hyphens with at "
        "least one digit, e.g. T-47-00123; never a name or a service number."
    ),
)


class CourseType(OwnedModel):
    """A qualification and the course that gives it: "Patriot launcher crew", 10 weeks, in English."""

    code = models.CharField(
        _("code"),
        max_length=40,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9][A-Z0-9-]*$", _("Capital letters, digits and hyphens, e.g. PATRIOT-OP."))],
    )
    name = models.CharField(_("name"), max_length=200)
    qualification = models.CharField(
        _("qualification"), max_length=200, help_text=_("What a graduate is qualified as, e.g. Patriot launcher crew.")
    )
    system = models.ForeignKey(
        "catalog.ItemType",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="course_types",
        verbose_name=_("system"),
        help_text=_("The crew-served system whose crews it qualifies; empty for a course that qualifies for none."),
    )
    weeks = models.PositiveSmallIntegerField(_("length (weeks)"), validators=[MinValueValidator(1), MaxValueValidator(104)])
    language = models.CharField(_("language"), max_length=2, default="en", validators=[LANGUAGE_VALIDATOR])
    seat_value_eur = models.DecimalField(
        _("value of one seat (EUR)"),
        max_digits=14,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
        help_text=_("What one trainee's place costs its provider: the in-kind value a seat counts for."),
    )
    source = models.CharField(_("source"), max_length=500, blank=True, help_text=_("Where its length comes from."))
    marking = marking_field(Marking.PARTICIPANTS)

    class Meta:
        ordering = ["code"]
        verbose_name = _("course type")
        verbose_name_plural = _("course types")

    def get_absolute_url(self) -> str:
        return reverse("training-course-type", args=[self.pk])

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        if self.system_id is not None and not self.system.crew_size:
            raise ValidationError({"system": _("Only a crew-served system (an item type with a crew size) needs crews.")})


class CourseState(models.TextChoices):
    OFFERED = "offered", _("offered")
    CONFIRMED = "confirmed", _("confirmed")
    COMPLETED = "completed", _("completed")
    CANCELLED = "cancelled", _("cancelled")


class Course(OwnedModel):
    """One instance of a course type a donor offers: where, when, how many seats."""

    course_type = models.ForeignKey(CourseType, on_delete=models.PROTECT, related_name="courses", verbose_name=_("course type"))
    reference = models.CharField(_("reference"), max_length=80, help_text=_("The provider's own reference."))
    provider = models.CharField(
        _("provider"), max_length=200, help_text=_("Who trains, e.g. the school or the unit that runs the course.")
    )
    site = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("training site"))
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    seats = models.PositiveSmallIntegerField(_("seats"), validators=[MinValueValidator(1), MaxValueValidator(MOST_SEATS)])
    language = models.CharField(_("language"), max_length=2, validators=[LANGUAGE_VALIDATOR])
    interpreters = models.PositiveSmallIntegerField(
        _("interpreters"), default=0, help_text=_("Interpreters the provider brings, for a course not in Ukrainian.")
    )
    seat_value_eur = models.DecimalField(
        _("value of one seat (EUR)"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text=_("Counts as the donor's in-kind support per seat; the course type's value when left empty."),
    )
    state = models.CharField(_("state"), max_length=10, choices=CourseState.choices, default=CourseState.OFFERED, editable=False)
    cancel_reason = models.CharField(_("reason for cancellation"), max_length=REASON_MAX_LENGTH, blank=True, editable=False)

    history_shows_values = ("cancel_reason",)

    class Meta:
        ordering = ["starts_on", "id"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="training_course_ends_after_it_starts",
                violation_error_message=_("A course cannot end before it starts."),
            )
        ]

    def get_absolute_url(self) -> str:
        return reverse("training-course", args=[self.pk])

    def __str__(self) -> str:
        return f"{self.label} ({self.starts_on:%Y-%m-%d})"

    @property
    def label(self) -> str:
        """The course type's code and the reference, once: a reference often begins with the code (F16-MAINT-A)."""
        code = self.course_type.code
        return self.reference if self.reference.upper().startswith(code) else f"{code} {self.reference}"

    def clean(self) -> None:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": _("A course cannot end before it starts.")})

    @property
    def value_eur(self):
        return self.seat_value_eur * self.seats


class NominationState(models.TextChoices):
    NOMINATED = "nominated", _("nominated")
    ATTENDING = "attending", _("attending")
    GRADUATED = "graduated", _("graduated")
    FAILED = "failed", _("did not graduate")
    WITHDRAWN = "withdrawn", _("withdrawn")


class NominationQuerySet(VisibleQuerySet):
    def visible_to(self, actor: Actor) -> NominationQuerySet:
        """The recipient (owner), the headquarters (coordination marking) and the donor running the course, who
        needs its trainee list; not other donors, whatever the course's own marking."""
        condition = visibility_q(actor)
        if actor.is_member and not actor.is_system:
            condition |= models.Q(course__owner=actor.organization)
        return self.filter(condition)


class Nomination(OwnedModel):
    """One trainee, by pseudonymous identifier and unit, on one course: nominated, attending, then graduated or
    not. Graduates hold the course type's qualification for their unit from the day they graduate."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="nominations", verbose_name=_("course"))
    trainee = models.CharField(_("trainee"), max_length=40, validators=[TRAINEE_VALIDATOR])
    unit = models.ForeignKey("eum.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    state = models.CharField(
        _("state"), max_length=10, choices=NominationState.choices, default=NominationState.NOMINATED, editable=False
    )
    graduated_on = models.DateField(_("graduated on"), null=True, blank=True, editable=False)
    reason = models.CharField(_("reason"), max_length=REASON_MAX_LENGTH, blank=True, editable=False)

    objects = NominationQuerySet.as_manager()
    history_shows_values = ("reason", "graduated_on")

    class Meta:
        ordering = ["course_id", "trainee"]
        verbose_name = _("nomination")
        verbose_name_plural = _("nominations")
        constraints = [
            models.UniqueConstraint(
                fields=["course", "trainee"],
                name="training_one_nomination_per_trainee_and_course",
                violation_error_message=_("This trainee is already nominated to this course."),
            )
        ]

    def get_absolute_url(self) -> str:
        return reverse("training-nomination", args=[self.pk])

    def __str__(self) -> str:
        return f"{self.trainee} — {self.course}"
