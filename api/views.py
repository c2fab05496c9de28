"""API views. The county always comes from the host; the user from the credentials."""

from rest_framework.decorators import api_view
from rest_framework.response import Response


@api_view(["GET"])
def me(request):
    """Who am I, in which county."""
    user = request.user
    county = request.tenant
    return Response({
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "unit": user.unit.code if user.unit_id else None,
        "county": {"slug": county.slug, "name": county.name},
    })
