"""The delivery domain: depots, drivers, runs, stops, orders, recipients, addresses, the access vault, scans."""

from dispatch.models.api import AccessRevealAudit, ApiToken, DriverInstruction, DriverSignInCode, LocationBatch
from dispatch.models.depots import Depot, Driver, User
from dispatch.models.places import AccessCredential, Address, PickupPoint, Recipient, languages
from dispatch.models.runs import Order, Run, Stop, order_reference_validator
from dispatch.models.scans import ReasonCode, ReasonCodeWording, ScanEvent, reason_code_validator
from dispatch.models.webhooks import WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "AccessCredential",
    "AccessRevealAudit",
    "Address",
    "ApiToken",
    "Depot",
    "Driver",
    "DriverInstruction",
    "DriverSignInCode",
    "LocationBatch",
    "Order",
    "PickupPoint",
    "ReasonCode",
    "ReasonCodeWording",
    "Recipient",
    "Run",
    "ScanEvent",
    "Stop",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "languages",
    "order_reference_validator",
    "reason_code_validator",
]
