"""The demo depot's service day: its streets, people, plan and clock, written by ``demo_day_seed``."""
