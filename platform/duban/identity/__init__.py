"""Per-county single sign-on with OpenID Connect (统一身份认证): each county's provider, kept in the
county's own schema, the login flow against it, and how its users map to the county's accounts."""
