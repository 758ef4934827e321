"""Usage history: decaying histograms, daily memory peaks and per-container signal counters."""
