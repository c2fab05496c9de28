"""Counties (tenants), their cities and host names; provisioning; cross-county views."""
