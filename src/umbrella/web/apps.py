from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "umbrella.web"
    label = "web"
    verbose_name = "Web"

    def ready(self):
        from django.contrib import admin

        from umbrella.web.auth import ThrottledAdminSignInForm, refusing_signed_in_people

        admin.site.login_form = ThrottledAdminSignInForm
        admin.site.login = refusing_signed_in_people(admin.site.login, admin.site)
