"""Chicago's address grid and the streets the demo day's doors are on, within the depot's service radius."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from typing import Final

from demo.day.depot import DEPOT_LATITUDE, DEPOT_LONGITUDE, SERVICE_RADIUS_KM

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
class Street:
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


def _ns(name: str, position: int, low: int, high: int, arterial: bool = False) -> Street:
    return Street(name, True, position, low, high, arterial)


def _ew(name: str, position: int, low: int, high: int, arterial: bool = False) -> Street:
    return Street(name, False, position, low, high, arterial)


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


def grid_miles_north(number: float) -> float:
    if number >= 0:
        return number / NUMBERS_PER_MILE
    south = -number
    for (n0, m0), (n1, m1) in pairwise(SOUTH_MILESTONES):
        if south <= n1:
            return -(m0 + (south - n0) / (n1 - n0) * (m1 - m0))
    last_number, last_mile = SOUTH_MILESTONES[-1]
    return -(last_mile + (south - last_number) / NUMBERS_PER_MILE)


def grid_point(west: float, north: float) -> tuple[float, float]:
    latitude = GRID_ORIGIN_LATITUDE + grid_miles_north(north) * LATITUDE_PER_MILE
    longitude = GRID_ORIGIN_LONGITUDE - west / NUMBERS_PER_MILE * LONGITUDE_PER_MILE
    return latitude, longitude


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Straight-line distance; an equirectangular approximation is exact enough inside a city."""
    mean_latitude = math.radians((a[0] + b[0]) / 2)
    x = math.radians(b[1] - a[1]) * math.cos(mean_latitude)
    y = math.radians(b[0] - a[0])
    return EARTH_RADIUS_KM * math.hypot(x, y)


def point_offset(point: tuple[float, float], *, north_m: float, east_m: float) -> tuple[float, float]:
    latitude, longitude = point
    metres_per_degree_longitude = METRES_PER_DEGREE_LATITUDE * math.cos(math.radians(latitude))
    return (
        round(latitude + north_m / METRES_PER_DEGREE_LATITUDE, 6),
        round(longitude + east_m / metres_per_degree_longitude, 6),
    )


def in_area(west: float, north: float, area: tuple[int, int, int, int]) -> bool:
    south_edge, north_edge, east_edge, west_edge = area
    return south_edge <= north < north_edge and east_edge <= west < west_edge


def zip_code(west: float, north: float) -> str:
    for south_edge, north_edge, east_edge, west_edge, code in ZIP_AREAS:
        if in_area(west, north, (south_edge, north_edge, east_edge, west_edge)):
            return code
    return FALLBACK_ZIP


def street_blocks() -> list[tuple[Street, int]]:
    """Every 100-number block of every street whose middle is inside the service radius."""
    depot = (DEPOT_LATITUDE, DEPOT_LONGITUDE)
    blocks = []
    for street in STREETS:
        for start in range(street.low - street.low % 100, street.high, 100):
            middle = start + 50
            west, north = (street.position, middle) if street.north_south else (middle, street.position)
            if distance_km(grid_point(west, north), depot) <= SERVICE_RADIUS_KM and not any(
                in_area(west, north, area) for area in NO_ADDRESSES
            ):
                blocks.append((street, start))
    return blocks
