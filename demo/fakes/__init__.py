"""Fakes on 127.0.0.1 for the demo and the tests: Twilio's REST API, webhook and push receivers."""
