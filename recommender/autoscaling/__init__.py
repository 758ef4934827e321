"""Autoscaling advice: demand series, daily/weekly patterns, forecasts and replica policies."""
