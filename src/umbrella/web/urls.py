from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

from umbrella.web import auth, ledger_pages, views
from umbrella.web.auth import ThrottledSignInForm

urlpatterns = [
    path("", views.home, name="home"),
    # Browsers ask for /favicon.ico whatever the page links; the icon itself is a static file.
    path("favicon.ico", RedirectView.as_view(url=static("web/favicon.svg")), name="favicon"),
    path(
        "sign-in/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=ThrottledSignInForm),
        name="login",
    ),
    path("sign-out/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth.change_password, name="change-password"),
    path("act-for/", views.switch_organization, name="switch-organization"),
    path("ledger/", ledger_pages.ledger_entries, name="ledger"),
    path("ledger/checkpoint/", ledger_pages.ledger_checkpoint, name="ledger-checkpoint"),
    path("import/", views.import_upload, name="import"),
    path("import/done/", views.import_done, name="import-done"),
    path("import/template/<slug:kind>.csv", views.import_template, name="import-template"),
    path("import/<str:token>/commit/", views.import_commit, name="import-commit"),
]
