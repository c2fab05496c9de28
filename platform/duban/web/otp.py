"""TOTP second factor (django-otp): setting up a device, confirming it, removing it.

A device is created unconfirmed when a user opens ``/account/otp/``; it counts (the login then
asks for a code) only once the user has typed a valid code from the authenticator app.
Confirming and removing a device are actions of ``duban.accounts.actions`` (audited, one
transaction each); the code is checked here first.
"""

from __future__ import annotations

from base64 import b32encode
from urllib.parse import quote, urlencode

import qrcode
import qrcode.image.svg
from django.db import connection
from django_otp.plugins.otp_totp.models import TOTPDevice

from duban.accounts.actions import do_confirm_device, do_remove_device
from duban.web.middleware import OTP_ROLES

DEVICE_NAME = "authenticator"


class OTPError(ValueError):
    pass


def may_use_otp(user) -> bool:
    return getattr(user, "is_authenticated", False) and user.role in OTP_ROLES


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def pending_device(user) -> TOTPDevice:
    """The user's unconfirmed device (created on first use), to be scanned and confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def secret_base32(device: TOTPDevice) -> str:
    return b32encode(device.bin_key).decode().rstrip("=")


def issuer() -> str:
    """督办 · <county name> (the public host: 督办平台), so that an authenticator app holding
    codes for two counties tells them apart."""
    tenant = getattr(connection, "tenant", None)
    name = getattr(tenant, "name", None) or "督办平台"
    return f"督办·{name}".replace(":", "")


def config_url(device: TOTPDevice) -> str:
    label = f"{issuer()}:{device.user.get_username()}"
    params = urlencode({"secret": secret_base32(device), "algorithm": "SHA1", "digits": device.digits,
                        "period": device.step})
    return f"otpauth://totp/{quote(label)}?{params}&issuer={quote(issuer())}"


def qr_svg(text: str) -> str:
    """An inline SVG QR code (no image file, no third-party service)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    svg = image.to_string(encoding="unicode")
    if svg.startswith("<?xml"):
        svg = svg.split("?>", 1)[1]
    return svg.strip()


def _check(device: TOTPDevice, token: str) -> None:
    token = (token or "").strip().replace(" ", "")
    allowed, _info = device.verify_is_allowed()
    if not allowed:
        raise OTPError("throttled")
    if not (token.isdigit() and len(token) == device.digits) or not device.verify_token(token):
        raise OTPError("invalid")


def confirm_device(user, token: str) -> TOTPDevice:
    """Confirm the user's pending device with a code from the authenticator app. The code is
    checked here, before the action (a wrong code counts against the device's throttle and must
    not be rolled back with the action's transaction)."""
    if not may_use_otp(user):
        raise OTPError("role")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        raise OTPError("no_device")
    _check(device, token)
    return do_confirm_device(device, actor=user)


def remove_device(user, token: str) -> None:
    """Turn the second factor off; needs a current code (checked before the action, as above)."""
    device = confirmed_device(user)
    if device is None:
        raise OTPError("no_device")
    _check(device, token)
    do_remove_device(device, actor=user)


def verify_login_code(user, token: str) -> TOTPDevice:
    """The confirmed device that accepts ``token`` (raises OTPError otherwise). Wrong codes
    count against the device's own throttle (django-otp doubles the wait after each)."""
    device = confirmed_device(user)
    if device is None:
        raise OTPError("no_device")
    _check(device, token)
    return device
