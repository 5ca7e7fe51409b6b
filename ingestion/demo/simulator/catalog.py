"""Reference data the simulator draws from: campaigns, donors, sites, food and partners.

Plausible for the Alameda County Community Food Bank, but invented: names are common given and
family names, email domains are the reserved example.* domains, so no simulated record is a
real person's PII.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Campaign:
    """A fundraising campaign; a dbt seed of campaigns and goals is generated from CAMPAIGNS."""

    campaign_id: str
    name: str
    goal_cents: int
    designation: str  # where most of its gifts are designated


CAMPAIGNS: tuple[Campaign, ...] = (
    Campaign("general-operating-2026", "General operating fund 2026", 250_000_000, "general"),
    Campaign("spring-appeal-2026", "Spring appeal 2026", 75_000_000, "general"),
    Campaign("summer-meals-2026", "Summer meals for kids 2026", 40_000_000, "programs"),
    Campaign("hunger-action-month-2026", "Hunger Action Month 2026", 30_000_000, "programs"),
    Campaign("giving-tuesday-2026", "GivingTuesday 2026", 50_000_000, "general"),
    Campaign("holiday-match-2026", "Holiday match 2026", 200_000_000, "general"),
    Campaign("disaster-relief-2026", "Disaster relief fund 2026", 100_000_000, "disaster_relief"),
)
CAMPAIGNS_BY_ID = {campaign.campaign_id: campaign for campaign in CAMPAIGNS}

DESIGNATIONS = ("general", "disaster_relief", "programs")

# Alameda County ZIP codes: Alameda, Fremont/Newark/Union City, Hayward/Castro Valley,
# Livermore/Pleasanton/Dublin, San Leandro/San Lorenzo, Oakland, Berkeley/Albany/Emeryville.
ALAMEDA_COUNTY_ZIPS: tuple[str, ...] = (
    "94501", "94502", "94536", "94538", "94539", "94541", "94542", "94544", "94545", "94546",
    "94550", "94551", "94552", "94555", "94560", "94566", "94568", "94577", "94578", "94579",
    "94580", "94586", "94587", "94588", "94601", "94602", "94603", "94605", "94606", "94607",
    "94608", "94609", "94610", "94611", "94612", "94618", "94619", "94621", "94702", "94703",
    "94704", "94705", "94706", "94707", "94708", "94709", "94710",
)  # fmt: skip

FIRST_NAMES: tuple[str, ...] = (
    "Maria", "James", "Wei", "Aaliyah", "Jose", "Linh", "Michael", "Priya", "David", "Fatima",
    "Carlos", "Mei", "Robert", "Ana", "Jamal", "Sofia", "Daniel", "Keiko", "Luis", "Grace",
    "Anthony", "Nadia", "Kevin", "Rosa", "Tyrone", "Hannah", "Minh", "Elena", "Marcus", "Aisha",
    "Samuel", "Lucia", "Brian", "Yuki", "Andre", "Leticia", "Paul", "Noor", "Eric", "Tamika",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Garcia", "Nguyen", "Smith", "Chen", "Johnson", "Hernandez", "Lee", "Williams", "Lopez",
    "Wong", "Brown", "Martinez", "Patel", "Jones", "Kim", "Davis", "Rodriguez", "Tran", "Miller",
    "Singh", "Wilson", "Flores", "Huang", "Moore", "Ramirez", "Le", "Taylor", "Gonzalez",
    "Anderson", "Khan", "Thomas", "Pham", "Jackson", "Sanchez", "Lin", "White", "Torres", "Liu",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")

# Enough donors that most gifts come from distinct people while some give repeatedly.
DONOR_POOL_SIZE = 250_000
# One donor in this many is flagged as a major donor by the CRM.
MAJOR_DONOR_EVERY = 40


# Warehouse and distribution sites; oak-main is the main warehouse near the Oakland airport.
SITES: tuple[str, ...] = ("oak-main", "oak-west", "hay-south", "fre-south", "liv-east")
# Most volume goes through the main warehouse.
SITE_WEIGHTS = (0.62, 0.12, 0.1, 0.09, 0.07)


@dataclass(frozen=True)
class Sku:
    sku: str
    category: str
    value_cents_per_lb: int


SKUS: tuple[Sku, ...] = (
    Sku("PRD-APPLE-40", "produce", 95),
    Sku("PRD-POTATO-50", "produce", 45),
    Sku("PRD-ORANGE-40", "produce", 80),
    Sku("PRD-CARROT-25", "produce", 60),
    Sku("PRD-ONION-50", "produce", 50),
    Sku("PRO-CHICKEN-40", "protein", 260),
    Sku("PRO-PNUTBTR-12", "protein", 310),
    Sku("PRO-BEANS-24", "protein", 120),
    Sku("PRO-TUNA-24", "protein", 380),
    Sku("DAI-MILK-30", "dairy", 110),
    Sku("DAI-EGGS-15", "dairy", 210),
    Sku("DAI-CHEESE-20", "dairy", 420),
    Sku("GRN-RICE-50", "grains", 75),
    Sku("GRN-PASTA-20", "grains", 90),
    Sku("GRN-OATS-25", "grains", 110),
    Sku("SHF-SOUP-24", "shelf-stable", 170),
    Sku("SHF-VEG-24", "shelf-stable", 130),
    Sku("SHF-CEREAL-12", "shelf-stable", 240),
    Sku("FRZ-VEG-30", "frozen", 140),
    Sku("FRZ-MEALS-20", "frozen", 300),
    Sku("BBY-FORMULA-6", "baby", 1900),
    Sku("HYG-KIT-10", "hygiene", 600),
)

# Pantries, shelters and meal programs the food bank supplies.
PARTNER_COUNT = 320

ACQUISITIONS = ("donated", "purchased", "government")
ACQUISITION_WEIGHTS = (0.55, 0.2, 0.25)
ADJUSTMENT_REASONS = ("spoilage", "recount", "damaged", "expired", "mislabeled")
REFUND_REASONS = ("donor_request", "duplicate_gift", "fraud_suspected", "processing_error")
