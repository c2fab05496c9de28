"""The web UI: server-rendered Django templates with htmx, Simplified Chinese first."""
