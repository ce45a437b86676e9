from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "umbrella.web"
    label = "web"
    verbose_name = "Web"

    def ready(self):
        from django.contrib import admin

        from umbrella.web.auth import ThrottledAdminSignInForm, admin_password_change, refusing_signed_in_people

        admin.site.login_form = ThrottledAdminSignInForm
        admin.site.login = refusing_signed_in_people(admin.site.login, admin.site)
        # Django's own password change saves the account by hand, outside the ledger; the admin's link leads to
        # the site's page, which changes it through the services.
        admin.site.password_change = admin_password_change
