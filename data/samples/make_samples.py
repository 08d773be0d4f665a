"""Write one synthetic export per supported survey tool (deterministic).

    .venv/bin/python data/samples/make_samples.py

Every file answers the built-in "Relationship check-in" v2.0 for partners of the DEMO practice
(case codes D-001 .. D-012; emails d001.a@example.org; client codes D-001A). Each item is
answered in its own format: scored items on the 0-6 agreement format, the four safety items on
the 0-2 "in the past week" frequency format (almost always "Never"), the two free-text questions
in words (made up, plainly fictional). Times are in October-November 2026, before 2026-11-19, at
odd seconds so they never collide with the demo's own check-ins. See README.md for what each file
shows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import re
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
CHECKIN = HERE.parent.parent / "analytics" / "instruments" / "files" / "checkin.toml"
INSTRUMENT = tomllib.loads(CHECKIN.read_text(encoding="utf-8"))
FIXED_ZIP_TIME = (2026, 11, 18, 12, 0, 0)


@dataclass(frozen=True)
class Item:
    code: str
    kind: str  # scored | safety | text
    text: str
    labels: tuple[str, ...]  # the item's own answer labels (none for free text)


def _items() -> list[Item]:
    formats = INSTRUMENT["formats"]
    return [
        Item(
            raw["code"],
            raw.get("kind", "scored"),
            raw["text"],
            tuple(formats[raw["format"]]["labels"]) if "format" in raw else (),
        )
        for raw in INSTRUMENT["items"]
    ]


ITEMS = _items()
ANSWERED = [i for i in ITEMS if i.kind != "text"]  # answered with a number or a label
TEXTS = [i for i in ITEMS if i.kind == "text"]  # TXT1, TXT2
LABEL = {i.code: i.labels for i in ANSWERED}

# The one positive safety answer in all the samples: partner B of D-010 (the demo's disclosing
# couple) answered "Once" to SAF2 in the Typeform export. Every other safety answer is "Never".
DISCLOSURE = ("typeform.csv", "d010.b@example.org", "SAF2", 1)


def email(case: int, label: str) -> str:
    return f"d{case:03d}.{label.lower()}@example.org"


def code(case: int, label: str) -> str:
    return f"D-{case:03d}{label.upper()}"


def answers(rng: random.Random) -> dict[str, int]:
    """One plausible answer sheet: scored items around one level on 0-6, safety items 0."""
    base = rng.randint(2, 5)
    return {
        i.code: 0 if i.kind == "safety" else min(6, max(0, base + rng.randint(-1, 1)))
        for i in ANSWERED
    }


def labelled(values: dict[str, int]) -> list[str]:
    """The answers as each item's own label ("Agree", "Never")."""
    return [LABEL[c][v] for c, v in values.items()]


def write_csv(name: str, rows: list[list[str]], *, delimiter: str = ",", bom: bool = False) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    (HERE / name).write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def google_forms(rng: random.Random) -> None:
    """Labels, numbered question headers, zone-suffixed timestamps, one unknown respondent.
    TXT1 is a checkbox question (choices joined with ";"), TXT2 a paragraph answer."""
    header = ["Timestamp", "Email Address", *(f"{n}. {i.text}" for n, i in enumerate(ITEMS, 1))]
    rows = [header]
    sheets = [
        ("2026/10/08 8:15:27 PM GMT+2", email(1, "A"), "Money;Family time", ""),
        ("2026/10/08 9:02:41 PM GMT+2", email(1, "B"), "Family time", ""),
        ("2026/10/29 7:41:13 PM GMT+1", email(1, "A"), "", "We argued less, mostly.\nThanks!"),
        ("2026/10/29 10:05:09 PM GMT+1", email(1, "B"), "Work stress;Money", ""),
        ("2026/11/02 7:41:11 PM GMT+1", email(2, "A"), "", ""),
        ("2026/11/02 8:30:55 PM EET", email(2, "B"), "Intimacy", '=HYPERLINK("x")'),
        ("2026/11/09 6:12:37 AM GMT+1", email(3, "A"), "", ""),
        ("2026/11/09 7:48:03 PM GMT+1", email(3, "B"), "Money", ""),
        ("2026/11/10 9:00:01 PM GMT+1", "stranger@example.org", "Family time", "New here."),
    ]
    for stamp, who, topics, note in sheets:
        rows.append([stamp, who, *labelled(answers(rng)), topics, note])
    write_csv("google_forms.csv", rows)


