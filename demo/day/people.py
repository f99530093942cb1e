"""The demo day's people: fictional names in English and Spanish, 555-01xx numbers, and each recipient's ways."""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
import zoneinfo
from typing import Final

from demo.day.depot import DEMO_PREFIX, DemoSeedError
from demo.day.draw import local_time, pick
from dispatch.models import Recipient

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


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace("'", "")


def phone_numbers(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct fictional numbers, from the local area codes outwards, in random order."""
    pool = [f"+1{area}555{line}" for area in AREA_CODES for line in FICTIONAL_LINES][:count]
    if len(pool) < count:
        raise DemoSeedError(f"Only {len(pool):,} fictional phone numbers exist; ask for fewer stops or drivers.")
    rng.shuffle(pool)
    return pool


def recipient_draw(
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
        opted_out_at = local_time(service_date - dt.timedelta(days=rng.randint(3, 200)), rng.randint(540, 1260), tz)
    quiet_start, quiet_end = pick(rng, (((21, 8), 70), ((22, 7), 15), ((20, 9), 10), ((23, 6), 5)))
    tier = pick(
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
        language="es" if spanish else Recipient.ENGLISH,
        preferred_channel=Recipient.Channel.PUSH if rng.random() < 0.15 else Recipient.Channel.SMS,
        tier=tier,
        opted_out=opted_out,
        opted_out_at=opted_out_at,
        quiet_hours_start=dt.time(quiet_start),
        quiet_hours_end=dt.time(quiet_end),
        external_id=f"{DEMO_PREFIX}r-{n:05d}",
    )
