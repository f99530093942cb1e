"""The demo day, the simulated day and the fakes they talk to (Twilio, webhook receivers).

Installed by the local and test settings only: production neither installs nor ships it. It sits on
top of the product and may import any of it; nothing in the product imports it.
"""
