"""HTTP layer: routes, middleware and the mapping of the error tree to responses."""
