from django.urls import path

from outreach import webhooks

urlpatterns = [
    path("twilio/inbound", webhooks.twilio_inbound, name="twilio-inbound"),
    path("twilio/status", webhooks.twilio_status, name="twilio-status"),
    path("twilio/call-status", webhooks.twilio_call_status, name="twilio-call-status"),
    path("twilio/call-dialed", webhooks.twilio_call_dialed, name="twilio-call-dialed"),
]
