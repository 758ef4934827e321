"""Node consolidation: nodes whose pods fit elsewhere, and the cluster index it reasons over."""
