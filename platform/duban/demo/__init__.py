"""The demo: `duban seed_demo` and each area's demo data (matters, supervision, reports), made
through the areas' own actions. It sits on top of every area and nothing imports it."""
