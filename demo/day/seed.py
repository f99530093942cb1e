"""A realistic service day for the demo, the benchmarks and the simulation: ``demo_day_seed``.

One depot in Chicago's West Loop, drivers with one run each, and a day of
failed-stop material: houses, multi-unit buildings, gated townhomes and
businesses on real streets, placed with Chicago's address grid; recipients with
fictional names and 555-01xx numbers; access codes in the vault; and a month of
past failures at some addresses.

Everything is drawn from ``random.Random(seed)`` and placed relative to the
service date, so one seed always gives the same day, whatever the date.
Seeding replaces the previous demo day instead of adding to it.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import unicodedata
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from typing import Any, Final, TypeVar

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Model, ProtectedError, Q, QuerySet
from django.utils import timezone

from demo.simulation import world
from dispatch import roles
from dispatch.models import (
    AccessCredential,
    Address,
    Depot,
    Driver,
    Order,
    ReasonCode,
    Recipient,
    Run,
    ScanEvent,
    Stop,
    User,
)

__all__ = [
    "DEPOT_CODE",
    "DEPOT_TIME_ZONE",
    "MAX_DRIVERS",
    "MAX_STOPS",
    "SHIFT_START",
    "DemoDaySummary",
    "DemoLogin",
    "DemoSeedError",
    "demo_day_seed",
]

DEPOT_CODE: Final = "chi-demo"
DEPOT_NAME: Final = "Chicago West Loop (demo)"
DEPOT_TIME_ZONE: Final = "America/Chicago"
DEPOT_ADDRESS: Final = "1460 W Randolph St, Chicago, IL 60607"
DEPOT_LATITUDE: Final = 41.8847
DEPOT_LONGITUDE: Final = -87.6633

# Every demo recipient and address carries this prefix; it is how a re-seed finds them.
DEMO_PREFIX: Final = "demo-"

# Local demo only: fixed so the command can print them.
ADMIN_USERNAME: Final = "admin"
ADMIN_PASSWORD: Final = "admin-demo"  # noqa: S105
DISPATCHER_USERNAME: Final = "dispatcher"
DISPATCHER_PASSWORD: Final = "dispatch-demo"  # noqa: S105
DRIVER_PASSWORD: Final = "driver-demo"  # noqa: S105

# The phone pool (555-0100..0199 in each area code below) must cover every
# recipient and driver with a distinct number.
MAX_STOPS: Final = 10_000
MAX_DRIVERS: Final = 500

SERVICE_RADIUS_KM: Final = 9.5
CIRCUITY: Final = 1.3
SPEED_KMH: Final = 25.0
LOADING_MINUTES: Final = 20
SHIFT_HOURS: Final = 9
SHIFT_START: Final = dt.time(8, 0)  # most drivers'; a few start an hour earlier or later
HISTORY_DAYS: Final = 60
# Earlier parcels per address over HISTORY_DAYS, (count, weight): about one a month on average.
PAST_PARCELS: Final = ((0, 20), (1, 25), (2, 25), (3, 20), (4, 10))
PAST_TRIES: Final = 3
HIGH_VALUE: Final = Decimal("500.00")
BATCH: Final = 1000
# Homes with a 2 or 4 hour window, and with an all-day one; businesses get their receiving hours.
# With ~13% businesses, about 40% of stops end up with a window of hours.
TIMED_WINDOW_SHARE: Final = 0.31
ALL_DAY_WINDOW_SHARE: Final = 0.12

# ---------------------------------------------------------------------------
# Chicago's address grid
# ---------------------------------------------------------------------------

# State & Madison is 0/0. North and west of it, 800 address numbers are a mile.
# South of Madison the first miles are numbered unevenly: Roosevelt (1200 S) is
# one mile, Cermak (2200 S) two, 31st three, Pershing (3900 S) four, 47th five.
GRID_ORIGIN_LATITUDE: Final = 41.88196
GRID_ORIGIN_LONGITUDE: Final = -87.62783
LATITUDE_PER_MILE: Final = 0.014490
LONGITUDE_PER_MILE: Final = 0.019420
NUMBERS_PER_MILE: Final = 800
SOUTH_MILESTONES: Final = ((0, 0.0), (1200, 1.0), (2200, 2.0), (3100, 3.0), (3900, 4.0), (4700, 5.0))

METRES_PER_DEGREE_LATITUDE: Final = 111_195.0
EARTH_RADIUS_KM: Final = 6371.0


@dataclass(frozen=True)
class _Street:
    """A straight street of the grid.

    ``position`` is where the street itself sits and ``low``/``high`` is the
    stretch of house numbers used, both in signed grid numbers: west and north
    are positive, east and south negative. North-south streets sit at an
    east-west position, and the other way round.
    """

    name: str
    north_south: bool
    position: int
    low: int
    high: int
    arterial: bool


def _ns(name: str, position: int, low: int, high: int, arterial: bool = False) -> _Street:
    return _Street(name, True, position, low, high, arterial)


def _ew(name: str, position: int, low: int, high: int, arterial: bool = False) -> _Street:
    return _Street(name, False, position, low, high, arterial)


STREETS: Final = (
    # North-south: position is west (+) or east (-) of State; range runs south (-) to north (+).
    _ns("Cottage Grove Ave", -800, -4700, -3100, arterial=True),
    _ns("Martin Luther King Dr", -400, -4700, -2400, arterial=True),
    _ns("Prairie Ave", -300, -4700, -1800),
    _ns("Indiana Ave", -200, -4700, -1400),
    _ns("Michigan Ave", -100, -4700, -1200, arterial=True),
    _ns("Wabash Ave", -45, -4700, 700),
    _ns("State St", 0, -4700, 1500, arterial=True),
    _ns("Dearborn St", 36, -1200, 1500),
    _ns("Clark St", 100, -2200, 1500, arterial=True),
    _ns("LaSalle St", 140, -400, 1500, arterial=True),
    _ns("Wells St", 200, -1000, 1600),
    _ns("Franklin St", 300, -400, 800),
    _ns("Canal St", 500, -2400, 300),
    _ns("Clinton St", 540, -1200, 600),
    _ns("Jefferson St", 600, -1400, 400),
    _ns("Desplaines St", 660, -1200, 500),
    _ns("Halsted St", 800, -4700, 3800, arterial=True),
    _ns("Green St", 832, -1000, 800),
    _ns("Peoria St", 900, -1000, 800),
    _ns("Sangamon St", 932, -700, 1000),
    _ns("Morgan St", 1000, -4700, 900),
    _ns("Sheffield Ave", 1000, 1700, 3900),
    _ns("Carpenter St", 1032, -700, 1200),
    _ns("Racine Ave", 1200, -4700, 4700, arterial=True),
    _ns("Throop St", 1300, -2200, 1300),
    _ns("Lakewood Ave", 1300, 1900, 4000),
    _ns("Loomis St", 1400, -4700, 1300),
    _ns("Southport Ave", 1400, 2100, 4000),
    _ns("Laflin St", 1500, -2200, 900),
    _ns("Ashland Ave", 1600, -4700, 5200, arterial=True),
    _ns("Paulina St", 1700, -2200, 5200),
    _ns("Wood St", 1800, -4700, 5200),
    _ns("Wolcott Ave", 1900, -2200, 5200),
    _ns("Damen Ave", 2000, -4700, 5200, arterial=True),
    _ns("Hoyne Ave", 2100, -2200, 5200),
    _ns("Leavitt St", 2200, -4700, 5200),
    _ns("Oakley Ave", 2300, -3100, 5200),
    _ns("Western Ave", 2400, -4700, 5200, arterial=True),
    _ns("Campbell Ave", 2500, -4700, 5200),
    _ns("Rockwell St", 2600, -4700, 5200),
    _ns("Fairfield Ave", 2700, -4700, 5200),
    _ns("California Ave", 2800, -4700, 5200, arterial=True),
    _ns("Francisco Ave", 2900, -4700, 5200),
    _ns("Sacramento Ave", 3000, -4700, 5200),
    _ns("Kedzie Ave", 3200, -4700, 5200, arterial=True),
    _ns("Spaulding Ave", 3300, -4700, 5200),
    _ns("Kimball Ave", 3400, -4700, 5200),
    _ns("Central Park Ave", 3600, -4700, 5200),
    _ns("Hamlin Ave", 3800, -4700, 5200),
    _ns("Pulaski Rd", 4000, -4700, 5200, arterial=True),
    _ns("Keeler Ave", 4200, -4700, 5200),
    _ns("Kostner Ave", 4400, -4700, 5200),
    _ns("Kilbourn Ave", 4500, -4700, 5200),
    _ns("Cicero Ave", 4800, -1200, 5200, arterial=True),
    _ns("Laramie Ave", 5200, -1200, 5200, arterial=True),
    _ns("Central Ave", 5600, -1200, 5200, arterial=True),
    # East-west: position is north (+) or south (-) of Madison; range runs east (-) to west (+).
    _ew("47th St", -4700, -1200, 4700, arterial=True),
    _ew("43rd St", -4300, -1000, 4700, arterial=True),
    _ew("Pershing Rd", -3900, -800, 4700, arterial=True),
    _ew("35th St", -3500, -700, 4700, arterial=True),
    _ew("31st St", -3100, -500, 4700, arterial=True),
    _ew("26th St", -2600, -300, 4700, arterial=True),
    _ew("Cermak Rd", -2200, -300, 4600, arterial=True),
    _ew("18th St", -1800, -200, 2800, arterial=True),
    _ew("16th St", -1600, -100, 4600),
    _ew("Roosevelt Rd", -1200, -300, 6000, arterial=True),
    _ew("Taylor St", -1000, 400, 2400, arterial=True),
    _ew("Polk St", -800, 0, 3000),
    _ew("Harrison St", -600, -100, 5000),
    _ew("Van Buren St", -400, -100, 5600),
    _ew("Jackson Blvd", -300, -100, 5600, arterial=True),
    _ew("Adams St", -200, -100, 5600),
    _ew("Monroe St", -100, -100, 5600),
    _ew("Madison St", 0, -100, 6000, arterial=True),
    _ew("Washington Blvd", 100, -100, 6000),
    _ew("Randolph St", 150, -100, 1800, arterial=True),
    _ew("Lake St", 200, -100, 6000, arterial=True),
    _ew("Fulton St", 300, 600, 2400),
    _ew("Kinzie St", 400, -200, 1800),
    _ew("Grand Ave", 530, -300, 1600, arterial=True),
    _ew("Ohio St", 600, -300, 1600),
    _ew("Huron St", 700, -300, 1600),
    _ew("Chicago Ave", 800, -200, 6000, arterial=True),
    _ew("Augusta Blvd", 1000, 1200, 5800),
    _ew("Division St", 1200, -100, 6000, arterial=True),
    _ew("North Ave", 1600, 100, 6000, arterial=True),
    _ew("Wabansia Ave", 1700, 1200, 5600),
    _ew("Bloomingdale Ave", 1800, 1200, 5600),
    _ew("Armitage Ave", 2000, 400, 6000, arterial=True),
    _ew("Webster Ave", 2200, 500, 2400),
    _ew("Fullerton Ave", 2400, 500, 6000, arterial=True),
    _ew("Diversey Ave", 2800, 600, 6000, arterial=True),
    _ew("Wellington Ave", 3000, 700, 5600),
    _ew("Belmont Ave", 3200, 600, 6000, arterial=True),
    _ew("Roscoe St", 3400, 700, 5600),
    _ew("Addison St", 3600, 700, 6000, arterial=True),
    _ew("Grace St", 3800, 800, 5600),
    _ew("Irving Park Rd", 4000, 900, 6000, arterial=True),
    _ew("Montrose Ave", 4400, 1000, 6000, arterial=True),
    _ew("Wilson Ave", 4600, 1000, 5600),
    _ew("Lawrence Ave", 4800, 1000, 6000, arterial=True),
)

# Places on the grid with no front doors: parks, and the suburbs past the city
# line (Cicero, Oak Park). (south, north, east, west) in grid numbers.
NO_ADDRESSES: Final = (
    (50, 250, 1500, 1700),  # Union Park
    (1000, 1550, 2850, 3250),  # Humboldt Park
    (-100, 400, 3500, 4000),  # Garfield Park
    (-1900, -1200, 2800, 3200),  # Douglas Park
    (-99_999, -1200, 4700, 99_999),  # Cicero
    (-99_999, 99_999, 6000, 99_999),  # Oak Park
)

# ZIP codes by grid area, first match wins. (south, north, east, west, zip).
ZIP_AREAS: Final = (
    (0, 400, -9_999, 0, "60601"),
    (0, 400, 0, 300, "60602"),
    (-400, 0, -9_999, 0, "60603"),
    (-400, 0, 0, 300, "60604"),
    (-400, 400, 300, 600, "60606"),
    (400, 1600, -9_999, 0, "60611"),
    (400, 800, 0, 800, "60654"),
    (800, 1600, 0, 800, "60610"),
    (1600, 2800, -9_999, 1600, "60614"),
    (2800, 3400, -9_999, 1400, "60657"),
    (3400, 4400, -9_999, 1600, "60613"),
    (4400, 9_999, -9_999, 1600, "60640"),
    (400, 1600, 800, 1600, "60642"),
    (400, 1600, 1600, 2800, "60622"),
    (400, 1600, 2800, 4800, "60651"),
    (400, 1600, 4800, 9_999, "60644"),
    (1600, 2800, 1600, 4000, "60647"),
    (1600, 2800, 4000, 9_999, "60639"),
    (2800, 4400, 1400, 4000, "60618"),
    (2800, 4400, 4000, 9_999, "60641"),
    (4400, 9_999, 1600, 4000, "60625"),
    (4400, 9_999, 4000, 9_999, "60630"),
    (-2200, -400, -9_999, 400, "60605"),
    (-1600, 400, 400, 1600, "60607"),
    (-1600, 400, 1600, 3200, "60612"),
    (-1600, 400, 3200, 4800, "60624"),
    (-1600, 400, 4800, 9_999, "60644"),
    (-9_999, -2600, -9_999, 0, "60653"),
    (-3900, -1600, -9_999, 800, "60616"),
    (-3900, -1600, 800, 3200, "60608"),
    (-3100, -1600, 3200, 9_999, "60623"),
    (-9_999, -3100, 2400, 9_999, "60632"),
    (-9_999, -3900, -9_999, 2400, "60609"),
    (-9_999, -3900, 2400, 9_999, "60632"),
)
FALLBACK_ZIP: Final = "60612"


def _grid_miles_north(number: float) -> float:
    if number >= 0:
        return number / NUMBERS_PER_MILE
    south = -number
    for (n0, m0), (n1, m1) in pairwise(SOUTH_MILESTONES):
        if south <= n1:
            return -(m0 + (south - n0) / (n1 - n0) * (m1 - m0))
    last_number, last_mile = SOUTH_MILESTONES[-1]
    return -(last_mile + (south - last_number) / NUMBERS_PER_MILE)


def _grid_point(west: float, north: float) -> tuple[float, float]:
    latitude = GRID_ORIGIN_LATITUDE + _grid_miles_north(north) * LATITUDE_PER_MILE
    longitude = GRID_ORIGIN_LONGITUDE - west / NUMBERS_PER_MILE * LONGITUDE_PER_MILE
    return latitude, longitude


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Straight-line distance; an equirectangular approximation is exact enough inside a city."""
    mean_latitude = math.radians((a[0] + b[0]) / 2)
    x = math.radians(b[1] - a[1]) * math.cos(mean_latitude)
    y = math.radians(b[0] - a[0])
    return EARTH_RADIUS_KM * math.hypot(x, y)


