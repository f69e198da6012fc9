"""Turns the user's plain ``postgresql://`` URL into the one SQLAlchemy's asyncpg driver takes."""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_SCHEMES = {"postgres", "postgresql", "postgresql+asyncpg", "postgresql+psycopg2"}


def async_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ValueError(f"DATABASE_URL must start with postgresql://, not {parts.scheme}://")
    query = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        # libpq spells TLS "sslmode"; asyncpg takes the same values as "ssl".
        query.append(("ssl" if key == "sslmode" else key, value))
    return urlunsplit(parts._replace(scheme="postgresql+asyncpg", query=urlencode(query)))
