"""POST /api/v1/messages/{name}: a BPMN message from another system (an e-signature service
says `contract_signed`, the bank says `payment_received`) for the deal waiting for it.

The rules live in engine.usecases.messages; here only who may send:
- a token of a user who sees every deal (sales manager, admin) or holds the `integration`
  role reaches any deal, and may have a message kept until a deal waits for it;
- any other token reaches only the deals its user may see: a deal it may not see is "not
  found", word for word like a missing one, and a correlation never matches it.

Answers: 200 delivered (or a message id sent before: `duplicate` true, with the first
delivery's deal), 202 kept, 404 nothing waits, 409 several deals match (`instance_ids`),
422 a bad body.
"""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from engine.errors import NotFoundError
from engine.usecases.unit import MAX_ID
from webui.api.views import _body, _service, _user, bp

__all__ = ["post_message"]


@bp.post("/messages/<name>")
def post_message(name: str) -> ResponseReturnValue:
    body = _body("MessageDelivery")
    iid = body.get("instance_id")
    if iid is not None and int(iid) > MAX_ID:  # the schema lets 10 digits through
        # No row has such an id, and the database refuses to compare one (PostgreSQL: a 500).
        raise NotFoundError(f"no deal with id '{iid}'")
    result = _service().deliver_message(
        name,
        instance_id=body.get("instance_id"),
        correlate=body.get("correlate"),
        data=body.get("data"),
        message_id=body.get("message_id"),
        sender=_user(),
    )
    kept = result["status"] == "kept" and not result["duplicate"]
    return result, 202 if kept else 200