def _offset(point: tuple[float, float], *, north_m: float, east_m: float) -> tuple[float, float]:
    latitude, longitude = point
    metres_per_degree_longitude = METRES_PER_DEGREE_LATITUDE * math.cos(math.radians(latitude))
    return (
        round(latitude + north_m / METRES_PER_DEGREE_LATITUDE, 6),
        round(longitude + east_m / metres_per_degree_longitude, 6),
    )


def _in_area(west: float, north: float, area: tuple[int, int, int, int]) -> bool:
    south_edge, north_edge, east_edge, west_edge = area
    return south_edge <= north < north_edge and east_edge <= west < west_edge


def _zip_code(west: float, north: float) -> str:
    for south_edge, north_edge, east_edge, west_edge, code in ZIP_AREAS:
        if _in_area(west, north, (south_edge, north_edge, east_edge, west_edge)):
            return code
    return FALLBACK_ZIP


# ---------------------------------------------------------------------------
# People
# ---------------------------------------------------------------------------

FIRST_NAMES_EN: Final = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Christopher", "Karen",
    "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra", "Steven", "Ashley",
    "Andrew", "Emily", "Joshua", "Michelle", "Kevin", "Amanda", "Brian", "Melissa", "Ryan", "Rebecca",
    "Jacob", "Laura", "Tyler", "Megan", "Nicole", "Brandon", "Hannah", "Olivia", "Ethan", "Grace",
    "Noah", "Chloe", "Aisha", "Jamal", "Keisha", "Darnell", "Tanisha", "Andre", "Priya", "Wei",
    "Mei", "Hiroshi", "Anil", "Tomasz", "Agnieszka", "Piotr", "Katarzyna", "Dmitri", "Fatima", "Omar",
    "Nnamdi", "Chinwe", "Deborah", "Gregory", "Monique", "Terrence", "Bridget", "Colleen", "Patrick", "Sean",
)  # fmt: skip
FIRST_NAMES_ES: Final = (
    "José", "María", "Juan", "Guadalupe", "Luis", "Carmen", "Carlos", "Rosa", "Jorge", "Ana",
    "Miguel", "Verónica", "Alejandro", "Leticia", "Francisco", "Gabriela", "Jesús", "Adriana", "Antonio", "Claudia",
    "Ricardo", "Maribel", "Fernando", "Elena", "Javier", "Sofía", "Eduardo", "Daniela", "Manuel", "Yesenia",
    "Roberto", "Lucía", "Raúl", "Marisol", "Sergio", "Araceli", "Héctor", "Alejandra", "Diego", "Silvia",
    "Arturo", "Esperanza", "Ramón", "Isabel", "Pedro", "Lorena", "Óscar", "Beatriz", "Rafael", "Xóchitl",
)  # fmt: skip
LAST_NAMES_EN: Final = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
    "Thomas", "Moore", "Jackson", "Martin", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green", "Adams", "Baker",
    "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans", "Edwards",
    "Collins", "Stewart", "Murphy", "Cook", "Rogers", "Morgan", "Cooper", "Peterson", "Reed", "Bailey",
    "Kelly", "Howard", "O'Brien", "Sullivan", "Kowalski", "Nowak", "Wisniewski", "Kaminski", "Lewandowski",
    "Nguyen", "Tran", "Kim", "Park", "Patel", "Shah", "Chen", "Wang", "Okafor", "Adeyemi",
    "Washington", "Brooks", "Hayes", "Price", "Coleman", "Jenkins", "Bell", "Russell", "Dunn", "Flanagan",
)  # fmt: skip
LAST_NAMES_ES: Final = (
    "García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez", "Sánchez", "Ramírez", "Torres",
    "Flores", "Rivera", "Gómez", "Díaz", "Reyes", "Morales", "Cruz", "Ortiz", "Gutiérrez", "Chávez",
    "Ramos", "Castillo", "Mendoza", "Ruiz", "Álvarez", "Jiménez", "Vargas", "Castro", "Romero", "Herrera",
    "Medina", "Aguilar", "Vega", "Delgado", "Salazar", "Navarro", "Soto", "Domínguez", "Guerrero", "Contreras",
    "Ríos", "Estrada", "Ochoa", "Zamora", "Cervantes", "Ibarra", "Luna", "Macías", "Velázquez", "Orozco",
)  # fmt: skip
BUSINESS_KINDS: Final = (
    "Family Dental", "Hardware", "Print Shop", "Florist", "Bakery", "Law Office", "Physical Therapy",
    "Pet Supply", "Coffee Roasters", "Bike Shop", "Tailoring", "Hair Studio", "Insurance Agency",
    "Architects", "Pharmacy", "Taqueria", "Books", "Optical", "Animal Clinic", "Music School",
    "Yoga Studio", "Tax Services", "Auto Parts", "Panadería", "Frame Shop", "Dry Cleaners",
)  # fmt: skip
EMAIL_DOMAINS: Final = ("example.com", "example.net", "example.org")

