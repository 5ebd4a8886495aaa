"""Write the fictional sample data set (TAT-QA raw format) and its answer key.

Run `python sample_data/make_sample.py` to regenerate; the output is deterministic. Every company,
number and sentence is invented. About 15% of the questions carry a deliberately wrong answer,
derivation or scale; `answer_key.csv` lists them so tests and the demo can show a judge catching
them.
"""

from __future__ import annotations

import csv
import json
import random
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NAMESPACE = uuid.UUID("6f1c2a4e-0c1d-4f7e-9a55-3c0ad1e2b7f1")

COMPANIES = [
    ("Northwind Cables", "cable products", ["Fibre", "Copper", "Connectors"], "thousand"),
    ("Harbor Lane Foods", "packaged foods", ["Snacks", "Beverages", "Frozen"], "million"),
    ("Quillfeather Software", "software", ["Licences", "Subscriptions", "Services"], "thousand"),
    ("Tessellate Mining", "mining", ["Copper ore", "Zinc ore", "Gold"], "million"),
    ("Bluefin Logistics", "freight", ["Road", "Rail", "Ocean"], "thousand"),
    ("Orchard Peak Health", "clinics", ["Primary care", "Imaging", "Pharmacy"], "thousand"),
    ("Cobalt Ridge Energy", "energy", ["Upstream", "Midstream", "Retail"], "billion"),
    ("Lumen Arc Semiconductors", "chips", ["Logic", "Memory", "Analog"], "million"),
    ("Silverbirch Insurance", "insurance", ["Motor", "Home", "Commercial"], "million"),
    ("Kestrel Aerospace", "aerospace", ["Airframes", "Engines", "Aftermarket"], "billion"),
    ("Marlow & Finch Retail", "retail", ["Apparel", "Homeware", "Online"], "thousand"),
    ("Juniper Grid Utilities", "utilities", ["Electricity", "Gas", "Water"], "million"),
    ("Redwater Telecom", "telecom", ["Mobile", "Broadband", "Enterprise"], "million"),
    ("Amberfield Chemicals", "chemicals", ["Coatings", "Adhesives", "Resins"], "thousand"),
    ("Pinecrest Hotels", "hotels", ["Rooms", "Food and beverage", "Events"], "thousand"),
    ("Driftwood Media", "media", ["Advertising", "Subscriptions", "Licensing"], "thousand"),
    ("Granite Falls Bancorp", "banking", ["Lending", "Deposits", "Wealth"], "million"),
    ("Halcyon Biotech", "biotech", ["Therapeutics", "Diagnostics", "Royalties"], "thousand"),
    ("Ironclad Tools", "tools", ["Hand tools", "Power tools", "Accessories"], "thousand"),
    ("Verdant Packaging", "packaging", ["Paper", "Plastics", "Glass"], "million"),
    ("Sunspire Solar", "solar", ["Modules", "Inverters", "Installation"], "thousand"),
    ("Wavecrest Shipping", "shipping", ["Containers", "Bulk", "Tankers"], "million"),
    ("Foxglove Cosmetics", "cosmetics", ["Skincare", "Fragrance", "Makeup"], "thousand"),
    ("Tidewater Water", "water services", ["Residential", "Industrial", "Municipal"], "thousand"),
    ("Brightloom Textiles", "textiles", ["Cotton", "Wool", "Synthetics"], "thousand"),
]

YEARS = ("2019", "2018")
REASONS = [
    "higher volumes from new customers",
    "price increases that took effect in the second quarter",
    "the acquisition of a regional competitor",
    "stronger demand in export markets",
    "the launch of two new product lines",
]


def fmt(value: float, *, dollars: bool = False, decimals: int = 0) -> str:
    """Format like a filing: thousands separators, accounting brackets for negatives."""
    text = f"{abs(value):,.{decimals}f}"
    if dollars:
        text = "$" + text
    return f"({text})" if value < 0 else text


def plain(value: float, decimals: int) -> str:
    """How TAT-QA derivations write a number: separators, no currency, minus sign."""
    return f"{value:,.{decimals}f}"


def number(value: float) -> float | int:
    rounded = round(value, 2)
    return int(rounded) if float(rounded).is_integer() else rounded


