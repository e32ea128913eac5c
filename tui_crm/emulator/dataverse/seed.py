"""Deterministic demo data: the same `--records N --seed S` always makes the same org.

N accounts and N contacts (each contact works for a random account, which gets
one of them as primary contact), phones, emails, postal addresses and
positions scattered around a centre, plus N//5 appointments and tasks
regarding accounts. Ids, names, times and row versions depend only on the
seed, so tests and benchmarks can compare runs.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tui_crm.emulator.dataverse.data import DataStore, LookupWrite

FIRST_NAMES = (
    "Anna",
    "Boris",
    "Clara",
    "David",
    "Eva",
    "Filip",
    "Greta",
    "Hugo",
    "Ida",
    "Jakub",
    "Katarina",
    "Lukas",
    "Maria",
    "Norbert",
    "Olga",
    "Peter",
    "Renata",
    "Samuel",
    "Tereza",
    "Viktor",
    "Zuzana",
    "Martin",
    "Lucia",
    "Tomas",
)
LAST_NAMES = (
    "Novak",
    "Horvath",
    "Kovac",
    "Varga",
    "Toth",
    "Nagy",
    "Balaz",
    "Szabo",
    "Molnar",
    "Simon",
    "Lukac",
    "Kral",
    "Urban",
    "Hudak",
    "Polak",
    "Marek",
    "Blaho",
    "Kollar",
)
COMPANY_WORDS = (
    "Alpine",
    "Baltic",
    "Carpathian",
    "Danube",
    "Eastern",
    "Forest",
    "Granite",
    "Harbor",
    "Iron",
    "Juniper",
    "Kestrel",
    "Linden",
    "Meadow",
    "Northern",
    "Orchard",
    "Pioneer",
    "Quarry",
    "River",
    "Summit",
    "Tatra",
    "Valley",
    "Willow",
)
COMPANY_KINDS = (
    "Logistics",
    "Foods",
    "Machinery",
    "Pharma",
    "Energy",
    "Textiles",
    "Software",
    "Construction",
    "Farms",
    "Motors",
    "Timber",
    "Glassworks",
)
SUFFIXES = ("s.r.o.", "a.s.", "Ltd", "GmbH", "Inc.")
STREETS = ("Hlavna", "Dunajska", "Obchodna", "Mlynska", "Zahradna", "Polna", "Kratka", "Dlha")
CITIES = (
    ("Bratislava", "811 01"),
    ("Trnava", "917 01"),
    ("Nitra", "949 01"),
    ("Zilina", "010 01"),
    ("Kosice", "040 01"),
    ("Presov", "080 01"),
    ("Trencin", "911 01"),
    ("Senec", "903 01"),
)
TASK_SUBJECTS = (
    "Call back about the offer",
    "Send price list",
    "Prepare contract",
    "Check delivery",
    "Follow up on invoice",
    "Book site visit",
)
MEETING_SUBJECTS = (
    "Quarterly review",
    "Product demo",
    "Site visit",
    "Contract signing",
    "Service check",
    "Introduction meeting",
)

SEED_EPOCH = datetime(2024, 1, 8, 8, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class SeedSpec:
    records: int = 0
    seed: int = 0
    centre_latitude: float = 48.1486
    centre_longitude: float = 17.1077
    radius_km: float = 30.0


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class _SeedClock:
    """Creation times that advance one minute per record, from a fixed epoch."""

    def __init__(self) -> None:
        self.moment = SEED_EPOCH

    def __call__(self) -> datetime:
        self.moment += timedelta(minutes=1)
        return self.moment


def _position(rng: random.Random, spec: SeedSpec) -> tuple[float, float]:
    distance = spec.radius_km * math.sqrt(rng.random())
    bearing = rng.uniform(0, 2 * math.pi)
    latitude = spec.centre_latitude + (distance * math.cos(bearing)) / 111.32
    scale = 111.32 * max(0.01, math.cos(math.radians(spec.centre_latitude)))
    longitude = spec.centre_longitude + (distance * math.sin(bearing)) / scale
    latitude = max(-90.0, min(90.0, latitude))
    longitude = ((longitude + 180.0) % 360.0) - 180.0
    return round(latitude, 5), round(longitude, 5)


def _phone(rng: random.Random) -> str:
    return f"+421 9{rng.randint(0, 99):02d} {rng.randint(0, 999):03d} {rng.randint(0, 999):03d}"


def _address(rng: random.Random, spec: SeedSpec) -> dict[str, object]:
    city, postal = rng.choice(CITIES)
    latitude, longitude = _position(rng, spec)
    return {
        "address1_line1": f"{rng.choice(STREETS)} {rng.randint(1, 120)}",
        "address1_city": city,
        "address1_postalcode": postal,
        "address1_country": "Slovakia",
        "address1_latitude": latitude,
        "address1_longitude": longitude,
    }


def seed(store: DataStore, spec: SeedSpec, owner_id: str) -> None:
    """Fill `store` with the records `spec` describes (no-op for zero records)."""
    if spec.records <= 0:
        return
    rng = random.Random(spec.seed)
    count = spec.records
    account_ids = [_uuid(rng) for _ in range(count)]
    contact_ids = [_uuid(rng) for _ in range(count)]
    employer = [rng.randrange(count) for _ in range(count)]
    primary: dict[int, int] = {}
    for contact_index, account_index in enumerate(employer):
        primary.setdefault(account_index, contact_index)
    saved_clock = store.clock
    store.clock = _SeedClock()
    try:
        with store.bulk_load():
            for index, account_id in enumerate(account_ids):
                name = (
                    f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)} "
                    f"{rng.choice(SUFFIXES)} {index + 1}"
                )
                slug = name.split()[0].lower()
                values: dict[str, object] = {
                    "name": name,
                    "accountnumber": f"A-{index + 1:06d}",
                    "telephone1": _phone(rng),
                    "emailaddress1": f"office{index + 1}@{slug}.example",
                    "websiteurl": f"https://www.{slug}{index + 1}.example",
                    "industrycode": rng.randint(1, 10),
                    "customertypecode": 3,
                    "numberofemployees": rng.randint(1, 5000),
                    "revenue": float(rng.randint(10, 50000) * 1000),
                    "statecode": 0,
                    "statuscode": 1,
                    "creditonhold": False,
                    **_address(rng, spec),
                }
                lookups = {}
                if index in primary:
                    lookups["_primarycontactid_value"] = LookupWrite(
                        "contact", contact_ids[primary[index]]
                    )
                store.insert(
                    "account", account_id, values, lookups, user_id=owner_id, verify_lookups=False
                )
            for index, contact_id in enumerate(contact_ids):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                values = {
                    "firstname": first,
                    "lastname": last,
                    "jobtitle": rng.choice(
                        (
                            "Buyer",
                            "Director",
                            "Engineer",
                            "Accountant",
                            "Sales Manager",
                            "Technician",
                        )
                    ),
                    "emailaddress1": f"{first}.{last}{index + 1}@example.com".lower(),
                    "telephone1": _phone(rng),
                    "mobilephone": _phone(rng),
                    "statecode": 0,
                    "statuscode": 1,
                    "donotemail": False,
                    **_address(rng, spec),
                }
                lookups = {
                    "_parentcustomerid_value": LookupWrite("account", account_ids[employer[index]])
                }
                store.insert(
                    "contact", contact_id, values, lookups, user_id=owner_id, verify_lookups=False
                )
            for index in range(max(1, count // 5)):
                account = account_ids[rng.randrange(count)]
                start = SEED_EPOCH + timedelta(days=rng.randint(0, 120), hours=rng.randint(0, 8))
                store.insert(
                    "appointment",
                    _uuid(rng),
                    {
                        "subject": f"{rng.choice(MEETING_SUBJECTS)} {index + 1}",
                        "location": rng.choice(CITIES)[0],
                        "scheduledstart": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "scheduledend": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "prioritycode": 1,
                        "statecode": 0,
                        "statuscode": 1,
                        "isalldayevent": False,
                    },
                    {"_regardingobjectid_value": LookupWrite("account", account)},
                    user_id=owner_id,
                    verify_lookups=False,
                )
                due = SEED_EPOCH + timedelta(days=rng.randint(0, 90))
                store.insert(
                    "task",
                    _uuid(rng),
                    {
                        "subject": f"{rng.choice(TASK_SUBJECTS)} {index + 1}",
                        "scheduledend": due.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "prioritycode": rng.randint(0, 2),
                        "percentcomplete": 0,
                        "statecode": 0,
                        "statuscode": 2,
                    },
                    {"_regardingobjectid_value": LookupWrite("account", account)},
                    user_id=owner_id,
                    verify_lookups=False,
                )
    finally:
        store.clock = saved_clock
