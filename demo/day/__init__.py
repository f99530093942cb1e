"""The demo depot's service day, seeded by ``demo.day.seed.demo_day_seed`` (``manage.py seed_demo``).

- ``depot``: where the depot is, its logins, how big a day may be, its shifts.
- ``streets``: Chicago's address grid and the streets the doors are on.
- ``people``: names, fictional phone numbers, each recipient's ways.
- ``places``: the buildings on those streets and today's parcel to each unit.
- ``history``: codes in the vault and the earlier failures at today's addresses.
- ``plan``: the whole day as unsaved rows: runs, arrivals, windows, history.
- ``seed``: the previous demo day replaced by the planned one, in the database.
- ``clock``: a working morning now, whatever the hour: the zone and date of a day starting now.
"""