# Real area codes: Chicago first, then the suburbs, downstate, the neighbouring
# states and the rest of the country, as a Chicago delivery day would see them.
# Only 555-0100..0199 is used in each: numbers set aside for fiction.
AREA_CODES: Final = (
    "312", "773", "872", "708", "630", "331", "847", "224", "815", "779",
    "309", "861", "217", "447", "618", "730", "464", "262", "414", "219",
    "574", "260", "317", "463", "765", "812", "930", "608", "920", "715",
    "534", "274", "353", "563", "319", "515", "641", "712", "314", "636",
    "816", "573", "660", "417", "616", "269", "313", "248", "586", "734",
    "517", "810", "989", "906", "231", "947", "612", "651", "763", "952",
    "502", "859", "270", "606", "513", "614", "216", "330", "419", "937",
    "440", "412", "215", "267", "610", "717", "212", "646", "718", "917",
    "347", "516", "631", "201", "973", "732", "617", "857", "508", "781",
    "202", "703", "571", "301", "410", "404", "678", "770", "305", "786",
    "954", "407", "813", "727", "904", "615", "629", "901", "504", "225",
    "214", "469", "972", "713", "832", "281", "512", "210", "303", "720",
    "602", "480", "702", "801", "206", "425", "503", "415", "510", "408",
)  # fmt: skip
FICTIONAL_LINES: Final = tuple(f"01{n:02d}" for n in range(100))

# ---------------------------------------------------------------------------
# Buildings, codes and failures
# ---------------------------------------------------------------------------

HOUSE: Final[str] = Address.BuildingType.HOUSE
MULTI_UNIT: Final[str] = Address.BuildingType.MULTI_UNIT
GATED: Final[str] = Address.BuildingType.GATED
BUSINESS: Final[str] = Address.BuildingType.BUSINESS

HOUSE_NOTES: Final = (
    "Side door off the gangway.",
    "Enclosed front porch; the outer door is usually unlocked.",
    "Dog in the back yard - use the front door.",
    "Package box on the front steps.",
    "Garage entrance off the alley.",
    "Ring twice, please; the bell is hard to hear upstairs.",
    "Coach house at the back of the lot.",
)
WALKUP_NOTES: Final = (
    "Buzzer panel at the front door; no mailroom.",
    "Courtyard building: entrance on the {side} side of the courtyard.",
    "Front door locks at 6 pm; use the buzzer.",
    "Vestibule buzzer sticks - press firmly.",
    "Back stairs to the upper units from the alley.",
    "Garden unit entrance is below the front steps.",
)
TOWER_NOTES: Final = (
    "Doorman building: the front desk signs for parcels.",
    "Receiving dock off the alley, 8 am to 4 pm.",
    "Package room next to the elevators; it needs a code.",
    "Service entrance on the {side} side; check in with security.",
)
GATED_NOTES: Final = (
    "Gated townhomes: call box at the {side} gate.",
    "Vehicle gate on the alley side; the pedestrian gate sticks.",
    "Security gate closes at 6 pm; the call box lists units by number.",
    "Gate code needed for the pedestrian gate on the {side} side.",
)
BUSINESS_NOTES: Final = (
    "Use the front counter.",
    "Rear door off the alley; ring the bell.",
    "Ask for the manager on duty.",
    "Loading dock in back.",
    "Second-floor office; stairs to the left of the storefront.",
)
SIDES: Final = ("north", "south", "east", "west")

# (open, close, weight): a business's receiving hours; 09:00-17:00 when it fits the plan.
BUSINESS_HOURS: Final = ((9, 17, 60), (8, 17, 15), (8, 18, 10), (10, 18, 10), (7, 15, 5))

FAILURE_NOTES: Final[dict[str, tuple[str, ...]]] = {
    "ACCESS_DENIED": ("No answer on the buzzer.", "Locked lobby, nobody came down.", "Call box not answered."),
    "WRONG_ACCESS_CODE": ("Code on file did not open the door.", "Keypad rejected the code twice."),
    "GATE_CLOSED": ("Vehicle gate closed, no call box.", "Gate chained shut."),
    "RECIPIENT_ABSENT": ("Nobody home, notice left.", "Knocked and rang, no answer.", "No safe place, took it back."),
    "ADDRESS_NOT_FOUND": ("Unit not on the buzzer list.", "No such unit number."),
    "UNSAFE_LOCATION": ("Porch open to the street, no safe drop.", "Loose dog in the yard."),
    "REFUSED": ("Recipient refused the parcel.",),
    "DAMAGED": ("Box crushed in the van, contents rattle.", "Parcel soaked through."),
    "BUSINESS_CLOSED": ("Closed, sign says back at 2 pm.", "Closed for the day.", "Dock closed, nobody answered."),
}

T = TypeVar("T")


def _pick(rng: random.Random, weighted: Sequence[tuple[T, float]]) -> T:
    return rng.choices([item for item, _ in weighted], weights=[weight for _, weight in weighted])[0]


