"""The HubSpot API as the connector needs it, over the official SDK (hubspot-api-client).

Each SDK package (objects, associations v4, pipelines, properties, oauth) gets its own
``Configuration`` with ``host`` = the connection's base URL. Two SDK behaviours are overridden:
its urllib3 pool retries GETs answered 429 + Retry-After by itself, sleeping for real and hiding
the failure from our classification, so retries are switched off (``retries = False``); and it
reads a truncated JSON body as a model whose fields are all None, which every parser below
rejects as a retriable incomplete response.

Every call runs in ``with_retries``; inside one attempt an expired OAuth token is refreshed
once and the call repeated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import hubspot.crm.associations.v4 as associations_v4
import hubspot.crm.objects as crm_objects
import hubspot.crm.pipelines as crm_pipelines
import hubspot.crm.properties as crm_properties
import hubspot.marketing.events as marketing_events
import hubspot.marketing.forms as marketing_forms
import hubspot.oauth as oauth

from connectors.base import ApiUsage
from connectors.clock import ServerClock
from connectors.errors import AuthExpiredError, FatalError
from connectors.hubspot.auth import HubSpotCredentials
from connectors.hubspot.errors import (
    AuthenticationFailed,
    classify,
    header,
    incomplete,
)
from connectors.outbound import OutboundGuard
from connectors.retry import RetryPolicy, with_retries

T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

REQUEST_TIMEOUT = (10.0, 60.0)  # connect, read (seconds)
# Ids per association batch read (HubSpot changelog, "Batch Read Limit for HubSpot Associations
# API", effective 2025-02-10: at most 1000 inputs per request body).
ASSOCIATION_BATCH_LIMIT = 1000


@dataclass(frozen=True)
class HubSpotObject:
    """One CRM record as HubSpot returns it; ``archived_at`` only for archived listings."""

    id: str
    properties: Mapping[str, str | None]
    archived_at: datetime | None = None


@dataclass(frozen=True)
class ObjectPage:
    objects: tuple[HubSpotObject, ...]
    next_after: str | None  # paging.next.after: present while more results exist


@dataclass(frozen=True)
class Associated:
    """One associated record and the labels of its association types (None: unlabeled)."""

    to_id: str
    labels: tuple[str | None, ...]
    type_ids: tuple[int, ...]


@dataclass(frozen=True)
class Participation:
    """One contact's participation in a marketing event, in its current state (REGISTERED,
    ATTENDED, CANCELLED, NO_SHOW...)."""

    id: str
    contact_id: str | None
    state: str
    occurred_at: datetime
    event_id: str
    event_name: str | None


@dataclass(frozen=True)
class FormSubmission:
    id: str  # conversionId
    form_id: str
    submitted_at: datetime
    email: str | None
    page_url: str | None


@dataclass(frozen=True)
class Stage:
    pipeline_id: str
    pipeline_label: str
    id: str
    label: str
    is_closed: bool
    is_won: bool


class HubSpotClient:
    def __init__(
        self,
        credentials: HubSpotCredentials,
        retry: RetryPolicy,
        *,
        guard: OutboundGuard = OutboundGuard(),
    ) -> None:
        self._guard = guard
        self._credentials = credentials
        self._retry = retry
        self._token = credentials.access_token
        self._refresh_token = credentials.refresh_token
        self._usage: ApiUsage | None = None
        self._clock = ServerClock()
        self.on_token_rotated: Callable[[str], None] | None = None
        self._configurations: list[Any] = []
        objects_client = self._api_client(crm_objects)
        self._search = crm_objects.SearchApi(objects_client)
        self._basic = crm_objects.BasicApi(objects_client)
        self._associations = associations_v4.BatchApi(self._api_client(associations_v4))
        self._pipelines = crm_pipelines.PipelinesApi(self._api_client(crm_pipelines))
        self._properties = crm_properties.CoreApi(self._api_client(crm_properties))
        self._tokens = oauth.TokensApi(self._api_client(oauth))
        events_client = self._api_client(marketing_events)
        self._events = marketing_events.BasicApi(events_client)
        self._participations = marketing_events.RetrieveParticipantStateApi(events_client)
        self._raw = self._api_client(marketing_forms)

    def _api_client(self, package: Any) -> Any:
        configuration = package.Configuration(host=self._credentials.base_url.rstrip("/"))
        configuration.retries = False
        configuration.access_token = self._token
        self._configurations.append(configuration)
        client = _fast_datetimes(package.ApiClient)(configuration=configuration)
        self._guard.protect(client.rest_client.pool_manager)
        return client

    # -- the calls -------------------------------------------------------------------------

    def search(self, object_type: str, body: Mapping[str, Any]) -> ObjectPage:
        """POST /crm/v3/objects/{object_type}/search."""
        return self._call(
            lambda: self._search.do_search_with_http_info(
                object_type, dict(body), _request_timeout=REQUEST_TIMEOUT
            ),
            lambda result: _object_page(result, "search"),
        )

    def list_page(
        self, object_type: str, properties: Sequence[str], *, archived: bool, after: str | None
    ) -> ObjectPage:
        """GET /crm/v3/objects/{object_type}?archived=&limit=100&after=&properties=."""
        options: dict[str, Any] = {"limit": 100, "archived": archived}
        if properties:
            options["properties"] = list(properties)
        if after is not None:
            options["after"] = after
        return self._call(
            lambda: self._basic.get_page_with_http_info(
                object_type, _request_timeout=REQUEST_TIMEOUT, **options
            ),
            lambda result: _object_page(result, "list"),
        )

    def associations(
        self, from_type: str, to_type: str, ids: Sequence[str]
    ) -> dict[str, list[Associated]]:
        """POST /crm/v4/associations/{from}/{to}/batch/read, at most 1000 inputs a request,
        following each record's own ``paging.next.after`` until every association of every id
        is read."""
        found: dict[str, list[Associated]] = {record_id: [] for record_id in ids}
        pending: list[dict[str, str]] = [{"id": record_id} for record_id in ids]
        seen: set[tuple[str, str]] = set()
        while pending:
            batch, pending = pending[:ASSOCIATION_BATCH_LIMIT], pending[ASSOCIATION_BATCH_LIMIT:]
            rows = self._association_batch(from_type, to_type, batch)
            for from_id, associated, after in rows:
                found.setdefault(from_id, []).extend(associated)
                if after is not None:
                    if (from_id, after) in seen:
                        raise FatalError("HubSpot association paging repeated itself")
                    seen.add((from_id, after))
                    pending.append({"id": from_id, "after": after})
        return found

    def _association_batch(
        self, from_type: str, to_type: str, inputs: list[dict[str, str]]
    ) -> list[tuple[str, list[Associated], str | None]]:
        return self._call(
            lambda: _unparsed(
                self._associations.get_page_with_http_info(
                    from_type,
                    to_type,
                    {"inputs": inputs},
                    _request_timeout=REQUEST_TIMEOUT,
                    _preload_content=False,
                )
            ),
            _association_rows,
        )

    def marketing_events(self, after: str | None) -> tuple[list[str], str | None]:
        """GET /marketing/v3/marketing-events?limit=100&after=: one page of event ids."""
        options: dict[str, Any] = {"limit": 100}
        if after is not None:
            options["after"] = after
        return self._call(
            lambda: self._events.get_all_with_http_info(
                _request_timeout=REQUEST_TIMEOUT, **options
            ),
            _event_ids,
        )

    def participations(
        self, event_id: str, after: str | None
    ) -> tuple[list[Participation], str | None]:
        """GET /marketing/v3/marketing-events/participations/{id}/breakdown?limit=100&after=."""
        options: dict[str, Any] = {"limit": 100}
        if after is not None:
            options["after"] = after
        return self._call(
            lambda: (
                self._participations.get_participations_breakdown_by_marketing_event_id_with_http_info(
                    int(event_id), _request_timeout=REQUEST_TIMEOUT, **options
                )
            ),
            _participation_page,
        )

    def forms(self, after: str | None) -> tuple[list[str], str | None]:
        """GET /marketing/v3/forms/?limit=100&after=: one page of form ids (read as plain JSON:
        the SDK's form models demand every field of a form definition)."""
        return self._call(
            lambda: self._get("/marketing/v3/forms/", [("limit", 100)], after),
            _form_ids,
        )

    def form_submissions(
        self, form_id: str, after: str | None
    ) -> tuple[list[FormSubmission], str | None]:
        """GET /form-integrations/v1/submissions/forms/{id}?limit=50&after=, newest first."""
        return self._call(
            lambda: self._get(
                f"/form-integrations/v1/submissions/forms/{form_id}", [("limit", 50)], after
            ),
            lambda body: _submission_page(form_id, body),
        )

    def _get(self, path: str, query: list[tuple[str, Any]], after: str | None) -> Any:
        if after is not None:
            query = [*query, ("after", after)]
        return self._raw.call_api(
            path,
            "GET",
            query_params=query,
            header_params={"Accept": "application/json"},
            response_types_map={200: "object"},
            auth_settings=["oauth2"],
            _return_http_data_only=False,
            _request_timeout=REQUEST_TIMEOUT,
        )

    def deal_stages(self) -> dict[tuple[str, str], Stage]:
        """GET /crm/v3/pipelines/deals: every stage by (pipeline id, stage id)."""
        return self._call(
            lambda: self._pipelines.get_all_with_http_info(
                "deals", _request_timeout=REQUEST_TIMEOUT
            ),
            _stages,
        )

    def property_names(self, object_type: str) -> set[str]:
        """GET /crm/v3/properties/{object_type}."""
        return self._call(
            lambda: self._properties.get_all_with_http_info(
                object_type, _request_timeout=REQUEST_TIMEOUT
            ),
            _property_names,
        )

    def usage(self) -> ApiUsage | None:
        return self._usage

    def server_time(self) -> datetime:
        """HubSpot's clock: the Date header of its latest response (the deal pipelines are
        read when no response has come yet)."""
        moment = self._clock.now()
        if moment is None:
            self.deal_stages()
            moment = self._clock.now()
        if moment is None:
            raise FatalError("HubSpot answered without a Date header")
        return moment

    # -- one call: retries, token refresh, usage ---------------------------------------------

    def _call(self, request: Callable[[], Any], parse: Callable[[Any], T]) -> T:
        return with_retries(self._retry, lambda: self._attempt(request, parse))

    def _attempt(self, request: Callable[[], Any], parse: Callable[[Any], T]) -> T:
        """One try, and on a 401 one more: after a token refresh (OAuth), or as it is with a
        private app token (which never expires: HubSpot answers a stray 401 now and then, and one
        must not fail a whole run)."""
        if self._token is None:
            self._refresh()
        try:
            return parse(self._send(request))
        except AuthExpiredError:
            if self._credentials.is_oauth:
                self._refresh()
        try:
            return parse(self._send(request))
        except AuthExpiredError as again:
            raise AuthenticationFailed(f"{self._refused()}: {again.detail}") from None

    def _refused(self) -> str:
        if self._credentials.is_oauth:
            return "HubSpot refused the OAuth access token again after a refresh"
        return "HubSpot refused the private app access token twice in a row"

    def _send(self, request: Callable[[], Any]) -> Any:
        try:
            data, _status, headers = request()
        except Exception as error:
            self._note_usage(getattr(error, "headers", None))
            raise classify(error) from error
        self._note_usage(headers)
        return data

    def _refresh(self) -> None:
        """POST /oauth/v1/token with grant_type=refresh_token."""
        credentials = self._credentials
        try:
            response = self._send(
                lambda: self._tokens.create_with_http_info(
                    grant_type="refresh_token",
                    client_id=credentials.client_id,
                    client_secret=credentials.client_secret,
                    refresh_token=self._refresh_token,
                    _request_timeout=REQUEST_TIMEOUT,
                )
            )
        except (AuthExpiredError, FatalError) as refused:
            raise AuthenticationFailed(f"token refresh refused: {refused.detail}") from None
        token = getattr(response, "access_token", None)
        if not token:
            raise incomplete("token")
        self._set_token(token)
        rotated = getattr(response, "refresh_token", None)
        if rotated and rotated != self._refresh_token:
            self._refresh_token = rotated
            if self.on_token_rotated is not None:
                self.on_token_rotated(rotated)

    def _set_token(self, token: str) -> None:
        self._token = token
        for configuration in self._configurations:
            configuration.access_token = token

    def _note_usage(self, headers: Mapping[str, str] | None) -> None:
        if not headers:
            return
        self._clock.note(headers)
        limit = _as_int(header(headers, "X-HubSpot-RateLimit-Daily"))
        remaining = _as_int(header(headers, "X-HubSpot-RateLimit-Daily-Remaining"))
        if limit and remaining is not None:
            self._usage = ApiUsage(used=max(limit - remaining, 0), limit=limit)


# -- parsing the SDK's models into ours ------------------------------------------------------


def _fast_datetimes(api_client: type[Any]) -> type[Any]:
    """The SDK's ApiClient, reading datetimes with ``datetime.fromisoformat`` before falling back
    to its own dateutil parser: dateutil parsing every record's createdAt and updatedAt was most
    of the time spent reading a page. (The SDK's private method is name-mangled per class.)"""
    slow = api_client._ApiClient__deserialize_datetime

    def deserialize_datetime(self: Any, string: str) -> Any:
        try:
            return datetime.fromisoformat(string)
        except (TypeError, ValueError):
            return slow(self, string)

    return type(
        api_client.__name__,
        (api_client,),
        {"_ApiClient__deserialize_datetime": deserialize_datetime},
    )


def _as_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _object_page(result: Any, what: str) -> ObjectPage:
    results = getattr(result, "results", None)
    if results is None:
        raise incomplete(what)
    paging = getattr(result, "paging", None)
    following = getattr(paging, "next", None)
    return ObjectPage(
        objects=tuple(_object(item) for item in results),
        next_after=getattr(following, "after", None),
    )


def _object(item: Any) -> HubSpotObject:
    if item is None or item.id is None:
        raise incomplete("record")
    return HubSpotObject(
        id=str(item.id),
        properties=dict(item.properties or {}),
        archived_at=getattr(item, "archived_at", None),
    )


def _unparsed(response: Any) -> tuple[bytes, int, Mapping[str, str]]:
    """The body, status and headers of a response the SDK left unparsed (``_preload_content``
    False): a batch of associations is thousands of small objects, which the SDK's model
    deserialization reads many times slower than the JSON parser."""
    return response.data, response.status, response.headers


def _association_rows(body: bytes) -> list[tuple[str, list[Associated], str | None]]:
    """A 207 answer lists inputs without associations under ``errors``: nothing to read there."""
    try:
        results = json.loads(body).get("results")
    except (ValueError, AttributeError):
        results = None
    if not isinstance(results, list):
        raise incomplete("association")
    try:
        return [
            (str(row["from"]["id"]), _associated(row.get("to") or ()), _after(row))
            for row in results
        ]
    except (KeyError, TypeError):
        raise incomplete("association") from None


def _after(row: dict[str, Any]) -> str | None:
    after = ((row.get("paging") or {}).get("next") or {}).get("after")
    return None if after is None else str(after)


def _associated(items: Iterable[dict[str, Any]]) -> list[Associated]:
    return [
        Associated(
            to_id=str(item["toObjectId"]),
            labels=tuple(kind.get("label") for kind in item.get("associationTypes") or ()),
            type_ids=tuple(int(kind["typeId"]) for kind in item.get("associationTypes") or ()),
        )
        for item in items
    ]


def _next_after(result: Any) -> str | None:
    following = getattr(getattr(result, "paging", None), "next", None)
    return getattr(following, "after", None)


def _event_ids(result: Any) -> tuple[list[str], str | None]:
    results = getattr(result, "results", None)
    if results is None:
        raise incomplete("marketing events")
    return [str(event.object_id) for event in results], _next_after(result)


def _participation_page(result: Any) -> tuple[list[Participation], str | None]:
    results = getattr(result, "results", None)
    if results is None:
        raise incomplete("participations")
    return [_participation(item) for item in results], _next_after(result)


def _participation(item: Any) -> Participation:
    properties = item.properties
    links = item.associations
    contact = getattr(links, "contact", None)
    event = links.marketing_event
    occurred = getattr(properties, "occurred_at", None)
    return Participation(
        id=str(item.id),
        contact_id=str(contact.contact_id) if contact and contact.contact_id else None,
        state=str(properties.attendance_state or "REGISTERED"),
        occurred_at=_EPOCH + timedelta(milliseconds=int(occurred))
        if occurred is not None
        else item.created_at,
        event_id=str(event.marketing_event_id),
        event_name=event.name,
    )


def _plain_next(body: Mapping[str, Any]) -> str | None:
    following = (body.get("paging") or {}).get("next") or {}
    after = following.get("after")
    return str(after) if after else None


def _form_ids(body: Any) -> tuple[list[str], str | None]:
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise incomplete("forms")
    return [str(form["id"]) for form in body["results"]], _plain_next(body)


def _submission_page(form_id: str, body: Any) -> tuple[list[FormSubmission], str | None]:
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise incomplete("form submissions")
    found = []
    for item in body["results"]:
        values = {value.get("name"): value.get("value") for value in item.get("values") or ()}
        found.append(
            FormSubmission(
                id=str(item["conversionId"]),
                form_id=form_id,
                submitted_at=_EPOCH + timedelta(milliseconds=int(item["submittedAt"])),
                email=values.get("email"),
                page_url=item.get("pageUrl"),
            )
        )
    return found, _plain_next(body)


def _stages(result: Any) -> dict[tuple[str, str], Stage]:
    pipelines = getattr(result, "results", None)
    if pipelines is None:
        raise incomplete("pipelines")
    stages: dict[tuple[str, str], Stage] = {}
    for pipeline in pipelines:
        for stage in pipeline.stages or ():
            metadata = stage.metadata or {}
            is_closed = str(metadata.get("isClosed", "false")).lower() == "true"
            probability = _probability(metadata.get("probability"))
            stages[(pipeline.id, stage.id)] = Stage(
                pipeline_id=pipeline.id,
                pipeline_label=pipeline.label,
                id=stage.id,
                label=stage.label,
                is_closed=is_closed,
                is_won=is_closed and probability == 1.0,
            )
    return stages


def _probability(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _property_names(result: Any) -> set[str]:
    results = getattr(result, "results", None)
    if results is None:
        raise incomplete("properties")
    return {item.name for item in results}
