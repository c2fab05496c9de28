"""A person's inbox and notification preferences (their own only)."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers

from api.base import CountyViewSet, county_action
from api.paging import Cursor
from duban.notifications.actions import do_mark_read, do_set_preferences
from duban.notifications.channels import available_channels, channel_default
from duban.notifications.events import EVENTS
from duban.notifications.models import Notification, Preference


class NotificationOut(serializers.ModelSerializer):
    event_label = serializers.SerializerMethodField()
    matter_number = serializers.CharField(source="matter.number", default=None, allow_null=True)

    class Meta:
        model = Notification
        fields = ["id", "event", "event_label", "title", "body", "url", "matter", "matter_number", "created_at",
                  "read_at"]

    def get_event_label(self, note) -> str:
        return str(EVENTS.get(note.event, note.event))


class UnreadOut(serializers.Serializer):
    unread = serializers.IntegerField()


class ReadIn(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, allow_empty=False,
                                help_text="the notifications to mark read (default: all unread)")


class ReadOut(serializers.Serializer):
    marked = serializers.IntegerField()


class PreferenceOut(serializers.Serializer):
    event = serializers.CharField()
    event_label = serializers.CharField()
    channel = serializers.CharField()
    enabled = serializers.BooleanField()


class PreferenceIn(serializers.Serializer):
    event = serializers.CharField(max_length=50)
    channel = serializers.CharField(max_length=50)
    enabled = serializers.BooleanField()


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(method="only_unread", label="true: only the unread ones; false: only the read")

    class Meta:
        model = Notification
        fields = ["event", "unread"]

    def only_unread(self, queryset, name, value):
        return queryset.filter(read_at__isnull=value)


@extend_schema_view(
    list=extend_schema(summary="My notifications, newest first (filter ?unread=true); by cursor: follow `next` to "
                               "read on, new ones arriving meanwhile push nothing off a page"),
    retrieve=extend_schema(summary="One of my notifications"),
)
class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CountyViewSet):
    queryset = Notification.objects.none()
    serializer_class = NotificationOut
    filterset_class = NotificationFilter
    pagination_class = Cursor
    ordering_fields = ("id", "created_at")
    ordering = ("-id",)

    def safely_get_queryset(self, user):
        return Notification.objects.filter(recipient=user).select_related("matter").order_by("-id")

    @county_action(output=UnreadOut, methods=("get",), detail=False, url_path="unread-count",
                   summary="How many of my notifications are unread")
    def unread_count(self, request, data):
        return {"unread": Notification.objects.filter(recipient=request.user, read_at__isnull=True).count()}

    @county_action(input=ReadIn, output=ReadOut, detail=False, url_path="mark-read",
                   summary="Mark some or all of my notifications read")
    def mark_read(self, request, data):
        return {"marked": do_mark_read(request.user, data.get("ids"))}


class PreferenceViewSet(CountyViewSet):
    """Which channels I get each event on (the inbox always)."""

    queryset = Preference.objects.none()
    serializer_class = PreferenceOut
    pagination_class = None
    filter_backends = []  # every event × channel in a fixed order: nothing to filter or order

    def safely_get_queryset(self, user):
        return Preference.objects.filter(user=user)

    def _rows(self, user) -> list[dict]:
        chosen = {(p.event, p.channel): p.enabled for p in self.get_queryset()}
        channels = available_channels()
        return [{"event": event, "event_label": str(label), "channel": code,
                 "enabled": chosen.get((event, code), channel_default(channel, event))}
                for event, label in EVENTS.items() for code, channel in channels.items()]

    @extend_schema(summary="My notification preferences: every event × channel", responses=PreferenceOut(many=True))
    def list(self, request):
        return self.respond(PreferenceOut, self._rows(request.user), many=True)

    @extend_schema(summary="Turn a channel on or off for an event", request=PreferenceIn,
                   responses=PreferenceOut(many=True))
    def create(self, request):
        serializer = PreferenceIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        do_set_preferences(request.user, [(data["event"], data["channel"], data["enabled"])])
        return self.respond(PreferenceOut, self._rows(request.user), many=True)
