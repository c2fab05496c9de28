"""REST API v1 (DRF): thin serializers and views that call the action functions."""
