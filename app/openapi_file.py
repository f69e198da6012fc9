"""openapi.yaml, rendered from the app: the committed file must equal this output."""

import yaml

from app.main import create_app


def render() -> str:
    return yaml.safe_dump(create_app().openapi(), sort_keys=False, allow_unicode=True, width=100)
