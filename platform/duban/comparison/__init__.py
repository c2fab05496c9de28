"""City comparison (市级对比): per-county metrics per period, kept as snapshots in the public
schema, compared across a city's counties under each county's own rule pack and under one
reference pack the city chooses. See docs/metrics.md."""
