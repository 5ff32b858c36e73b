"""Words the demo company is made of: names, products and short texts in English and French.

Texts carry their tone in plain words (happy, late, ravi, déçu …) so that a sentiment lexicon
reads them the way a person would. Every list is indexed by seeded draws, so its order is part
of the demo's determinism: append, never reorder.
"""

from __future__ import annotations

TONES = ("positive", "neutral", "negative")

# Region -> countries with their weight inside the region.
REGIONS: dict[str, dict[str, float]] = {
    "north": {"GB": 0.5, "NL": 0.3, "IE": 0.2},
    "south": {"ES": 0.45, "IT": 0.4, "PT": 0.15},
    "east": {"DE": 0.6, "PL": 0.25, "AT": 0.15},
    "west": {"FR": 0.7, "BE": 0.3},
}
FRENCH_SHARE = {"FR": 1.0, "BE": 0.6}  # share of French speakers; everyone else writes English

FIRST_NAMES = (
    "Emma", "Louis", "Chloé", "Hugo", "Léa", "Jules", "Manon", "Arthur", "Camille", "Lucas",
    "Sophie", "Thomas", "Oliver", "Amelia", "Harry", "Isla", "George", "Ava", "Jack", "Mia",
    "Lukas", "Anna", "Felix", "Lena", "Jan", "Eva", "Daan", "Sanne", "Pablo", "Lucía",
    "Marco", "Giulia", "João", "Inês", "Piotr", "Zofia", "Sean", "Aoife", "Noah", "Julia",
)  # fmt: skip
LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Durand", "Lefèvre", "Moreau", "Laurent", "Simon", "Michel",
    "Peeters", "Janssens", "Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Müller",
    "Schmidt", "Schneider", "Fischer", "Weber", "de Jong", "Jansen", "Visser", "García",
    "Fernández", "López", "Rossi", "Russo", "Bianchi", "Silva", "Santos", "Kowalski", "Nowak",
    "Murphy", "Kelly", "Gruber", "Huber", "Wagner",
)  # fmt: skip
COMPANY_WORDS = (
    "Atlas", "Boréal", "Cobalt", "Delta", "Équinoxe", "Falcon", "Granite", "Horizon", "Iris",
    "Jade", "Kestrel", "Lumen", "Meridian", "Nova", "Orion", "Pioneer", "Quartz", "Riviera",
    "Summit", "Tamaris", "Union", "Vertex", "Willow", "Zenith", "Alder", "Beacon", "Crescent",
    "Dune", "Ember", "Fjord",
)  # fmt: skip
COMPANY_TRADES = (
    "Logistics", "Foods", "Clinics", "Studio", "Hotels", "Engineering", "Retail", "Labs",
    "Builders", "Consulting", "Pharma", "Schools", "Garages", "Print", "Energy",
)  # fmt: skip
INDUSTRIES = {
    "Logistics": "TRANSPORTATION_TRUCKING_RAILROAD", "Foods": "FOOD_PRODUCTION",
    "Clinics": "HOSPITAL_HEALTH_CARE", "Studio": "DESIGN", "Hotels": "HOSPITALITY",
    "Engineering": "MECHANICAL_OR_INDUSTRIAL_ENGINEERING", "Retail": "RETAIL",
    "Labs": "RESEARCH", "Builders": "CONSTRUCTION", "Consulting": "MANAGEMENT_CONSULTING",
    "Pharma": "PHARMACEUTICALS", "Schools": "EDUCATION_MANAGEMENT", "Garages": "AUTOMOTIVE",
    "Print": "PRINTING", "Energy": "RENEWABLES_ENVIRONMENT",
}  # fmt: skip
LEGAL_FORM = {
    "FR": "SAS", "BE": "SRL", "GB": "Ltd", "IE": "Ltd", "NL": "B.V.", "DE": "GmbH",
    "AT": "GmbH", "PL": "Sp. z o.o.", "ES": "S.L.", "IT": "S.r.l.", "PT": "Lda",
}  # fmt: skip

# Products: (category, customer type, typical net unit price in EUR, product nouns).
PRODUCT_LINES = (
    ("office supplies", "b2b", 14.0, ("Paper Ream", "Toner", "Binder Set", "Desk Organiser")),
    ("packaging", "b2b", 22.0, ("Shipping Box", "Pallet Wrap", "Tape Roll", "Void Fill")),
    ("cleaning", "b2b", 18.0, ("Floor Cleaner", "Hand Soap", "Microfibre Cloths", "Degreaser")),
    ("safety", "b2b", 35.0, ("Safety Gloves", "Hi-Vis Vest", "First Aid Kit", "Ear Defenders")),
    ("it accessories", "b2b", 48.0, ("Keyboard", "USB-C Dock", "Headset", "Monitor Arm")),
    ("home", "b2c", 42.0, ("Throw Blanket", "Table Lamp", "Storage Basket", "Wall Clock")),
    ("kitchen", "b2c", 36.0, ("Chef Knife", "Cast Iron Pan", "Coffee Grinder", "Teapot")),
    ("garden", "b2c", 55.0, ("Pruning Shears", "Planter", "Garden Hose", "Bird Feeder")),
    ("personal care", "b2c", 24.0, ("Shaving Kit", "Hair Dryer", "Bath Set", "Scented Candle")),
)
PRODUCT_ADJECTIVES = ("Classic", "Pro", "Eco", "Compact", "Premium", "Essential", "Max", "Lite")

