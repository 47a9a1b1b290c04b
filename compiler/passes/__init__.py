"""Graph-to-graph passes; each module holds one pure function and states its invariant."""
