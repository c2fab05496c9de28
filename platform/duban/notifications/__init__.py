"""Notifications: an in-app inbox per user, and deliveries through channels (email, webhooks,
channels contributed by rule-pack plugins) by a transactional outbox."""