TICKET_CATEGORIES = ("SHIPPING", "BILLING", "PRODUCT_ISSUE", "RETURNS", "ACCOUNT")
TICKET_SUBJECTS = {
    "SHIPPING": ("Delivery is late", "Parcel not received", "Wrong delivery address"),
    "BILLING": ("Invoice question", "Duplicate charge", "VAT number missing on invoice"),
    "PRODUCT_ISSUE": ("Item arrived damaged", "Product does not work", "Missing parts"),
    "RETURNS": ("Return request", "Refund status", "Exchange for another size"),
    "ACCOUNT": ("Cannot log in", "Change of billing contact", "Update company details"),
}

# Logged conversations, by language and tone. {name} is the contact's first name.
CONVERSATIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "positive": (
            "Call with {name}: very happy with the last delivery, wants a bigger next order.",
            "{name} thanked us for the quick support, great experience with the team.",
            "Meeting went well: {name} is pleased with the new range and recommends us.",
            "{name} confirmed the renewal, excellent feedback on quality and service.",
        ),
        "neutral": (
            "Call with {name} to confirm the delivery schedule for next month.",
            "{name} asked for the updated price list and the catalogue.",
            "Sent the quote requested by {name}; follow-up planned next week.",
            "Meeting with {name} to review open orders and invoices.",
        ),
        "negative": (
            "{name} is disappointed: the last delivery was late again and incomplete.",
            "Complaint from {name} about damaged items, considering another supplier.",
            "{name} unhappy with the slow support response, problem still not solved.",
            "Difficult call: {name} finds our prices too high and will reduce orders.",
        ),
    },
    "fr": {
        "positive": (
            "Appel avec {name} : très satisfait de la dernière livraison, commande en hausse.",
            "{name} nous remercie pour le support rapide, excellente expérience avec l'équipe.",
            "Rendez-vous réussi : {name} est ravi de la nouvelle gamme et nous recommande.",
            "{name} confirme le renouvellement, très bon retour sur la qualité et le service.",
        ),
        "neutral": (
            "Appel avec {name} pour confirmer le planning de livraison du mois prochain.",
            "{name} demande la liste de prix mise à jour et le catalogue.",
            "Devis envoyé à la demande de {name} ; relance prévue la semaine prochaine.",
            "Réunion avec {name} pour revoir les commandes et factures en cours.",
        ),
        "negative": (
            "{name} est déçu : la dernière livraison était encore en retard et incomplète.",
            "Réclamation de {name} pour des articles abîmés, envisage un autre fournisseur.",
            "{name} mécontent de la lenteur du support, problème toujours pas résolu.",
            "Appel difficile : {name} trouve nos prix trop chers et va réduire ses commandes.",
        ),
    },
}

# Survey comments and reviews by score band: low (1-2 stars, NPS 0-6), mid, high.
COMMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "high": ("Great service, thank you!", "Quick and helpful answer.", "Excellent support."),
        "mid": ("Fine, but it took a while.", "OK overall.", "Solved, after two reminders."),
        "low": ("Very slow and unhelpful.", "Still waiting for a solution.", "Disappointing."),
    },
    "fr": {
        "high": ("Super service, merci !", "Réponse rapide et utile.", "Excellent support."),
        "mid": (
            "Correct, mais un peu long.",
            "Bien dans l'ensemble.",
            "Résolu après deux relances.",
        ),
        "low": ("Très lent et peu utile.", "Toujours pas de solution.", "Décevant."),
    },
}
REVIEWS: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "en": {
        "high": (
            ("Excellent", "Great products and fast delivery, I recommend them."),
            ("Very happy", "Good quality, well packed and friendly service."),
        ),
        "mid": (
            ("Good but slow", "Products are fine but the delivery took longer than promised."),
            ("Average", "Nothing special, the price is fair."),
        ),
        "low": (
            ("Disappointed", "The parcel arrived damaged and the refund took weeks."),
            ("Avoid", "Poor quality and terrible customer service."),
        ),
    },
    "fr": {
        "high": (
            ("Excellent", "Très bons produits et livraison rapide, je recommande."),
            ("Ravi", "Bonne qualité, colis soigné et service aimable."),
        ),
        "mid": (
            ("Bien mais lent", "Produits corrects mais livraison plus longue que prévu."),
            ("Moyen", "Rien de spécial, le prix est correct."),
        ),
        "low": (
            ("Déçu", "Colis arrivé abîmé et remboursement après des semaines."),
            ("À éviter", "Mauvaise qualité et service client désagréable."),
        ),
    },
}

WEB_PAGES = (
    "/", "/products", "/products/office-supplies", "/products/packaging", "/products/cleaning",
    "/products/safety", "/products/it-accessories", "/products/home", "/products/kitchen",
    "/products/garden", "/pricing", "/blog/how-to-choose-packaging", "/blog/spring-garden",
    "/about", "/contact",
)  # fmt: skip