class Builder:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.wrong: list[tuple[str, str, str]] = []
        self.question_no = 0

    def uid(self, *parts: str) -> str:
        return str(uuid.uuid5(NAMESPACE, "/".join(parts)))

    def context(self, index: int, company: tuple[str, str, list[str], str]) -> dict[str, object]:
        name, business, segments, scale = company
        rng = self.rng
        decimals = 1 if scale in ("million", "billion") else 0
        base = {"thousand": 40_000, "million": 900, "billion": 12}[scale]
        values: dict[str, dict[str, float]] = {}
        for seg in segments:
            v2018 = round(base * rng.uniform(0.4, 1.6), decimals)
            v2019 = round(v2018 * rng.uniform(0.8, 1.3), decimals)
            values[seg] = {"2019": v2019, "2018": v2018}
        other = {
            "2019": -round(base * rng.uniform(0.01, 0.08), decimals),
            "2018": -round(base * rng.uniform(0.01, 0.08), decimals),
        }
        total = {y: round(sum(values[s][y] for s in segments), decimals) for y in YEARS}
        net = {y: round(total[y] + other[y], decimals) for y in YEARS}
        scale_word = {"thousand": "thousands", "million": "millions", "billion": "billions"}[scale]
        table = [
            ["", "Year Ended December 31,", ""],
            ["", "2019", "2018"],
            *[
                [seg, *(fmt(values[seg][y], dollars=i == 0, decimals=decimals) for y in YEARS)]
                for i, seg in enumerate(segments)
            ],
            ["Total revenue", *(fmt(total[y], dollars=True, decimals=decimals) for y in YEARS)],
            ["Other income (expense), net", *(fmt(other[y], decimals=decimals) for y in YEARS)],
            [
                "Net revenue after other items",
                *(fmt(net[y], dollars=True, decimals=decimals) for y in YEARS),
            ],
        ]
        growth_seg = max(segments, key=lambda s: values[s]["2019"] / values[s]["2018"])
        reason = rng.choice(REASONS)
        products = rng.sample(
            [
                "kiosks",
                "field services",
                "spare parts",
                "training",
                "leasing",
                "software add-ons",
                "extended warranties",
            ],
            3,
        )
        paragraphs = [
            f"{name} reports revenue by segment. The table below presents revenue for the years "
            f"ended December 31, 2019 and 2018 (in {scale_word}):",
            f"Revenue from {growth_seg} grew fastest, driven by {reason}. Other income (expense), "
            "net consists mainly of foreign exchange losses and interest on borrowings.",
            f"Beyond its {business} segments, the company also earns fees from {products[0]}, "
            f"{products[1]} and {products[2]}, which are reported within the segments above.",
        ]
        ctx_uid = self.uid("context", name)
        questions: list[dict[str, object]] = []

        def add(q: dict[str, object], wrong: tuple[str, dict[str, object]] | None = None) -> None:
            self.question_no += 1
            q_uid = self.uid("question", name, str(len(questions) + 1))
            q.setdefault("rel_paragraphs", [])
            q.setdefault("req_comparison", False)
            if wrong is not None:
                what, changes = wrong
                q.update(changes)
                self.wrong.append((q_uid, name, what))
            questions.append({"uid": q_uid, "order": len(questions) + 1, **q})

        seg = rng.choice(segments)
        other_seg = rng.choice([s for s in segments if s != seg])
        cell = table[2 + segments.index(seg)][1]
        a, b = values[seg]["2019"], values[seg]["2018"]
        variant = index % 7  # which question is deliberately wrong here (5 and 6: none)

        # 1. span from the table: the cell in the named row and year.
        add(
            {
                "question": f"What was the revenue from {seg} in 2019?",
                "answer": [cell],
                "derivation": "",
                "answer_type": "span",
                "answer_from": "table",
                "scale": scale,
            },
            (
                "span taken from another row of the table",
                {"answer": [table[2 + segments.index(other_seg)][1]]},
            )
            if variant == 0 and index % 2 == 0
            else None,
        )
        # 2. arithmetic: change between years.
        change = number(a - b)
        add(
            {
                "question": f"What was the change in {seg} revenue from 2018 to 2019?",
                "answer": change,
                "derivation": f"{plain(a, decimals)} - {plain(b, decimals)}",
                "answer_type": "arithmetic",
                "answer_from": "table",
                "scale": scale,
            },
            (
                "arithmetic result does not follow from the derivation",
                {"answer": number(change + (base * 0.05 if decimals == 0 else 7.3))},
            )
            if variant == 1
            else None,
        )
        # 3. arithmetic: percentage change of the total, as TAT-QA writes it.
        t19, t18 = total["2019"], total["2018"]
        pct = number((t19 - t18) / t18 * 100)
        add(
            {
                "question": "What was the percentage change in total revenue from 2018 to 2019?",
                "answer": pct,
                "derivation": f"({plain(t19, decimals)} - {plain(t18, decimals)}) / "
                f"{plain(t18, decimals)}",
                "answer_type": "arithmetic",
                "answer_from": "table",
                "scale": "percent",
            },
            (
                "derivation uses a number from the wrong year",
                {
                    "derivation": f"({plain(t19, decimals)} - {plain(t19 * 0.9, decimals)}) / "
                    f"{plain(t18, decimals)}"
                },
            )
            if variant == 2
            else None,
        )
        # 4. arithmetic with an accounting negative: average other income (expense).
        avg_other = number((other["2019"] + other["2018"]) / 2)
        add(
            {
                "question": "What was the average other income (expense), net for 2019 and 2018?",
                "answer": avg_other,
                "derivation": f"({plain(other['2019'], decimals)} + "
                f"{plain(other['2018'], decimals)}) / 2",
                "answer_type": "arithmetic",
                "answer_from": "table",
                "scale": scale,
            },
            ("scale does not match the table", {"scale": "percent"}) if variant == 3 else None,
        )
        # 5. span from the text.
        add(
            {
                "question": f"What drove the growth in {growth_seg} revenue?",
                "answer": [reason],
                "derivation": "",
                "answer_type": "span",
                "answer_from": "text",
                "rel_paragraphs": ["2"],
                "scale": "",
            },
        )
        # 6. multi-span from the text.
        add(
            {
                "question": "Which other fees does the company earn?",
                "answer": list(products),
                "derivation": "",
                "answer_type": "multi-span",
                "answer_from": "text",
                "rel_paragraphs": ["3"],
                "scale": "",
            },
            ("one span of the multi-span answer dropped", {"answer": list(products[:2])})
            if variant == 4
            else None,
        )
        # 7. count over the table.
        threshold = round(values[seg]["2018"] * 1.001, decimals)
        above = [y for y in YEARS if values[seg][y] > threshold]
        if above:
            unit = {"thousand": " thousand", "million": " million", "billion": " billion"}[scale]
            add(
                {
                    "question": f"How many years did {seg} revenue exceed "
                    f"${plain(threshold, decimals)}{unit}?",
                    "answer": str(len(above)),
                    "derivation": "##".join(above),
                    "answer_type": "count",
                    "answer_from": "table",
                    "scale": "",
                },
                ("count does not match the items listed", {"answer": str(len(above) + 1)})
                if variant == 0 and index % 2 == 1
                else None,
            )
        # 8. multi-span from the table: one line item in both years.
        add(
            {
                "question": "What was the other income (expense), net in 2019 and 2018?",
                "answer": [table[-2][1], table[-2][2]],
                "derivation": "",
                "answer_type": "multi-span",
                "answer_from": "table",
                "scale": scale,
            },
        )
        # Keep the four table questions and two of the others (always any deliberately wrong one),
        # so the set stays small enough to review in a demo.
        wrong_uids = {w[0] for w in self.wrong}
        optional = [q for q in questions[4:] if q["uid"] not in wrong_uids]
        dropped = {q["uid"] for q in rng.sample(optional, max(0, len(questions) - 6))}
        questions = [q for q in questions if q["uid"] not in dropped]
        for order, q in enumerate(questions, start=1):
            q["order"] = order
        return {
            "table": {"uid": ctx_uid, "table": table},
            "paragraphs": [
                {"uid": self.uid("paragraph", name, str(i)), "order": i, "text": text}
                for i, text in enumerate(paragraphs, start=1)
            ],
            "questions": questions,
        }


