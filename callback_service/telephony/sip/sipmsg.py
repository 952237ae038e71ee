"""SIP messages pyVoIP 1.6.8 gets wrong or never sends, built per RFC 3261 (see ``phone.py``).

Inputs are pyVoIP's parsed header dicts (``msg.headers``) or the raw INVITE text we sent ourselves.
"""

from __future__ import annotations

import uuid
from typing import Any

Headers = dict[str, Any]


def branch() -> str:
    return "z9hG4bK" + uuid.uuid4().hex[:24]


def uri(header_value: str) -> str:
    """``"Name" <sip:u@h:p;x>;tag=1`` -> ``sip:u@h:p;x``."""
    if "<" in header_value:
        return header_value.split("<", 1)[1].split(">", 1)[0]
    return header_value.split(";", 1)[0].strip()


def raw_headers(text: str) -> dict[str, str]:
    """First value of each header of a raw SIP message."""
    out: dict[str, str] = {}
    for line in text.split("\r\n\r\n", 1)[0].split("\r\n")[1:]:
        name, _, value = line.partition(": ")
        out.setdefault(name, value)
    return out


def route_set(headers: Headers, *, caller: bool) -> list[str]:
    """The dialog's Route set from Record-Route: reversed for the caller (RFC 3261 12.1.2)."""
    raw = headers.get("Record-Route")
    if not raw:
        return []
    routes = [r.strip() for r in str(raw).split(",")]
    return list(reversed(routes)) if caller else routes


def _tagged(party: Headers) -> str:
    return f"{party['raw']};tag={party['tag']}"


def in_dialog(method: str, *, target: str, via: str, routes: list[str], from_: str, to: str,
              call_id: str, cseq: int | str, contact: str = "") -> str:
    """A request inside a dialog, with a fresh branch and no body."""
    route = "".join(f"Route: {r}\r\n" for r in routes)
    contact_line = f"Contact: {contact}\r\n" if contact else ""
    return (
        f"{method} {target} SIP/2.0\r\nVia: SIP/2.0/UDP {via};branch={branch()};rport\r\n{route}"
        f"Max-Forwards: 70\r\nFrom: {from_}\r\nTo: {to}\r\nCall-ID: {call_id}\r\n"
        f"CSeq: {cseq} {method}\r\n{contact_line}Content-Length: 0\r\n\r\n"
    )


def for_2xx(method: str, response: Headers, via: str) -> str:
    """ACK for a 200 to our INVITE (RFC 3261 13.2.2.4), or a BYE on that dialog."""
    cseq = int(response["CSeq"]["check"]) + (1 if method == "BYE" else 0)
    return in_dialog(method, target=uri(response["Contact"]), via=via,
                     routes=route_set(response, caller=True), from_=_tagged(response["From"]),
                     to=_tagged(response["To"]), call_id=response["Call-ID"], cseq=cseq)


def bye(request: Headers, local_tag: str, via: str, routes: list[str], contact: str) -> str:
    """BYE for the dialog of ``request`` (the INVITE as this side knows it), from either end."""
    from_h, to_h = request["From"], request["To"]
    if from_h["tag"] == local_tag:        # we placed the call
        local, remote = f"{from_h['raw']};tag={local_tag}", _tagged(to_h)
    else:                                 # we answered it
        local, remote = f"{to_h['raw']};tag={local_tag}", _tagged(from_h)
    return in_dialog("BYE", target=uri(request["Contact"]), via=via, routes=routes, from_=local,
                     to=remote, call_id=request["Call-ID"], cseq=int(request["CSeq"]["check"]) + 1,
                     contact=contact)


def ack_non_2xx(invite: str, response: Headers) -> str:
    """Hop-by-hop ACK of a failure response: same branch as the INVITE (RFC 3261 17.1.1.3)."""
    h = raw_headers(invite)
    return (
        f"ACK {invite.split(' ', 2)[1]} SIP/2.0\r\nVia: {h['Via']}\r\nMax-Forwards: 70\r\n"
        f"From: {h['From']}\r\nTo: {_tagged(response['To'])}\r\nCall-ID: {h['Call-ID']}\r\n"
        f"CSeq: {h['CSeq'].split(' ')[0]} ACK\r\nContent-Length: 0\r\n\r\n"
    )


def cancel(invite: str) -> str:
    """CANCEL of our pending INVITE (RFC 3261 9.1)."""
    h = raw_headers(invite)
    return (
        f"CANCEL {invite.split(' ', 2)[1]} SIP/2.0\r\nVia: {h['Via']}\r\nMax-Forwards: 70\r\n"
        f"From: {h['From']}\r\nTo: {h['To']}\r\nCall-ID: {h['Call-ID']}\r\n"
        f"CSeq: {h['CSeq'].split(' ')[0]} CANCEL\r\nContent-Length: 0\r\n\r\n"
    )


def request_terminated(invite: Headers, via_lines: str, local_tag: str) -> str:
    """487 for an INVITE the caller cancelled."""
    return (
        f"SIP/2.0 487 Request Terminated\r\n{via_lines}"
        f"From: {_tagged(invite['From'])}\r\nTo: {invite['To']['raw']};tag={local_tag}\r\n"
        f"Call-ID: {invite['Call-ID']}\r\nCSeq: {invite['CSeq']['check']} INVITE\r\nContent-Length: 0\r\n\r\n"
    )
