"""The JSON API (/api/v1): the same rules as the pages, bearer tokens instead of a session, one blueprint
per resource.

Errors are {"error": {"code", "message", "fields"}} with 400, 401, 403, 404, 409 or 422.
"""
from flask import Blueprint

from app.web.api import (
    contracts,
    customers,
    events,
    incidents,
    instances,
    leads,
    me,
    openapi,
    processes,
    purchases,
    relationships,
    tasks,
    tokens,
)

RESOURCES = (tokens, processes, instances, tasks, customers, purchases, events, me, incidents, leads,
             relationships, contracts)
bp = Blueprint("api", __name__)
for resource in RESOURCES:
    bp.register_blueprint(resource.bp)
bp.register_blueprint(openapi.bp)  # the document of them all, and its page
