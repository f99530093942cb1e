"""The day simulator behind ``manage.py simulate_day``: people on a virtual clock, the product for real."""