# ---------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------


class DemoSeedError(ValueError):
    """The demo day cannot be seeded as asked; the message says what to change."""


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


@dataclass(frozen=True)
class DemoDaySummary:
    depot_code: str
    depot_name: str
    time_zone: str
    service_date: dt.date
    drivers: int
    runs: int
    stops: int
    orders: int
    recipients: int
    addresses: int
    stops_by_building: dict[str, int]
    timed_window_stops: int
    all_day_window_stops: int
    late_runs: int
    credentials: int
    verified_credentials: int
    flagged_credentials: int
    history_addresses: int
    past_runs: int
    past_failed_scans: int
    logins: tuple[DemoLogin, ...]
    driver_usernames: tuple[str, ...]


# ---------------------------------------------------------------------------
# The plan, built in memory before anything is written
# ---------------------------------------------------------------------------


@dataclass(eq=False)
class _Site:
    """One front door on the grid: a house, a building, a gated complex or a business."""

    index: int
    line1: str
    building_type: str
    point: tuple[float, float]
    postal_code: str
    tower: bool
    business_name: str = ""
    credentials: list[AccessCredential] = field(default_factory=list)
    # Kilometres east and north of the depot: cheap distances for the sweep and nearest neighbour.
    xy: tuple[float, float] = (0.0, 0.0)


@dataclass(eq=False)
class _Delivery:
    """Today's parcel for one recipient at one address: its order, and where it sits in a run."""

    site: _Site
    address: Address
    recipient: Recipient
    order: Order
    service_minutes: int
    angle: float = 0.0
    run_index: int = -1
    arrival_minutes: int = 0  # after local midnight


@dataclass(eq=False)
class _PastAttempt:
    delivery: _Delivery
    order: Order
    days_before: int  # days before the service date
    minutes: int  # after local midnight
    reason: str | None  # None: delivered
    final: bool


@dataclass
class _DayPlan:
    deliveries: list[_Delivery]
    credentials: list[AccessCredential]
    driver_users: list[User]
    drivers: list[Driver]
    runs: list[Run]
    past_runs: list[Run]
    orders: list[Order]
    spare_references: list[str]
    stops: list[Stop]
    scans: list[ScanEvent]
    timed_window_stops: int
    all_day_window_stops: int
    late_runs: int
    history_addresses: int


