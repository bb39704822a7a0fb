"""pyinfra release of Refractor: versioned virtualenvs, per-release config, rolling restarts."""
