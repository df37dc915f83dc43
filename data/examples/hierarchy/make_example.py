"""Regenerate the invented hierarchical example (not real data): python3 make_example.py

48 invented cities scored on 14 indicators in 5 pillars and 2 sub-indices. Three indicators are
'lower is better', two are divided by population, and about 4 % of the cells are missing. The
values are drawn from fixed distributions with a fixed seed, so the files are reproducible.
"""

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
rng = np.random.default_rng(20261129)

SYLLABLES = ["al", "bor", "cas", "den", "el", "fen", "gar", "hol", "is", "jor", "kel", "lun", "mar", "nor", "os", "pel", "quin", "ros", "sal", "tor", "ul", "ver", "wes", "yar"]
names = []
while len(names) < 48:
    n = "".join(rng.choice(SYLLABLES, size=2)).capitalize() + rng.choice(["ton", "burg", "ford", "mouth", "vale", "wick"])
    if n not in names:
        names.append(n)
sectors = rng.choice(["coastal", "industrial", "rural"], size=48, p=[0.3, 0.4, 0.3])

# node, parent, weight, direction, denominator, unit, target
STRUCTURE = [
    ("openness", "", "", "", "", "", ""),
    ("economy", "openness", 3, "", "", "", ""),
    ("society", "openness", 2, "", "", "", ""),
    ("trade", "economy", 2, "", "", "", ""),
    ("investment", "economy", 1, "", "", "", ""),
    ("talent", "society", 1, "", "", "", ""),
    ("connectivity", "society", 1, "", "", "", ""),
    ("environment", "society", 1, "", "", "", ""),
    ("exports", "trade", 2, 1, "population", "million EUR", ""),
    ("export_partners", "trade", 1, 1, "", "count", 40),
    ("tariff_barriers", "trade", 1, -1, "", "index 0-100", ""),
    ("fdi_inflow", "investment", 1, 1, "population", "million EUR", ""),
    ("foreign_firms", "investment", 1, 1, "", "count", ""),
    ("startup_rate", "investment", 1, 1, "", "per 1000 firms", ""),
    ("foreign_students", "talent", 1, 1, "", "% of students", ""),
    ("languages_spoken", "talent", 1, 1, "", "% of adults", 60),
    ("brain_drain", "talent", 1, -1, "", "% emigrating", ""),
    ("flights", "connectivity", 2, 1, "", "destinations", ""),
    ("broadband", "connectivity", 1, 1, "", "% households", 100),
    ("air_pollution", "environment", 1, -1, "", "µg/m³ PM2.5", ""),
    ("green_space", "environment", 1, 1, "", "% of area", ""),
    ("cultural_events", "environment", 1, 1, "", "per year", ""),
]
leaves = [r[0] for r in STRUCTURE if r[3] != ""]
n = len(names)
population = np.round(rng.lognormal(12.5, 0.9, n))
size = population / population.mean()
values = {
    "exports": np.round(size * rng.lognormal(6, 0.8, n), 1),
    "export_partners": rng.integers(3, 60, n),
    "tariff_barriers": np.round(rng.uniform(5, 60, n), 1),
    "fdi_inflow": np.round(size * rng.lognormal(4, 1.2, n), 1),
    "foreign_firms": np.round(size * rng.lognormal(3, 0.7, n)),
    "startup_rate": np.round(rng.gamma(4, 2, n), 1),
    "foreign_students": np.round(rng.beta(2, 8, n) * 100, 1),
    "languages_spoken": np.round(rng.beta(4, 4, n) * 100, 1),
    "brain_drain": np.round(rng.gamma(2, 1.5, n), 2),
    "flights": np.round(size * rng.lognormal(3, 1.0, n)),
    "broadband": np.round(rng.uniform(55, 99, n), 1),
    "air_pollution": np.round(rng.lognormal(2.5, 0.4, n), 1),
    "green_space": np.round(rng.uniform(3, 45, n), 1),
    "cultural_events": np.round(rng.lognormal(4, 0.6, n)),
}
values["flights"][rng.integers(n)] *= 40  # one hub airport: an outlier the JRC rule treats
rows = []
for i in range(n):
    row = {"city": f"C{i + 1:02d}", "name": names[i], "sector": sectors[i], "population": int(population[i])}
    for k in leaves:
        v = values[k][i]
        row[k] = "" if rng.random() < 0.04 else (int(v) if float(v).is_integer() else float(v))
    rows.append(row)
with open(HERE / "cities.csv", "w", newline="", encoding="utf-8") as fh:
    w = csv.DictWriter(fh, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
with open(HERE / "structure.csv", "w", newline="", encoding="utf-8") as fh:
    w = csv.writer(fh)
    w.writerow(["node", "parent", "weight", "direction", "denominator", "unit", "target"])
    w.writerows(STRUCTURE)
