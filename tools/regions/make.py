#!/usr/bin/env python3
"""Makes the demo regions Okno ships (crates/okno/regions/*.geojson) from the real data sets in
../shared/data/ru_municipal: each oblast's municipal boundaries (OpenStreetMap), simplified by
mapshaper so that neighbours keep their shared borders; each district's OKTMO code, population
(Rosstat, the latest year the district existed in) and administrative centre; and a hub inside
the district nearest to that centre, where the demo's requests gather.

    npm ci --prefix tools/regions && tools/regions/make.py [PATH/TO/shared/data]

Not part of the build: its output is committed, so the demo runs without ../shared.
"""
import csv
import json
import math
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE.parent.parent / "crates" / "okno" / "regions"
# Share of the vertices kept: about 1,600 for Leningrad oblast, 2,900 for Ryazan oblast.
SIMPLIFY = "5%"
PRECISION = "0.0001"

REGIONS = {
    "leningrad": {
        "file": "leningrad_oblast_admin6.geojson",
        "region_name": "Ленинградская область",
        "code": "41000000",
        "name_ru": "Ленинградская область",
        "name_en": "Leningrad Oblast",
    },
    "ryazan": {
        "file": "ryazan_oblast_admin6.geojson",
        "region_name": "Рязанская область",
        "code": "61000000",
        "name_ru": "Рязанская область",
        "name_en": "Ryazan Oblast",
    },
}

ATTRIBUTION = "© OpenStreetMap"

LATIN = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    ["a", "b", "v", "g", "d", "e", "yo", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s", "t",
     "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"],
))

SETTLEMENT_KINDS = {"г": "г.", "рп": "рп", "с": "с.", "пгт": "пгт", "д": "д.", "п": "пос."}


def latin(text):
    """BGN/PCGN-like romanisation, adjectives in -ский/-цкий ending in -sky/-tsky."""
    words = []
    for word in text.split(" "):
        parts = []
        for part in word.split("-"):
            low = part.lower()
            for ending, romanised in (("ский", "sky"), ("цкий", "tsky"), ("ый", "y"), ("ий", "y")):
                if low.endswith(ending):
                    stem = "".join(LATIN.get(c, c) for c in low[: -len(ending)])
                    romanised_part = stem + romanised
                    break
            else:
                romanised_part = "".join(LATIN.get(c, c) for c in low)
            parts.append(romanised_part.capitalize())
        words.append("-".join(parts))
    return " ".join(words)


def names(osm_name, dictionary_row):
    """(Russian, English) names of a district or an urban okrug."""
    short = dictionary_row["municipal_district_name_short"]
    if dictionary_row["municipal_district_type"] == "муниципальный район":
        return f"{short} район", f"{latin(short)} District"
    centre = settlement(dictionary_row["municipal_district_center"])[1]
    if osm_name.endswith("ский"):
        return f"{short} городской округ", f"{latin(centre)} Urban Okrug"
    return f"город {short}", f"{latin(short)} City"


def settlement(centre):
    """('г.', 'Бокситогорск') from the dictionary's 'г Бокситогорск'."""
    kind, _, name = centre.partition(" ")
    return SETTLEMENT_KINDS.get(kind, kind), name


def rings(geometry):
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return polygons


def contains(geometry, lon, lat):
    """Even-odd point in polygon over every ring (holes included)."""
    inside = False
    for polygon in rings(geometry):
        for ring in polygon:
            for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
                if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
                    inside = not inside
    return inside


def hub(geometry, lat, lon):
    """The administrative centre if it lies in the district, else the district's point nearest
    to it on a 0.005° grid (a centre may lie in a neighbouring city)."""
    if contains(geometry, lon, lat):
        return round(lat, 4), round(lon, 4)
    xs = [p[0] for polygon in rings(geometry) for p in polygon[0]]
    ys = [p[1] for polygon in rings(geometry) for p in polygon[0]]
    best = None
    step = 0.005
    y = min(ys)
    while y <= max(ys):
        x = min(xs)
        while x <= max(xs):
            if contains(geometry, x, y):
                d = (y - lat) ** 2 + ((x - lon) * math.cos(math.radians(lat))) ** 2
                if best is None or d < best[0]:
                    best = (d, y, x)
            x += step
        y += step
    return round(best[1], 4), round(best[2], 4)


def population(data, region_name):
    """OKTMO → (people, year) for the latest year each municipality has figures for."""
    totals = {}
    with open(data / "population_total_lo_ryazan_2023_2024.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["region_name"] != region_name:
                continue
            key = (row["oktmo"], int(row["year"]))
            totals[key] = totals.get(key, 0) + round(float(row["value"]))
    latest = {}
    for (oktmo, year), people in sorted(totals.items()):
        latest[oktmo] = (people, year)
    return latest


def dictionary(data, region_name):
    """Short name → the dictionary's row valid in 2023 (the boundaries' year)."""
    rows = {}
    with open(data / "t_dict_municipal_districts.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["region_name"] == region_name and int(row["year_from"]) <= 2023 < int(row["year_to"]):
                rows[row["municipal_district_name_short"]] = row
    return rows


def make(data, key, spec):
    with tempfile.TemporaryDirectory() as tmp:
        simplified = pathlib.Path(tmp) / f"{key}.geojson"
        subprocess.run(
            [str(HERE / "node_modules" / ".bin" / "mapshaper"), str(data / spec["file"]), "-simplify", SIMPLIFY, "keep-shapes", "-clean",
             "-o", f"precision={PRECISION}", "format=geojson", str(simplified)],
            check=True,
        )
        shapes = json.loads(simplified.read_text(encoding="utf-8"))
    rows = dictionary(data, spec["region_name"])
    people = population(data, spec["region_name"])
    features = []
    for feature in shapes["features"]:
        osm_name = feature["properties"]["district"]
        row = rows[osm_name.removesuffix(" район")]
        oktmo = row["oktmo"]
        count, year = people[oktmo]
        name_ru, name_en = names(osm_name, row)
        kind, centre = settlement(row["municipal_district_center"])
        lat, lon = float(row["municipal_district_center_lat"]), float(row["municipal_district_center_lon"])
        hub_lat, hub_lon = hub(feature["geometry"], lat, lon)
        features.append({
            "type": "Feature",
            "properties": {
                "code": oktmo.replace("-", "")[:8],
                "name_ru": name_ru,
                "name_en": name_en,
                "population": count,
                "population_year": year,
                "centre": f"{kind} {centre}",
                "hub": [hub_lon, hub_lat],
            },
            "geometry": feature["geometry"],
        })
    features.sort(key=lambda f: f["properties"]["code"])
    region = {key: spec[key] for key in ("code", "name_ru", "name_en")}
    collection = {"type": "FeatureCollection", "region": region, "attribution": ATTRIBUTION, "features": features}
    path = OUT / f"{key}.geojson"
    path.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    vertices = sum(len(r) for f in features for polygon in rings(f["geometry"]) for r in polygon)
    print(f"{path}: {len(features)} territories, {vertices} vertices, {sum(f['properties']['population'] for f in features):,} people")


def main():
    data = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else HERE.parent.parent.parent / "shared" / "data") / "ru_municipal"
    OUT.mkdir(parents=True, exist_ok=True)
    for key, spec in REGIONS.items():
        make(data, key, spec)


if __name__ == "__main__":
    main()
