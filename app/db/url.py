"""Turns the user's plain ``postgresql://`` URL into the one SQLAlchemy's asyncpg driver takes."""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_SCHEMES = {"postgres", "postgresql", "postgresql+asyncpg", "postgresql+psycopg2"}


class BadDatabaseUrl(ValueError):
    """DATABASE_URL is not a PostgreSQL URL; the message says so in one line."""


def async_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise BadDatabaseUrl(f"DATABASE_URL must start with postgresql://, not {parts.scheme}://")
    query = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        # libpq spells TLS "sslmode"; asyncpg takes the same values as "ssl".
        query.append(("ssl" if key == "sslmode" else key, value))
    return urlunsplit(parts._replace(scheme="postgresql+asyncpg", query=urlencode(query)))


def without_password(url: str) -> str:
    """The URL as it may be shown to a person: user, host, port and database, no password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=user + netloc))
