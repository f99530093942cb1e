from django.urls import path

from dispatch.api import driver, sign_in

urlpatterns = [
    path("driver/sign-in", sign_in.DriverSignInView.as_view(), name="driver-sign-in"),
    path("driver/sign-out", sign_in.DriverSignOutView.as_view(), name="driver-sign-out"),
    path("driver/me", sign_in.DriverMeView.as_view(), name="driver-me"),
    path("driver/run", driver.DriverRunView.as_view(), name="driver-run"),
    path("driver/stops/<int:stop_id>/scans", driver.ScanCreateView.as_view(), name="driver-scan-create"),
    path(
        "driver/stops/<int:stop_id>/call",
        driver.RecipientCallView.as_view(),
        name="driver-recipient-call",
    ),
    path(
        "driver/stops/<int:stop_id>/access-code/reveal",
        driver.AccessCodeRevealView.as_view(),
        name="driver-access-code-reveal",
    ),
    path("driver/locations", driver.LocationsView.as_view(), name="driver-locations"),
    path("driver/reason-codes", driver.ReasonCodesView.as_view(), name="driver-reason-codes"),
    path("driver/instructions", driver.InstructionListView.as_view(), name="driver-instructions"),
    path(
        "driver/instructions/<int:instruction_id>/ack",
        driver.InstructionAckView.as_view(),
        name="driver-instruction-ack",
    ),
]

# Integrations.
from dispatch.api import plans  # noqa: E402

urlpatterns += [
    path("plans", plans.PlanImportView.as_view(), name="plan-import"),
    path("recipients/import", plans.RecipientImportView.as_view(), name="recipient-import"),
]
