"""The web API: chat routes, request and reply models, docs, health, errors, middleware."""