def near_duplicate(builder: Builder, original: dict[str, Any]) -> dict[str, Any]:
    """The original's table as another filing lays it out, under another uid: one header row,
    no currency signs, an extra change column. One question repeats the original's first
    question (a span from the table, never a deliberately wrong one); one is new."""
    table: list[list[str]] = original["table"]["table"]  # type: ignore[index]
    name = "Sunspire Solar (annual report)"

    def value(cell: str) -> float:
        text = cell.replace("$", "").replace(",", "")
        return -float(text[1:-1]) if text.startswith("(") else float(text)

    rows = [["(in thousands)", "2019", "2018", "Change"]]
    for label, c19, c18 in table[2:]:
        change = round(value(c19) - value(c18))
        rows.append([label, c19.replace("$", ""), c18.replace("$", ""), fmt(change)])
    first = dict(original["questions"][0])  # type: ignore[index]
    row = next(r for r in rows if first["question"].endswith(f"from {r[0]} in 2019?"))
    repeated = {**first, "uid": builder.uid("question", name, "1"), "answer": [row[1]]}
    new = {
        "uid": builder.uid("question", name, "2"),
        "order": 2,
        "question": f"What was the change in {rows[1][0]} revenue from 2018 to 2019?",
        "answer": [rows[1][3]],
        "derivation": "",
        "answer_type": "span",
        "answer_from": "table",
        "rel_paragraphs": [],
        "req_comparison": False,
        "scale": "thousand",
    }
    paragraphs = [
        "Sunspire Solar annual report: revenue by segment for 2019 and 2018, with the change.",
    ]
    return {
        "table": {"uid": builder.uid("context", name), "table": rows},
        "paragraphs": [
            {"uid": builder.uid("paragraph", name, str(i)), "order": i, "text": text}
            for i, text in enumerate(paragraphs, start=1)
        ],
        "questions": [repeated, new],
    }


def main() -> None:
    rng = random.Random(20261126)
    builder = Builder(rng)
    contexts = [builder.context(i, company) for i, company in enumerate(COMPANIES)]
    # A near-duplicate of a dev table in train, so `curator leaks` and the demo show a leak.
    copy = near_duplicate(builder, contexts[20])
    train, dev = [*contexts[:20], copy], contexts[20:]
    for name, part in (("sample_train.json", train), ("sample_dev.json", dev)):
        (HERE / name).write_text(json.dumps(part, indent=1, ensure_ascii=False) + "\n", "utf-8")
    with (HERE / "answer_key.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["uid", "company", "what_is_wrong"])
        writer.writerows(builder.wrong)
    total = sum(len(c["questions"]) for c in (*train, *dev))  # type: ignore[arg-type]
    wrong = len(builder.wrong)
    print(f"{len(train) + len(dev)} contexts, {total} questions, {wrong} deliberately wrong")


if __name__ == "__main__":
    main()
