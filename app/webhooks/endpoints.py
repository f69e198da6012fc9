from typing import Annotated

from fastapi import APIRouter, Depends

from app.api.deps import Principal, Session, require
from app.api.pagination import Page, Paging, time_key
from app.api.roles import Right
from app.api.schemas import PublicId
from app.api.transaction import TransactionRoute
from app.webhooks import service as webhooks
from app.webhooks.schemas import (
    WebhookAttemptOut,
    WebhookEndpointCreated,
    WebhookEndpointIn,
    WebhookEndpointOut,
)

router = APIRouter(
    prefix="/v1/webhook-endpoints",
    tags=["webhooks"],
    route_class=TransactionRoute,
)

Ops = Annotated[Principal, Depends(require(Right.MANAGE_WEBHOOKS))]


@router.post(
    "",
    response_model=WebhookEndpointCreated,
    status_code=201,
    summary="Add an endpoint that receives events; its signing secret is shown only here",
    description="From then on every event of the given types (GET /v1/events) is POSTed to "
    "the URL, in feed order, signed as Standard Webhooks (`webhook-id`, `webhook-timestamp`, "
    "`webhook-signature`), and retried with exponential backoff until a 2xx answer or the "
    "retry horizon (24 hours by default).",
)
async def post_endpoint(
    body: WebhookEndpointIn, session: Session, principal: Ops
) -> WebhookEndpointCreated:
    endpoint = await webhooks.create(session, body, principal.actor)
    return WebhookEndpointCreated.model_validate(endpoint)


@router.get(
    "",
    response_model=Page[WebhookEndpointOut],
    summary="Endpoints not deleted, newest first",
)
async def list_endpoints(session: Session, _: Ops, paging: Paging) -> Page[WebhookEndpointOut]:
    rows = await webhooks.live(session, paging.after_time_key(), paging.fetch)
    items = [WebhookEndpointOut.model_validate(row) for row in rows]
    return paging.page(items, key=lambda e: time_key(e.created_at, e.id))


@router.get(
    "/{endpoint_id}",
    response_model=WebhookEndpointOut,
    summary="An endpoint (deleted ones too); never its secret",
)
async def get_endpoint(endpoint_id: PublicId, session: Session, _: Ops) -> WebhookEndpointOut:
    return WebhookEndpointOut.model_validate(await webhooks.get(session, endpoint_id))


@router.delete(
    "/{endpoint_id}",
    response_model=WebhookEndpointOut,
    summary="Delete an endpoint: its deliveries stop; it stays readable with its attempts",
)
async def delete_endpoint(endpoint_id: PublicId, session: Session, _: Ops) -> WebhookEndpointOut:
    return WebhookEndpointOut.model_validate(await webhooks.delete(session, endpoint_id))


@router.get(
    "/{endpoint_id}/deliveries",
    response_model=Page[WebhookAttemptOut],
    summary="Every delivery attempt to an endpoint, newest first",
)
async def list_deliveries(
    endpoint_id: PublicId, session: Session, _: Ops, paging: Paging
) -> Page[WebhookAttemptOut]:
    items = await webhooks.attempts(session, endpoint_id, paging.after_time_key(), paging.fetch)
    return paging.page(items, key=lambda a: time_key(a.attempted_at, a.id))
