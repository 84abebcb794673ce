"""Which packages the wheel holds: every package under caldavd/ as found, and
migrations/ (alembic's env.py and versions) as caldavd_migrations.  Found, not
listed, so a new package can never be left out of an install again."""

from setuptools import find_namespace_packages, setup


def _migrations() -> list[str]:
    found = find_namespace_packages(where="migrations", exclude=["__pycache__*"])
    return ["caldavd_migrations", *(f"caldavd_migrations.{name}" for name in found)]


setup(packages=[*find_namespace_packages(include=["caldavd", "caldavd.*"],
                                         exclude=["*.__pycache__"]),
                *_migrations()])
