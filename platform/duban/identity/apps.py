from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "duban.identity"
    label = "identity"
    verbose_name = _("统一身份认证")
