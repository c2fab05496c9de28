"""Rule packs: pluggy hook specifications, the plugin manager and the vendor conformance kit."""
