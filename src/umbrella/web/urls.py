from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

from umbrella.web import views
from umbrella.web.auth import ThrottledSignInForm

urlpatterns = [
    path("", views.home, name="home"),
    # Browsers ask for /favicon.ico whatever the page links; the icon itself is a static file.
    path("favicon.ico", RedirectView.as_view(url=static("web/favicon.svg")), name="favicon"),
    path("sign-in/", auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=ThrottledSignInForm), name="login"),
    path("sign-out/", auth_views.LogoutView.as_view(), name="logout"),
    path("act-for/", views.switch_organization, name="switch-organization"),
    path("import/", views.import_upload, name="import"),
    path("import/<str:token>/commit/", views.import_commit, name="import-commit"),
]