def _local(day: dt.date, minutes: float, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """Minutes after local midnight of ``day``, as an aware UTC datetime."""
    naive = dt.datetime.combine(day, dt.time.min) + dt.timedelta(minutes=minutes)
    return naive.replace(tzinfo=tz).astimezone(dt.UTC)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace("'", "")


def _check_size(*, stops: int, drivers: int) -> None:
    if stops < 1:
        raise DemoSeedError(f"--stops must be >= 1 (got {stops}).")
    if stops > MAX_STOPS:
        raise DemoSeedError(
            f"--stops must be <= {MAX_STOPS:,} (got {stops:,}): there are not enough fictional phone numbers."
        )
    if drivers < 1:
        raise DemoSeedError(f"--drivers must be >= 1 (got {drivers}).")
    if drivers > stops:
        raise DemoSeedError(f"--drivers must be <= --stops ({stops}) so every run has a stop (got {drivers}).")
    if drivers > MAX_DRIVERS:
        raise DemoSeedError(f"--drivers must be <= {MAX_DRIVERS} (got {drivers}).")


def _blocks() -> list[tuple[_Street, int]]:
    """Every 100-number block of every street whose middle is inside the service radius."""
    depot = (DEPOT_LATITUDE, DEPOT_LONGITUDE)
    blocks = []
    for street in STREETS:
        for start in range(street.low - street.low % 100, street.high, 100):
            middle = start + 50
            west, north = (street.position, middle) if street.north_south else (middle, street.position)
            if _distance_km(_grid_point(west, north), depot) <= SERVICE_RADIUS_KM and not any(
                _in_area(west, north, area) for area in NO_ADDRESSES
            ):
                blocks.append((street, start))
    return blocks


def _building_type(rng: random.Random, *, miles_from_loop: float, arterial: bool) -> str:
    if miles_from_loop < 1.2:
        weights = {HOUSE: 2.0, MULTI_UNIT: 50.0, GATED: 4.0, BUSINESS: 30.0}
    elif miles_from_loop < 3.0:
        weights = {HOUSE: 48.0, MULTI_UNIT: 26.0, GATED: 8.0, BUSINESS: 12.0}
    else:
        weights = {HOUSE: 66.0, MULTI_UNIT: 17.0, GATED: 5.0, BUSINESS: 9.0}
    if arterial:
        weights[BUSINESS] *= 3.0
        weights[HOUSE] *= 0.4
    else:
        weights[BUSINESS] *= 0.3
    return _pick(rng, list(weights.items()))


def _units(rng: random.Random, *, building_type: str, tower: bool, wanted: int) -> list[str]:
    """Unit labels for today's deliveries to one building (one label per delivery)."""
    if building_type == HOUSE:
        return [""]
    if building_type == BUSINESS:
        if rng.random() < 0.35:
            return [f"Ste {rng.randint(1, 4)}{rng.randint(0, 2)}{rng.randint(0, 9)}"]
        return [""]
    if building_type == GATED:
        count = min(wanted, _pick(rng, ((1, 45), (2, 35), (3, 20))))
        return [f"TH{n}" for n in sorted(rng.sample(range(1, 41), count))]
    count = min(wanted, _pick(rng, ((1, 35), (2, 30), (3, 18), (4, 9), (5, 5), (6, 3))))
    if tower:
        return [f"{floor}{rng.randint(1, 12):02d}" for floor in rng.sample(range(2, 45), count)]
    labels = [f"{floor}{letter}" for floor in range(1, 5) for letter in "ABCDEF"]
    labels += ["1", "2", "3", "G", "1R", "2R", "3R", "1F", "2F", "3F"]
    return rng.sample(labels, count)


def _plan_sites(rng: random.Random, stops: int) -> list[tuple[_Site, list[str]]]:
    blocks = _blocks()
    used: set[tuple[str, int]] = set()
    sites: list[tuple[_Site, list[str]]] = []
    planned = 0
    while planned < stops:
        street, start = rng.choice(blocks)
        number = rng.randrange(start, start + 100)
        if abs(number) < 2 or (street.name, number) in used:
            continue
        west, north = (street.position, number) if street.north_south else (number, street.position)
        point = _grid_point(west, north)
        if _distance_km(point, (DEPOT_LATITUDE, DEPOT_LONGITUDE)) > SERVICE_RADIUS_KM or any(
            _in_area(west, north, area) for area in NO_ADDRESSES
        ):
            continue
        used.add((street.name, number))
        miles_from_loop = math.hypot(west / NUMBERS_PER_MILE, _grid_miles_north(north))
        building_type = _building_type(rng, miles_from_loop=miles_from_loop, arterial=street.arterial)
        tower = building_type == MULTI_UNIT and miles_from_loop < 1.5 and rng.random() < 0.7
        # Even numbers are on the west and north sides of Chicago streets; doors sit ~12 m off the centre line.
        setback = rng.uniform(9.0, 16.0) * (1 if number % 2 == 0 else -1)
        jitter = rng.uniform(-4.0, 4.0)
        if street.north_south:
            point = _offset(point, north_m=jitter, east_m=-setback)
            prefix = "N" if number > 0 else "S"
        else:
            point = _offset(point, north_m=setback, east_m=jitter)
            prefix = "W" if number > 0 else "E"
        site = _Site(
            index=len(sites),
            line1=f"{abs(number)} {prefix} {street.name}",
            building_type=building_type,
            point=point,
            postal_code=_zip_code(west, north),
            tower=tower,
        )
        if building_type == BUSINESS:
            owner = rng.choice(LAST_NAMES_ES + LAST_NAMES_EN)
            short_street = street.name.rsplit(" ", 1)[0]
            site.business_name = f"{rng.choice((owner, short_street))} {rng.choice(BUSINESS_KINDS)}"
        units = _units(rng, building_type=building_type, tower=tower, wanted=stops - planned)
        sites.append((site, units))
        planned += len(units)
    return sites


def _building_notes(rng: random.Random, site: _Site) -> str:
    if site.building_type == HOUSE:
        return rng.choice(HOUSE_NOTES) if rng.random() < 0.45 else ""
    if site.building_type == BUSINESS:
        return ""  # written once the receiving hours are known
    choices = GATED_NOTES if site.building_type == GATED else TOWER_NOTES if site.tower else WALKUP_NOTES
    return rng.choice(choices).format(side=rng.choice(SIDES))


def _phone_numbers(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct fictional numbers, from the local area codes outwards, in random order."""
    pool = [f"+1{area}555{line}" for area in AREA_CODES for line in FICTIONAL_LINES][:count]
    if len(pool) < count:
        raise DemoSeedError(f"Only {len(pool):,} fictional phone numbers exist; ask for fewer stops or drivers.")
    rng.shuffle(pool)
    return pool


def _declared_value(rng: random.Random) -> Decimal:
    roll = rng.random()
    if roll < 0.04:
        value = rng.uniform(500, 2000)
    elif roll < 0.12:
        value = rng.uniform(150, 500)
    else:
        value = math.exp(rng.uniform(math.log(15), math.log(150)))
    cents = rng.choice(("00", "99", "49", "95", "50"))
    return Decimal(f"{math.floor(value)}.{cents}")


def _recipient(
    rng: random.Random, *, n: int, business: bool, service_date: dt.date, tz: zoneinfo.ZoneInfo
) -> Recipient:
    spanish = rng.random() < 0.22
    if spanish:
        first, last = rng.choice(FIRST_NAMES_ES), rng.choice(LAST_NAMES_ES)
    elif rng.random() < 0.12:
        first, last = rng.choice(FIRST_NAMES_EN), rng.choice(LAST_NAMES_ES)
    else:
        first, last = rng.choice(FIRST_NAMES_EN), rng.choice(LAST_NAMES_EN)
    email = ""
    if rng.random() < (0.8 if business else 0.45):
        email = f"{_ascii(first)}.{_ascii(last)}{rng.randint(1, 99)}@{rng.choice(EMAIL_DOMAINS)}"
    opted_out = rng.random() < 0.03
    opted_out_at = None
    if opted_out:
        opted_out_at = _local(service_date - dt.timedelta(days=rng.randint(3, 200)), rng.randint(540, 1260), tz)
    quiet_start, quiet_end = _pick(rng, (((21, 8), 70), ((22, 7), 15), ((20, 9), 10), ((23, 6), 5)))
    tier = _pick(
        rng,
        (
            (Recipient.Tier.STANDARD, 70 if business else 88),
            (Recipient.Tier.PRIORITY, 25 if business else 9),
            (Recipient.Tier.VIP, 5 if business else 3),
        ),
    )
    return Recipient(
        name=f"{first} {last}",
        email=email,
        language=Recipient.Language.SPANISH if spanish else Recipient.Language.ENGLISH,
        preferred_channel=Recipient.Channel.PUSH if rng.random() < 0.15 else Recipient.Channel.SMS,
        tier=tier,
        opted_out=opted_out,
        opted_out_at=opted_out_at,
        quiet_hours_start=dt.time(quiet_start),
        quiet_hours_end=dt.time(quiet_end),
        external_id=f"{DEMO_PREFIX}r-{n:05d}",
    )


def _plan_deliveries(
    rng: random.Random, *, depot: Depot, stops: int, service_date: dt.date, tz: zoneinfo.ZoneInfo
) -> list[_Delivery]:
    deliveries: list[_Delivery] = []
    for site, units in _plan_sites(rng, stops):
        notes = _building_notes(rng, site)
        for unit in units:
            n = len(deliveries) + 1
            recipient = _recipient(rng, n=n, business=site.building_type == BUSINESS, service_date=service_date, tz=tz)
            address = Address(
                line1=site.line1,
                line2=site.business_name,
                unit=unit,
                city="Chicago",
                region="IL",
                postal_code=site.postal_code,
                country="US",
                latitude=site.point[0],
                longitude=site.point[1],
                building_type=site.building_type,
                building_notes=notes,
                external_ref=f"{DEMO_PREFIX}a-{n:05d}",
            )
            value = _declared_value(rng)
            signature_required = value >= HIGH_VALUE or rng.random() < 0.03
            order = Order(
                depot=depot,
                recipient=recipient,
                address=address,
                declared_value=value,
                parcel_count=_pick(rng, ((1, 65), (2, 25), (3, 10))),
                signature_required=signature_required,
                safe_drop_allowed=not signature_required and rng.random() < 0.95,
                neighbour_allowed=rng.random() < (0.5 if value >= HIGH_VALUE else 0.88),
                status=Order.Status.OUT_FOR_DELIVERY,
            )
            low, high = (4, 8) if site.building_type == BUSINESS else (2, 4) if site.building_type == HOUSE else (3, 5)
            deliveries.append(_Delivery(site, address, recipient, order, rng.randint(low, high)))
    return deliveries


def _sweep(deliveries: list[_Delivery], drivers: int) -> list[list[_Delivery]]:
    """Split the day into ``drivers`` wedges around the depot, equal in stops: each run is one area."""
    km_per_degree = math.radians(1) * EARTH_RADIUS_KM
    scale = math.cos(math.radians(DEPOT_LATITUDE))
    for delivery in deliveries:
        latitude, longitude = delivery.site.point
        x = (longitude - DEPOT_LONGITUDE) * scale * km_per_degree
        y = (latitude - DEPOT_LATITUDE) * km_per_degree
        delivery.site.xy = (x, y)
        delivery.angle = math.atan2(y, x) % math.tau
    ordered = sorted(deliveries, key=lambda d: (d.angle, d.site.index, d.address.unit))
    # Start the sweep after the widest empty sector (the lake, here) so no wedge straddles it.
    count = len(ordered)
    gaps = [(ordered[(i + 1) % count].angle - ordered[i].angle) % math.tau for i in range(count)]
    start = (max(range(count), key=gaps.__getitem__) + 1) % count
    ordered = ordered[start:] + ordered[:start]

    cuts = [round(i * count / drivers) for i in range(drivers + 1)]
    for i in range(1, drivers):
        # Keep a building's deliveries in one run when the cut can move to the end of it.
        cut = cuts[i]
        while cut < cuts[i + 1] - 1 and ordered[cut].site is ordered[cut - 1].site:
            cut += 1
        if ordered[cut].site is not ordered[cut - 1].site:
            cuts[i] = cut
    return [ordered[cuts[i] : cuts[i + 1]] for i in range(drivers)]


def _sequence(wedge: list[_Delivery]) -> list[_Delivery]:
    """Nearest neighbour, starting from the depot."""
    remaining = list(wedge)
    x, y = 0.0, 0.0  # the depot
    route: list[_Delivery] = []
    while remaining:
        nearest = min(
            range(len(remaining)), key=lambda i: (remaining[i].site.xy[0] - x) ** 2 + (remaining[i].site.xy[1] - y) ** 2
        )
        delivery = remaining.pop(nearest)
        route.append(delivery)
        x, y = delivery.site.xy
    return route


def _window(rng: random.Random, delivery: _Delivery) -> tuple[int, int] | None:
    """A time window (minutes after midnight) that contains the planned arrival, or None."""
    arrival = delivery.arrival_minutes
    if delivery.site.building_type == BUSINESS:
        fitting = [
            ((open_, close), weight) for open_, close, weight in BUSINESS_HOURS if open_ * 60 <= arrival < close * 60
        ]
        if not fitting:
            return None
        open_, close = _pick(rng, fitting)
        return open_ * 60, close * 60
    roll = rng.random()
    if roll < TIMED_WINDOW_SHARE:
        hours = 2 if rng.random() < 0.55 else 4
        starts = [h for h in range(24) if h * 60 <= arrival < (h + hours) * 60]
        daytime = [h for h in starts if h >= 7 and h + hours <= 21]
        if not starts:
            return None
        start = rng.choice(daytime or starts)
        return start * 60, (start + hours) * 60
    if roll < TIMED_WINDOW_SHARE + ALL_DAY_WINDOW_SHARE and 8 * 60 <= arrival < 20 * 60:
        return 8 * 60, 20 * 60
    return None


def _secret(rng: random.Random, kind: str) -> str:
    digits = f"{rng.randint(0, 9999):04d}"
    if kind == AccessCredential.Kind.CONCIERGE:
        return f"Front desk 24/7; package room code {rng.randint(100, 9999)}"
    if kind == AccessCredential.Kind.LOCKBOX:
        return f"Lockbox on the {rng.choice(('railing', 'gas meter', 'side gate', 'back door'))}: {digits}"
    return rng.choice((digits, f"#{digits}", f"{digits}*", f"*{digits}#", f"{digits}#"))


def _plan_credentials(
    rng: random.Random, deliveries: list[_Delivery], *, service_date: dt.date, tz: zoneinfo.ZoneInfo
) -> list[_Delivery]:
    """Codes for most gated and many multi-unit buildings, a few houses and businesses.

    The vault is per address and each unit is an address, so a building's code
    is written once for each of today's units in it. Returns one delivery per
    flagged code: the one whose history holds the two failures that flagged it.
    """
    by_site: dict[int, list[_Delivery]] = defaultdict(list)
    for delivery in deliveries:
        by_site[delivery.site.index].append(delivery)
    flagged: list[_Delivery] = []
    for units in by_site.values():
        site = units[0].site
        share = {GATED: 0.7, MULTI_UNIT: 0.4, BUSINESS: 0.06, HOUSE: 0.03}[site.building_type]
        if rng.random() >= share:
            continue
        kind: str
        if site.building_type == GATED:
            kind = AccessCredential.Kind.GATE
        elif site.building_type == MULTI_UNIT:
            kind = _pick(
                rng,
                (
                    (AccessCredential.Kind.DOOR, 40 if site.tower else 65),
                    (AccessCredential.Kind.LOCKBOX, 5 if site.tower else 20),
                    (AccessCredential.Kind.CONCIERGE, 55 if site.tower else 15),
                ),
            )
        elif site.building_type == BUSINESS:
            kind = AccessCredential.Kind.LOCKBOX
        else:
            kind = _pick(rng, ((AccessCredential.Kind.GATE, 60), (AccessCredential.Kind.LOCKBOX, 40)))
        secret = _secret(rng, kind)
        state = _pick(rng, (("verified", 62), ("unverified", 30), ("flagged", 8)))
        last_worked_at = None
        if state == "verified":
            last_worked_at = _local(service_date - dt.timedelta(days=rng.randint(1, 30)), rng.randint(540, 1020), tz)
        elif state == "flagged":
            last_worked_at = _local(service_date - dt.timedelta(days=rng.randint(35, 90)), rng.randint(540, 1020), tz)
            flagged.append(units[0])
        source = _pick(
            rng,
            (
                (AccessCredential.Source.RECIPIENT, 45),
                (AccessCredential.Source.DRIVER, 25),
                (AccessCredential.Source.PLAN_IMPORT, 25),
                (AccessCredential.Source.DISPATCHER, 5),
            ),
        )
        for delivery in units:
            site.credentials.append(
                AccessCredential(
                    address=delivery.address,
                    kind=kind,
                    secret=secret,
                    last_worked_at=last_worked_at,
                    failure_count=AccessCredential.FLAG_AFTER_FAILURES if state == "flagged" else 0,
                    source=source,
                )
            )
    return flagged


def _plan_history(rng: random.Random, deliveries: list[_Delivery], flagged: list[_Delivery]) -> list[_PastAttempt]:
    """Earlier parcels to today's addresses over the last ``HISTORY_DAYS``, attempted as the city would have it.

    Each address had 0-4 earlier parcels; each was tried up to three times,
    each try failing or not by the odds of ``demo.simulation.world`` (the
    building, the household, the hour, the code on file), then returned after
    three failures. Only parcels that failed at least once are kept: they are
    what the product learns from. A flagged code's address always has the two
    wrong-code failures that flagged it.
    """
    attempts: list[_PastAttempt] = []
    flagged_set = set(flagged)
    for delivery in deliveries:
        address = delivery.address
        if delivery in flagged_set:
            tries: list[tuple[str | None, int]] = [("WRONG_ACCESS_CODE", rng.randint(540, 990)) for _ in range(2)]
            tries.append((None, rng.randint(540, 990)))  # a neighbour let the driver in
            # After the code last worked (35-90 days ago): within the last month.
            attempts += _past_parcel(rng, delivery, tries, within_days=30)
            continue
        site, home = world.address_place(address), world.address_household(address)
        code = _code_on_file(delivery.site.credentials)
        for _ in range(_pick(rng, PAST_PARCELS)):
            tries = []
            while len(tries) < PAST_TRIES:
                minutes = rng.randint(9 * 60, 18 * 60)
                reason = world.failure_draw(world.failure_odds(site, home, hour=minutes // 60, code=code), rng.random())
                tries.append((reason, minutes))
                if reason is None:
                    break
            if tries[0][0] is not None:
                attempts += _past_parcel(rng, delivery, tries)
    return attempts


def _code_on_file(credentials: Sequence[AccessCredential]) -> str:
    if not credentials:
        return world.CODE_NONE
    return world.CODE_WORKING if credentials[0].last_worked_at is not None else world.CODE_UNPROVEN


def _past_parcel(
    rng: random.Random, delivery: _Delivery, tries: list[tuple[str | None, int]], *, within_days: int = HISTORY_DAYS
) -> list[_PastAttempt]:
    """One earlier order to this address and its attempts, a day or two apart, ending delivered or returned."""
    gaps = [rng.choice((1, 1, 2)) for _ in range(len(tries) - 1)]
    offset = rng.randint(sum(gaps) + 1, within_days)
    order = Order(
        depot=delivery.order.depot,
        recipient=delivery.recipient,
        address=delivery.address,
        declared_value=_declared_value(rng),
        parcel_count=_pick(rng, ((1, 75), (2, 20), (3, 5))),
        status=Order.Status.DELIVERED if tries[-1][0] is None else Order.Status.RETURNED,
    )
    order.signature_required = order.declared_value >= HIGH_VALUE
    order.safe_drop_allowed = not order.signature_required
    attempts = []
    for i, (reason, minutes) in enumerate(tries):
        attempts.append(
            _PastAttempt(
                delivery=delivery,
                order=order,
                days_before=offset,
                minutes=minutes,
                reason=reason,
                final=i == len(tries) - 1,
            )
        )
        if i < len(gaps):
            offset -= gaps[i]
    return attempts


def _day_plan(
    rng: random.Random,
    *,
    seed: int,
    depot: Depot,
    stops: int,
    driver_usernames: list[str],
    service_date: dt.date,
    shift_start: dt.time,
    tz: zoneinfo.ZoneInfo,
    reason_codes: dict[str, ReasonCode],
) -> _DayPlan:
    """The whole day as unsaved model instances. Only ``rng`` decides what is in it."""
    drivers = len(driver_usernames)
    deliveries = _plan_deliveries(rng, depot=depot, stops=stops, service_date=service_date, tz=tz)
    phones = _phone_numbers(rng, len(deliveries) + drivers)
    driver_phones, recipient_phones = phones[:drivers], phones[drivers:]
    for delivery, phone in zip(deliveries, recipient_phones, strict=True):
        delivery.recipient.phone = phone

    # Today's runs: a wedge of the map each, nearest neighbour from the depot,
    # arrivals at straight-line distance x circuity at city speed plus service time.
    # Most shifts start at ``shift_start``, a few an hour earlier or later (minutes after local midnight).
    usual = shift_start.hour * 60 + shift_start.minute
    shift_starts = [usual + _pick(rng, ((0, 80), (-60, 10), (60, 10))) for _ in range(drivers)]
    routes = [_sequence(wedge) for wedge in _sweep(deliveries, drivers)]
    late_runs = 0
    for run_index, route in enumerate(routes):
        clock = (shift_starts[run_index] + LOADING_MINUTES) * 60.0
        here = (DEPOT_LATITUDE, DEPOT_LONGITUDE)
        for delivery in route:
            clock += _distance_km(here, delivery.site.point) * CIRCUITY / SPEED_KMH * 3600
            delivery.arrival_minutes = round(clock / 60)
            delivery.run_index = run_index
            clock = (delivery.arrival_minutes + delivery.service_minutes) * 60.0
            here = delivery.site.point
        if clock > (shift_starts[run_index] + SHIFT_HOURS * 60) * 60:
            late_runs += 1

    windows: dict[bool, int] = {True: 0, False: 0}  # all-day?
    for route in routes:
        for delivery in route:
            window = _window(rng, delivery)
            if window is not None:
                windows[window == (8 * 60, 20 * 60)] += 1
                delivery.order.window_start = _local(service_date, window[0], tz)
                delivery.order.window_end = _local(service_date, window[1], tz)
            if delivery.site.building_type == BUSINESS:
                open_, close = (window[0] // 60, window[1] // 60) if window else (9, 17)
                delivery.address.building_notes = (
                    f"Receiving {open_:02d}:00-{close:02d}:00. {rng.choice(BUSINESS_NOTES)}"
                )

    flagged = _plan_credentials(rng, deliveries, service_date=service_date, tz=tz)
    past = _plan_history(rng, deliveries, flagged)
    missing = {a.reason for a in past if a.reason} - set(reason_codes)
    if missing:
        raise DemoSeedError(f"Reason codes {sorted(missing)} are missing; run `manage.py migrate` first.")

    driver_users = [
        User(
            username=username,
            first_name=rng.choice(FIRST_NAMES_EN + FIRST_NAMES_ES),
            last_name=rng.choice(LAST_NAMES_EN + LAST_NAMES_ES),
            email=f"{username}@example.com",
        )
        for username in driver_usernames
    ]
    driver_rows = []
    for run_index, user in enumerate(driver_users):
        parcels = sum(d.order.parcel_count for d in routes[run_index])
        capacity = max(rng.choice((120, 150, 180, 200)), math.ceil(parcels * 1.15 / 10) * 10)
        driver_rows.append(Driver(user=user, depot=depot, phone=driver_phones[run_index], vehicle_capacity=capacity))
    runs = [
        Run(
            depot=depot,
            driver=driver,
            service_date=service_date,
            shift_start=_local(service_date, shift_starts[i], tz),
            shift_end=_local(service_date, shift_starts[i] + SHIFT_HOURS * 60, tz),
            status=Run.Status.PLANNED,
            external_ref=f"demo-{service_date:%Y%m%d}-{driver_usernames[i]}",
        )
        for i, driver in enumerate(driver_rows)
    ]
    stop_rows = [
        Stop(
            run=runs[run_index],
            order=delivery.order,
            sequence=sequence,
            planned_arrival=_local(service_date, delivery.arrival_minutes, tz),
            window_start=delivery.order.window_start,
            window_end=delivery.order.window_end,
            service_minutes=delivery.service_minutes,
            status=Stop.Status.PENDING,
        )
        for run_index, route in enumerate(routes)
        for sequence, delivery in enumerate(route, start=1)
    ]

    # History. A failed attempt's stop ends "rescheduled" (or "cancelled" when
    # the order then went back to the sender), never in an active status, so it
    # cannot clash with another stop of its order.
    past_runs: dict[tuple[int, int], Run] = {}
    past_stops: dict[tuple[int, int], list[Stop]] = defaultdict(list)
    scans: list[ScanEvent] = []
    for n, attempt in enumerate(past, start=1):
        key = (attempt.delivery.run_index, attempt.days_before)
        day = service_date - dt.timedelta(days=attempt.days_before)
        if key not in past_runs:
            past_runs[key] = Run(
                depot=depot,
                driver=driver_rows[attempt.delivery.run_index],
                service_date=day,
                shift_start=_local(day, 8 * 60, tz),
                shift_end=_local(day, 17 * 60, tz),
                status=Run.Status.COMPLETED,
                external_ref=f"demo-{day:%Y%m%d}-{driver_usernames[attempt.delivery.run_index]}",
            )
        if attempt.reason is None:
            status = Stop.Status.DELIVERED
        else:
            status = Stop.Status.CANCELLED if attempt.final else Stop.Status.RESCHEDULED
        planned = _local(day, attempt.minutes, tz)
        stop = Stop(
            run=past_runs[key],
            order=attempt.order,
            sequence=0,  # numbered below, once the run's stops are known
            planned_arrival=planned,
            service_minutes=attempt.delivery.service_minutes,
            status=status,
            attempt_count=1,
        )
        past_stops[key].append(stop)
        device_time = planned + dt.timedelta(minutes=rng.randint(-15, 25))
        latitude, longitude = _offset(
            attempt.delivery.site.point, north_m=rng.uniform(-25, 25), east_m=rng.uniform(-25, 25)
        )
        scans.append(
            ScanEvent(
                stop=stop,
                driver=driver_rows[attempt.delivery.run_index],
                outcome=ScanEvent.Outcome.FAILED if attempt.reason else ScanEvent.Outcome.DELIVERED,
                reason_code=reason_codes[attempt.reason] if attempt.reason else None,
                latitude=latitude,
                longitude=longitude,
                notes=rng.choice(FAILURE_NOTES[attempt.reason]) if attempt.reason else "",
                device_time=device_time,
                received_at=device_time + dt.timedelta(seconds=rng.randint(2, 40)),
                idempotency_key=f"demo-{seed}-{n:06d}",
            )
        )
        if attempt.reason == "WRONG_ACCESS_CODE":
            for credential in attempt.delivery.site.credentials:
                if credential.last_failed_at is None or credential.last_failed_at < device_time:
                    credential.last_failed_at = device_time
    for delivery in deliveries:
        for credential in delivery.site.credentials:
            failed_since_it_worked = credential.last_failed_at is not None and (
                credential.last_worked_at is None or credential.last_worked_at < credential.last_failed_at
            )
            if failed_since_it_worked and not credential.failure_count:
                credential.failure_count = 1
    for run_stops in past_stops.values():
        run_stops.sort(key=lambda stop: stop.planned_arrival or service_date)
        for sequence, stop in enumerate(run_stops, start=1):
            stop.sequence = sequence

    # References: LM- and 5-6 digits, unique; spares replace any already taken in the database.
    orders = [d.order for d in deliveries] + list({id(a.order): a.order for a in past}.values())
    references = [f"LM-{n}" for n in rng.sample(range(10_000, 1_000_000), len(orders) + 500)]
    for order, reference in zip(orders, references, strict=False):
        order.reference = reference

    return _DayPlan(
        deliveries=deliveries,
        credentials=[c for site in dict.fromkeys(d.site for d in deliveries) for c in site.credentials],
        driver_users=driver_users,
        drivers=driver_rows,
        runs=runs,
        past_runs=list(past_runs.values()),
        orders=orders,
        spare_references=references[len(orders) :],
        stops=stop_rows + [stop for run_stops in past_stops.values() for stop in run_stops],
        scans=scans,
        timed_window_stops=windows[False],
        all_day_window_stops=windows[True],
        late_runs=late_runs,
        history_addresses=len({id(a.delivery) for a in past}),
    )


def _dependents_delete(targets: dict[type[Model], QuerySet[Any]]) -> None:
    """Delete rows of other apps (exception cases, messages...) that point at the rows in ``targets``.

    Those apps protect their references to stops, orders and scans, so the
    demo day's rows cannot go until what points at them has gone. Found from
    the model graph, so a new app's model needs no change here. Models that
    protect each other are retried until a pass makes no progress.
    """
    pending: list[QuerySet[Any]] = []
    for model in apps.get_models():
        if model._meta.app_label == Depot._meta.app_label:
            continue
        condition = Q()
        for model_field in model._meta.concrete_fields:
            target = model_field.related_model
            if model_field.is_relation and target in targets:
                condition |= Q(**{f"{model_field.name}__in": targets[target]})
        if condition:
            pending.append(model._default_manager.filter(condition).only("pk"))
    while pending:
        blocked: list[QuerySet[Any]] = []
        for queryset in pending:
            try:
                with transaction.atomic():
                    queryset.delete()
            except ProtectedError:
                blocked.append(queryset)
        if len(blocked) == len(pending):
            raise _protected_error(blocked[0])
        pending = blocked


def _protected_error(queryset: QuerySet[Any]) -> DemoSeedError:
    return DemoSeedError(
        f"The previous demo day cannot be replaced: {queryset.model._meta.label} rows still point at it "
        "and are protected. Delete them, or let their foreign keys cascade."
    )


def _previous_demo_delete(*, depot: Depot, driver_usernames: Iterable[str]) -> None:
    """Remove the previous demo day, dependents first, with set-wide deletes."""
    usernames = list(driver_usernames)
    clash = User.objects.filter(username__in=usernames, driver__isnull=False).exclude(driver__depot=depot).first()
    if clash is not None:
        raise DemoSeedError(
            f"User {clash.username!r} drives for another depot, and the demo needs that username for its drivers; "
            "rename that user or ask for fewer --drivers."
        )
    # Ids first: the user and driver filters go through rows deleted below. The demo's drivers keep
    # their user accounts (and the tokens issued to them); drivers beyond today's count go.
    driver_user_ids = list(
        User.objects.filter(driver__depot=depot).exclude(username__in=usernames).values_list("id", flat=True)
    )
    driver_ids = list(Driver.objects.filter(depot=depot).values_list("id", flat=True))
    recipients = Recipient.objects.filter(depot=depot, external_id__startswith=DEMO_PREFIX)
    addresses = Address.objects.filter(depot=depot, external_ref__startswith=DEMO_PREFIX)
    orders = Order.objects.filter(Q(depot=depot) | Q(recipient__in=recipients) | Q(address__in=addresses))
    runs = Run.objects.filter(Q(depot=depot) | Q(driver_id__in=driver_ids))
    stops = Stop.objects.filter(Q(run__in=runs) | Q(order__in=orders))
    scans = ScanEvent.objects.filter(Q(stop__in=stops) | Q(driver_id__in=driver_ids))
    _dependents_delete(
        {
            ScanEvent: scans,
            Stop: stops,
            Run: runs,
            Order: orders,
            Driver: Driver.objects.filter(id__in=driver_ids),
            User: User.objects.filter(id__in=driver_user_ids),
            AccessCredential: AccessCredential.objects.filter(address__in=addresses),
            Address: addresses,
            Recipient: recipients,
        }
    )
    try:
        # Children first, loading only keys, so Django's collector does not
        # build thousands of full instances just to cascade.
        scans.delete()
        stops.only("pk").delete()
        runs.only("pk").delete()
        orders.only("pk").delete()
        Driver.objects.filter(id__in=driver_ids).only("pk").delete()
        User.objects.filter(id__in=driver_user_ids).only("pk").delete()
        addresses.only("pk").delete()  # and their vault entries
        recipients.only("pk").delete()
    except ProtectedError as exc:
        blocking = sorted({obj._meta.label for obj in exc.protected_objects})
        raise DemoSeedError(
            f"The previous demo day cannot be replaced: {', '.join(blocking)} rows still point at it. "
            "Delete those rows, or let their foreign keys cascade."
        ) from exc


def _demo_user_upsert(*, username: str, password_hash: str, group: Group, superuser: bool, first_name: str) -> User:
    user, _ = User.objects.update_or_create(
        username=username,
        defaults={
            "password": password_hash,
            "is_staff": True,
            "is_superuser": superuser,
            "is_active": True,
            "first_name": first_name,
            "last_name": "(demo)",
            "email": f"{username}@example.com",
        },
    )
    user.groups.set([group])
    return user


def demo_day_seed(
    *,
    stops: int = 2000,
    drivers: int = 40,
    seed: int = 1,
    service_date: dt.date | None = None,
    time_zone: str = DEPOT_TIME_ZONE,
    shift_start: dt.time = SHIFT_START,
) -> DemoDaySummary:
    """Replace the demo depot's day with a new one: ``stops`` stops over ``drivers`` runs on ``service_date``.

    The service date defaults to today in the depot's time zone, ``time_zone``
    (Chicago's unless a demo day starting now moves it, ``demo.day.clock``).
    Most shifts start at ``shift_start``. A seed gives the same day on any date;
    only the dates move. The demo's drivers keep their user accounts, and so
    the API tokens issued to them, from one seeding to the next.
    """
    _check_size(stops=stops, drivers=drivers)
    tz = zoneinfo.ZoneInfo(time_zone)
    service_date = service_date or timezone.now().astimezone(tz).date()
    width = max(2, len(str(drivers)))
    driver_usernames = [f"driver{i:0{width}d}" for i in range(1, drivers + 1)]

    # PBKDF2 is the slowest single step; hashlib releases the GIL, so the three
    # hashes run beside the planning and the writes. All drivers share one hash.
    with ThreadPoolExecutor(max_workers=3) as hasher:
        hashes: dict[str, Future[str]] = {
            password: hasher.submit(make_password, password)
            for password in (ADMIN_PASSWORD, DISPATCHER_PASSWORD, DRIVER_PASSWORD)
        }
        with transaction.atomic():
            groups = {
                g.name: g for g in Group.objects.filter(name__in=[roles.ADMINS, roles.DISPATCHERS, roles.DRIVERS])
            }
            missing = {roles.ADMINS, roles.DISPATCHERS, roles.DRIVERS} - set(groups)
            if missing:
                raise DemoSeedError(f"Role groups {sorted(missing)} are missing; run `manage.py migrate` first.")
            depot, _ = Depot.objects.update_or_create(
                code=DEPOT_CODE,
                defaults={
                    "name": DEPOT_NAME,
                    "time_zone": time_zone,
                    "address": DEPOT_ADDRESS,
                    "latitude": DEPOT_LATITUDE,
                    "longitude": DEPOT_LONGITUDE,
                },
            )
            _previous_demo_delete(depot=depot, driver_usernames=driver_usernames)
            plan = _day_plan(
                random.Random(seed),
                seed=seed,
                depot=depot,
                stops=stops,
                driver_usernames=driver_usernames,
                service_date=service_date,
                shift_start=shift_start,
                tz=tz,
                reason_codes=ReasonCode.objects.in_bulk(field_name="code"),
            )
            taken = set(
                Order.objects.filter(depot=depot, reference__in=[o.reference for o in plan.orders]).values_list(
                    "reference", flat=True
                )
            )
            spares = iter(plan.spare_references)
            for order in plan.orders:
                if order.reference in taken:
                    order.reference = next(spares)

            # Parents first; bulk_create fills in the primary keys the children point at.
            for delivery in plan.deliveries:
                delivery.recipient.depot = delivery.address.depot = depot
            Recipient.objects.bulk_create([d.recipient for d in plan.deliveries], batch_size=BATCH)
            Address.objects.bulk_create([d.address for d in plan.deliveries], batch_size=BATCH)
            AccessCredential.objects.bulk_create(plan.credentials, batch_size=BATCH)
            driver_hash = hashes[DRIVER_PASSWORD].result()
            for user in plan.driver_users:
                user.password = driver_hash
            User.objects.bulk_create(
                plan.driver_users,
                batch_size=BATCH,
                update_conflicts=True,
                unique_fields=["username"],
                update_fields=["first_name", "last_name", "email", "password", "is_active"],
            )
            User.groups.through.objects.bulk_create(
                [User.groups.through(user_id=user.pk, group_id=groups[roles.DRIVERS].pk) for user in plan.driver_users],
                ignore_conflicts=True,
            )
            Driver.objects.bulk_create(plan.drivers, batch_size=BATCH)
            Run.objects.bulk_create(plan.runs + plan.past_runs, batch_size=BATCH)
            Order.objects.bulk_create(plan.orders, batch_size=BATCH)
            Stop.objects.bulk_create(plan.stops, batch_size=BATCH)
            ScanEvent.objects.bulk_create(plan.scans, batch_size=BATCH)

            admin = _demo_user_upsert(
                username=ADMIN_USERNAME,
                password_hash=hashes[ADMIN_PASSWORD].result(),
                group=groups[roles.ADMINS],
                superuser=True,
                first_name="Demo",
            )
            dispatcher = _demo_user_upsert(
                username=DISPATCHER_USERNAME,
                password_hash=hashes[DISPATCHER_PASSWORD].result(),
                group=groups[roles.DISPATCHERS],
                superuser=False,
                first_name="Dana",
            )
            dispatcher.depots.set([depot])

    stops_by_building: dict[str, int] = defaultdict(int)
    for delivery in plan.deliveries:
        stops_by_building[delivery.site.building_type] += 1
    today = len(plan.deliveries)
    first_driver, last_driver = driver_usernames[0], driver_usernames[-1]
    return DemoDaySummary(
        depot_code=depot.code,
        depot_name=depot.name,
        time_zone=time_zone,
        service_date=service_date,
        drivers=drivers,
        runs=len(plan.runs),
        stops=today,
        orders=today,
        recipients=today,
        addresses=today,
        stops_by_building=dict(stops_by_building),
        timed_window_stops=plan.timed_window_stops,
        all_day_window_stops=plan.all_day_window_stops,
        late_runs=plan.late_runs,
        credentials=len(plan.credentials),
        verified_credentials=sum(1 for c in plan.credentials if c.is_verified),
        flagged_credentials=sum(1 for c in plan.credentials if c.is_flagged),
        history_addresses=plan.history_addresses,
        past_runs=len(plan.past_runs),
        past_failed_scans=sum(1 for s in plan.scans if s.outcome == ScanEvent.Outcome.FAILED),
        logins=(
            DemoLogin(admin.username, ADMIN_PASSWORD, "admin (superuser)"),
            DemoLogin(dispatcher.username, DISPATCHER_PASSWORD, f"dispatcher at {depot.code}"),
            DemoLogin(f"{first_driver}..{last_driver}" if drivers > 1 else first_driver, DRIVER_PASSWORD, "drivers"),
        ),
        driver_usernames=tuple(driver_usernames),
    )