def microsoft_forms(rng: random.Random) -> None:
    """Excel datetime cells (and one text date), plain question headers, labels."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Sheet1"
    sheet.append(["Id", "Start time", "Completion time", "Email", "Name", "Last modified time"]
                 + [i.text for i in ITEMS])  # fmt: skip
    people = [(4, "A"), (4, "B"), (5, "A"), (5, "B"), (4, "A"), (5, "A")]
    days = [dt.datetime(2026, 10, 14, 19, 3, 17), dt.datetime(2026, 10, 14, 21, 44, 29),
            dt.datetime(2026, 10, 21, 18, 20, 51), dt.datetime(2026, 10, 22, 7, 9, 33),
            dt.datetime(2026, 11, 4, 20, 31, 5), None]  # fmt: skip
    texts = [("Planning the winter holidays", None), (None, None),
             (None, "Busy month at work for both of us."), ("Who walks the dog", None),
             (None, None), ("Sharing the weekend chores", "Nothing else, thank you.")]  # fmt: skip
    for n, ((case, label), done, words) in enumerate(zip(people, days, texts, strict=True), 1):
        completion: object = done if done else "11/3/2026 10:15:27"
        start = (done or dt.datetime(2026, 11, 3, 10, 9, 0)) - dt.timedelta(minutes=6)
        name = f"Demo Partner {case}{label}"
        values = labelled(answers(rng))
        sheet.append([n, start, completion, email(case, label), name, None, *values, *words])
    for row in sheet.iter_rows(min_row=2, min_col=2, max_col=3):
        for cell in row:
            if isinstance(cell.value, dt.datetime):
                cell.number_format = "m/d/yy h:mm:ss"
    stamp = dt.datetime(*FIXED_ZIP_TIME)
    book.properties.created = book.properties.modified = stamp
    raw = io.BytesIO()
    book.save(raw)
    # Rewrite the zip with fixed entry times so that re-running gives the same bytes.
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps "modified" at save time
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-11-18T12:00:00Z", content
                )
            dst.writestr(fixed, content)
    (HERE / "microsoft_forms.xlsx").write_bytes(out.getvalue())


def qualtrics(rng: random.Random) -> None:
    """Three header rows, numeric answers, a preview, a spam and an unfinished response."""
    meta_ids = ["StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)",
                "Finished", "RecordedDate", "ResponseId", "RecipientLastName",
                "RecipientFirstName", "RecipientEmail", "ExternalReference", "LocationLatitude",
                "LocationLongitude", "DistributionChannel", "UserLanguage"]  # fmt: skip
    meta_texts = ["Start Date", "End Date", "Response Type", "IP Address", "Progress",
                  "Duration (in seconds)", "Finished", "Recorded Date", "Response ID",
                  "Recipient Last Name", "Recipient First Name", "Recipient Email",
                  "External Data Reference", "Location Latitude", "Location Longitude",
                  "Distribution Channel", "User Language"]  # fmt: skip
    zone = {"timeZone": "Europe/Berlin"}
    import_ids = [json.dumps({"ImportId": k, **(zone if "Date" in k else {})})
                  for k in ("startDate", "endDate", "status", "ipAddress", "progress", "duration",
                            "finished", "recordedDate", "_recordId", "recipientLastName",
                            "recipientFirstName", "recipientEmail", "externalDataReference",
                            "locationLatitude", "locationLongitude", "distributionChannel",
                            "userLanguage")]  # fmt: skip
    # Qualtrics names free-text (text entry) questions' data "..._TEXT".
    qids = [f"QID{n}_TEXT" if i.kind == "text" else f"QID{n}" for n, i in enumerate(ITEMS, 1)]
    rows = [
        meta_ids + [f"Q{n}" for n in range(1, len(ITEMS) + 1)],
        meta_texts + [f"Q{n} - {i.text}" for n, i in enumerate(ITEMS, 1)],
        import_ids + [json.dumps({"ImportId": q}) for q in qids],
    ]
    sheets = [  # (recorded, status, finished, email, external reference, TXT1, TXT2)
        ("2026-10-20 20:15:11", "IP Address", "True", email(6, "A"), "", "Our budget", ""),
        ("2026-10-20 21:40:07", "IP Address", "True", "", code(6, "B"), "", ""),
        ("2026-10-26 09:00:03", "Survey Preview", "True", "", "", "test", "test"),
        ("2026-11-03 20:15:11", "IP Address", "True", email(6, "A"), "", "", ""),
        ("2026-11-03 22:01:45", "IP Address", "True", "", code(6, "B"), "",
         "Moving house next month."),
        ("2026-11-04 03:12:19", "Spam", "True", email(7, "A"), "", "", ""),
        ("2026-11-05 19:30:39", "IP Address", "False", email(7, "B"), "", "", ""),
        ("2026-11-10 19:55:21", "IP Address", "True", email(7, "A"), "", "Time for just us two",
         ""),
        ("2026-11-11 20:10:43", "IP Address", "True", email(7, "B"), "", "", ""),
    ]  # fmt: skip
    for n, (recorded, status, finished, mail, reference, *words) in enumerate(sheets, start=1):
        values = [str(v) for v in answers(rng).values()]
        if finished == "False":
            values = values[:12] + [""] * (len(values) - 12)
        started = recorded[:-2] + "00"
        rows.append([started, recorded, status, "", "100" if finished == "True" else "35", "412",
                     finished, recorded, f"R_{n:03d}DemoResp{n}", "", "", mail, reference, "", "",
                     "email" if mail else "anonymous", "EN", *values, *words])  # fmt: skip
    write_csv("qualtrics.csv", rows)


def redcap(rng: random.Random) -> None:
    """Raw export: enrolment form (client code) at the first event, check-in at weekly events."""
    fields = [i.code.lower() for i in ITEMS]
    header = ["record_id", "redcap_event_name", "client_code", "enrolment_date",
              "enrolment_complete", "checkin_timestamp", *fields, "checkin_complete"]  # fmt: skip
    rows = [header]
    blank = [""] * len(fields)
    Event = tuple[str, str, str] | None  # (completed, TXT1, TXT2); None: form not used
    plan: list[tuple[int, str, list[Event]]] = [(1, code(8, "A"), [("2026-10-27 21:05:33", "", ""),
                               ("2026-11-03 20:47:19", "Talking to my parents", "")]),
            (2, code(8, "B"), [("2026-10-27 22:13:05", "", ""),
                               ("2026-11-04 08:02:51", "", "Started a new job.")]),
            (3, code(9, "A"), [("2026-11-05 19:19:29", "", ""), None])]  # fmt: skip
    for record, client, events in plan:
        rows.append([str(record), "enrolment_arm_1", client, "2026-10-20", "2", "", *blank, ""])
        for week, event in enumerate(events, start=1):
            name = f"week_{week}_arm_1"
            if event is None:  # the form was not filled in at this event
                rows.append([str(record), name, "", "", "", "", *blank, ""])
                continue
            stamp, *words = event
            values = [str(v) for v in answers(rng).values()]
            rows.append([str(record), name, "", "", "", stamp, *values, *words, "2"])
    write_csv("redcap.csv", rows)


def typeform(rng: random.Random) -> None:
    """ "#" ids, lower-case titles without full stops, numbers, hidden email field, UTC dates.
    No free-text questions on this form (they are optional); the samples' one positive safety
    answer (DISCLOSURE)."""
    header = ["#", *(i.text.rstrip(".").lower() for i in ANSWERED)]
    rows = [[*header, "Start Date (UTC)", "Submit Date (UTC)", "Network ID", "email"]]
    people = [(10, "A", "2026-10-16 18:22:47"), (10, "B", "2026-10-16 19:03:15"),
              (11, "A", "2026-10-23 17:45:09"), (11, "B", "2026-10-24 10:11:31"),
              (10, "A", "2026-11-06 18:30:53"), (11, "A", "2026-11-13 20:58:01")]  # fmt: skip
    _, who, item, value = DISCLOSURE
    for n, (case, label, submitted) in enumerate(people, start=1):
        sheet = answers(rng)
        if email(case, label) == who:
            sheet[item] = value
        started = submitted[:-2] + "01"
        rows.append([f"tf{n:04d}x9k", *(str(v) for v in sheet.values()), started, submitted,
                     f"net{n:03d}", email(case, label)])  # fmt: skip
    write_csv("typeform.csv", rows)


def generic_wide(rng: random.Random) -> None:
    """Excel "CSV UTF-8" in a European locale: BOM, ";" separator, decimal commas, d/m/y dates."""
    rows = [["client_code", "completed_at", *(i.code for i in ITEMS)]]
    plan = [(12, "A", "09/10/2026 19:41:13", "", ""),
            (12, "B", "09/10/2026 20:02:35", "Getting started; what to expect", ""),
            (12, "A", "16/10/2026 19:37:57", "", ""),
            (12, "B", "17/10/2026 08:15:21", "", ""),
            (1, "A", "05/11/2026 18:44:39", "", "Away on a course next week."),
            (1, "B", "05/11/2026 21:16:07", "", ""),
            (12, "A", "13/11/2026 19:40:45", "Birthday plans", ""),
            (12, "B", "14/11/2026 09:05:17", "", "")]  # fmt: skip
    for case, label, stamp, *words in plan:
        values = [f"{v},0" if rng.random() < 0.5 else str(v) for v in answers(rng).values()]
        rows.append([code(case, label), stamp, *values, *words])
    write_csv("generic_wide.csv", rows, delimiter=";", bom=True)


def generic_long(rng: random.Random) -> None:
    """One row per answer (labels), to be pivoted to one row per response; a free-text answer
    is a row only when it was given."""
    rows = [["respondent", "completed_at", "item", "value"]]
    plan = [(2, "A", "2026-10-30 19:12:45", {"TXT1": "Visiting the in-laws"}),
            (2, "B", "2026-10-30 20:40:19", {}),
            (3, "A", "2026-11-12 18:03:27", {}),
            (3, "B", "2026-11-12 18:59:51", {"TXT2": "Feeling hopeful."})]  # fmt: skip
    for case, label, stamp, words in plan:
        sheet = answers(rng)
        for item, value in zip(sheet, labelled(sheet), strict=True):
            rows.append([email(case, label), stamp, item, value])
        for item, text in words.items():
            rows.append([email(case, label), stamp, item, text])
    write_csv("generic_long.csv", rows)


def main() -> None:
    for seed, writer in enumerate(
        (google_forms, microsoft_forms, qualtrics, redcap, typeform, generic_wide, generic_long)
    ):
        writer(random.Random(1000 + seed))
        print(f"wrote {writer.__name__}")


if __name__ == "__main__":
    main()
