"""caldavd's alembic migrations (installed as the package ``caldavd_migrations``)."""
