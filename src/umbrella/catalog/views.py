from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from umbrella.catalog import services
from umbrella.catalog.models import Compatibility, ItemType, ItemTypeAlias, PackageRule
from umbrella.catalog.queries import ITEM_TYPES, item_types, package_of
from umbrella.core.access import allowed, get_visible
from umbrella.core.numbers import format_eur
from umbrella.ui.forms import ActorForm, posted_version
from umbrella.ui.pages import ConfirmPage, DetailPage, FormPage, history_rows, list_or_export, submit


class ItemTypeForm(ActorForm):
    class Meta:
        model = ItemType
        fields = [
            "code",
            "name",
            "capability_area",
            "nsn",
            "unit_of_issue",
            "unit_value_eur",
            "valuation_basis",
            "standard",
            "sensitive",
            "bulk",
            "crew_size",
            "description",
            "marking",
        ]


class AliasForm(ActorForm):
    class Meta:
        model = ItemTypeAlias
        fields = ["name", "scheme"]


class CompatibilityForm(ActorForm):
    class Meta:
        model = Compatibility
        fields = ["kind", "target", "ratio", "note", "citation"]


class PackageRuleForm(ActorForm):
    class Meta:
        model = PackageRule
        fields = ["crews_per_system", "rounds_per_day", "days_of_supply", "spare_kits_per_system", "source", "marking"]


def _may_edit(request: HttpRequest) -> bool:
    return allowed(services.require_catalog_editor, request.actor)


def item_type_list(request: HttpRequest) -> HttpResponse:
    return list_or_export(
        request,
        ITEM_TYPES,
        item_types(request.actor),
        title=_("Catalog"),
        export_kind="item-types",
        create_url=reverse("item-type-new") if _may_edit(request) else None,
        create_label=_("New item type"),
        empty=_("No item types yet."),
    )


def item_type_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_visible(ItemType.objects.select_related("capability_area", "owner"), request.actor, pk=pk)
    nsn = item.parsed_nsn
    visible = ItemType.objects.visible_to(request.actor)
    links = Compatibility.objects.visible_to(request.actor).select_related("source", "target")
    page = DetailPage(
        title=item.name,
        obj=item,
        fields=[
            (_("Code"), item.code),
            (_("Capability area"), item.capability_area.label),
            (_("NATO Stock Number"), f"{nsn} (codified by {nsn.country})" if nsn else None),
            (_("Standard or calibre"), item.standard),
            (_("Unit of issue"), item.get_unit_of_issue_display()),
            (_("Unit value"), f"{format_eur(item.unit_value_eur)} ({item.get_valuation_basis_display()})"),
            (_("Sensitive (serial-tracked)"), _("yes") if item.sensitive else _("no")),
            (_("Bulk"), _("yes") if item.bulk else _("no")),
            (_("Crew size"), item.crew_size),
            (_("Description"), item.description),
            (_("Marking"), item.get_marking_display()),
            (_("Owner"), item.owner.name),
            (_("Version"), item.version),
        ],
        history=history_rows(item),
        extra={
            "links_from": links.filter(source=item, target__in=visible),
            "links_to": links.filter(target=item, source__in=visible),
            "package": package_of(request.actor, item) if item.crew_size else None,
            "aliases": ItemTypeAlias.objects.visible_to(request.actor).filter(item_type=item),
            "may_edit": _may_edit(request),
        },
    )
    return render(request, "catalog/item_type_detail.html", {"page": page})


@login_required
def item_type_create(request: HttpRequest) -> HttpResponse:
    services.require_catalog_editor(request.actor)
    form = ItemTypeForm(request.POST or None, actor=request.actor)
    page = FormPage(title=_("New item type"), forms=[form], submit_label=_("Create"), cancel_url=reverse("item-types"))
    return submit(
        request,
        page,
        lambda: services.create_item_type(actor=request.actor, fields=form.cleaned_data),
        done=_("Item type created."),
    )


@login_required
def item_type_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_visible(ItemType.objects.all(), request.actor, pk=pk)
    services.require_catalog_editor(request.actor)
    form = ItemTypeForm(request.POST or None, instance=item, actor=request.actor)
    page = FormPage(
        title=_("Edit %(name)s") % {"name": item.name},
        forms=[form],
        submit_label=_("Save"),
        cancel_url=item.get_absolute_url(),
        version=item.version,
    )
    return submit(
        request,
        page,
        lambda: services.update_item_type(
            actor=request.actor, item_type_id=pk, expected_version=posted_version(request), changes=form.changed_values()
        ),
        done=_("Saved."),
    )


