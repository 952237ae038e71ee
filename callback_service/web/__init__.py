"""The supervisors' web application: dashboard, review, tickets, reports, admin, intake API."""

from callback_service.web.factory import create_app

__all__ = ["create_app"]
