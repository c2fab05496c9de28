"""Scoring: deductions from the county's rule pack and the resulting unit scores."""