@login_required
def item_type_delete(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_visible(ItemType.objects.all(), request.actor, pk=pk)
    services.require_catalog_editor(request.actor)
    if request.method == "POST":
        services.delete_item_type(actor=request.actor, item_type_id=pk, expected_version=posted_version(request))
        messages.success(request, _("Item type %(code)s deleted.") % {"code": item.code})
        return redirect("item-types")
    page = ConfirmPage(
        title=_("Delete %(name)s") % {"name": item.name},
        question=_("Delete this item type? This cannot be undone."),
        submit_label=_("Delete"),
        cancel_url=item.get_absolute_url(),
        version=item.version,
    )
    return render(request, "ui/confirm_page.html", {"page": page})


@login_required
def package_rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The package of a crew-served system: set the first time, changed after (one page for both)."""
    item = get_visible(ItemType.objects.all(), request.actor, pk=pk)
    services.require_catalog_editor(request.actor)
    rule = PackageRule.objects.visible_to(request.actor).filter(system=item).first()
    form = PackageRuleForm(request.POST or None, instance=rule, actor=request.actor)
    page = FormPage(
        title=_("Package of %(name)s") % {"name": item.name},
        forms=[form],
        submit_label=_("Save"),
        cancel_url=item.get_absolute_url(),
        version=rule.version if rule else None,
    )

    def save() -> PackageRule:
        if rule is None:
            return services.create_package_rule(actor=request.actor, fields={"system": item, **form.cleaned_data})
        return services.update_package_rule(
            actor=request.actor, rule_id=rule.pk, expected_version=posted_version(request), changes=form.changed_values()
        )

    return submit(request, page, save, done=_("Package saved."), redirect_to=item.get_absolute_url())


@login_required
def compatibility_create(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_visible(ItemType.objects.all(), request.actor, pk=pk)
    services.require_catalog_editor(request.actor)
    form = CompatibilityForm(request.POST or None, actor=request.actor)
    page = FormPage(
        title=_("Link %(name)s to another item") % {"name": item.name},
        forms=[form],
        submit_label=_("Add link"),
        cancel_url=item.get_absolute_url(),
    )
    return submit(
        request,
        page,
        lambda: services.create_compatibility(actor=request.actor, fields={"source": item, **form.cleaned_data}),
        done=_("Link added."),
        redirect_to=item.get_absolute_url(),
    )


@login_required
def compatibility_delete(request: HttpRequest, pk: int) -> HttpResponse:
    link = get_visible(Compatibility.objects.select_related("source", "target"), request.actor, pk=pk)
    services.require_catalog_editor(request.actor)
    if request.method == "POST":
        services.delete_compatibility(actor=request.actor, compatibility_id=pk, expected_version=posted_version(request))
        messages.success(request, _("Link removed."))
        return redirect(link.source)
    page = ConfirmPage(
        title=_("Remove link"),
        question=str(link),
        submit_label=_("Remove"),
        cancel_url=link.source.get_absolute_url(),
        version=link.version,
    )
    return render(request, "ui/confirm_page.html", {"page": page})


@login_required
def alias_create(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_visible(ItemType.objects.all(), request.actor, pk=pk)
    services.require_catalog_editor(request.actor)
    form = AliasForm(request.POST or None, actor=request.actor)
    page = FormPage(
        title=_("Another name for %(name)s") % {"name": item.name},
        forms=[form],
        submit_label=_("Add alias"),
        cancel_url=item.get_absolute_url(),
    )
    return submit(
        request,
        page,
        lambda: services.create_alias(actor=request.actor, fields={"item_type": item, **form.cleaned_data}),
        done=_("Alias added."),
        redirect_to=item.get_absolute_url(),
    )


@login_required
def alias_delete(request: HttpRequest, pk: int) -> HttpResponse:
    alias = get_visible(ItemTypeAlias.objects.select_related("item_type"), request.actor, pk=pk)
    services.require_catalog_editor(request.actor)
    if request.method == "POST":
        services.delete_alias(actor=request.actor, alias_id=pk, expected_version=posted_version(request))
        messages.success(request, _("Alias removed."))
        return redirect(alias.item_type)
    page = ConfirmPage(
        title=_("Remove alias"),
        question=str(alias),
        submit_label=_("Remove"),
        cancel_url=alias.item_type.get_absolute_url(),
        version=alias.version,
    )
    return render(request, "ui/confirm_page.html", {"page": page})
