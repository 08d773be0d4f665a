"""Write one synthetic export per supported survey tool (deterministic).

    .venv/bin/python data/samples/make_samples.py

Every file answers the built-in "Relationship check-in" for partners of the DEMO practice
(case codes D-001 .. D-012; emails d001.a@example.org; client codes D-001A). Times are in
October-November 2026, before 2026-11-19, at odd seconds so they never collide with the demo's
own check-ins. See README.md for what each file shows.
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
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
CHECKIN = HERE.parent.parent / "analytics" / "instruments" / "files" / "checkin.toml"
INSTRUMENT = tomllib.loads(CHECKIN.read_text(encoding="utf-8"))
ITEMS: list[tuple[str, str]] = [(i["code"], i["text"]) for i in INSTRUMENT["items"]]
LABELS: list[str] = INSTRUMENT["scale"]["labels"]
FIXED_ZIP_TIME = (2026, 11, 18, 12, 0, 0)


def email(case: int, label: str) -> str:
    return f"d{case:03d}.{label.lower()}@example.org"


def code(case: int, label: str) -> str:
    return f"D-{case:03d}{label.upper()}"


def answers(rng: random.Random) -> list[int]:
    """One plausible answer sheet on the 0-6 scale (safety items mostly 0)."""
    base = rng.randint(2, 5)
    return [
        rng.choice([0, 0, 0, 1])
        if c.startswith("SAF")
        else min(6, max(0, base + rng.randint(-1, 1)))
        for c, _ in ITEMS
    ]


def write_csv(name: str, rows: list[list[str]], *, delimiter: str = ",", bom: bool = False) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    (HERE / name).write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def google_forms(rng: random.Random) -> None:
    """Labels, numbered question headers, zone-suffixed timestamps, one unknown respondent."""
    topics = "Which topics would you like to talk about next session?"
    extra = "Anything else you want your therapist to know?"
    header = ["Timestamp", "Email Address", *(f"{n}. {t}" for n, (_, t) in enumerate(ITEMS, 1))]
    rows = [[*header, topics, extra]]
    sheets = [
        ("2026/10/08 8:15:27 PM GMT+2", email(1, "A"), "Money;Family time", ""),
        ("2026/10/08 9:02:41 PM GMT+2", email(1, "B"), "Family time", ""),
        ("2026/10/29 7:41:13 PM GMT+1", email(1, "A"), "", "We argued less, mostly.\nThanks!"),
        ("2026/10/29 10:05:09 PM GMT+1", email(1, "B"), "Work stress;Money", ""),
        ("2026/11/02 7:41:12 PM GMT+1", email(2, "A"), "", ""),
        ("2026/11/02 8:30:55 PM EET", email(2, "B"), "Intimacy", '=HYPERLINK("x")'),
        ("2026/11/09 6:12:37 AM GMT+1", email(3, "A"), "", ""),
        ("2026/11/09 7:48:03 PM GMT+1", email(3, "B"), "Money", ""),
        ("2026/11/10 9:00:01 PM GMT+1", "stranger@example.org", "", ""),
    ]
    for stamp, who, topic, note in sheets:
        rows.append([stamp, who, *(LABELS[v] for v in answers(rng)), topic, note])
    write_csv("google_forms.csv", rows)


def microsoft_forms(rng: random.Random) -> None:
    """Excel datetime cells (and one text date), plain question headers, labels."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Sheet1"
    sheet.append(["Id", "Start time", "Completion time", "Email", "Name", "Last modified time"]
                 + [t for _, t in ITEMS])  # fmt: skip
    people = [(4, "A"), (4, "B"), (5, "A"), (5, "B"), (4, "A"), (5, "A")]
    days = [dt.datetime(2026, 10, 14, 19, 3, 17), dt.datetime(2026, 10, 14, 21, 44, 29),
            dt.datetime(2026, 10, 21, 18, 20, 51), dt.datetime(2026, 10, 22, 7, 9, 33),
            dt.datetime(2026, 11, 4, 20, 31, 5), None]  # fmt: skip
    for n, ((case, label), done) in enumerate(zip(people, days, strict=True), start=1):
        completion: object = done if done else "11/3/2026 10:15:27"
        start = (done or dt.datetime(2026, 11, 3, 10, 9, 0)) - dt.timedelta(minutes=6)
        name = f"Demo Partner {case}{label}"
        values = [LABELS[v] for v in answers(rng)]
        sheet.append([n, start, completion, email(case, label), name, None, *values])
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
    rows = [
        meta_ids + [f"Q{n}" for n in range(1, len(ITEMS) + 1)],
        meta_texts + [f"Q{n} - {t}" for n, (_, t) in enumerate(ITEMS, 1)],
        import_ids + [json.dumps({"ImportId": f"QID{n}"}) for n in range(1, len(ITEMS) + 1)],
    ]
    sheets = [  # (recorded, status, finished, email, external reference)
        ("2026-10-20 20:15:11", "IP Address", "True", email(6, "A"), ""),
        ("2026-10-20 21:40:07", "IP Address", "True", "", code(6, "B")),
        ("2026-10-26 09:00:03", "Survey Preview", "True", "", ""),
        ("2026-11-03 20:15:11", "IP Address", "True", email(6, "A"), ""),
        ("2026-11-03 22:01:45", "IP Address", "True", "", code(6, "B")),
        ("2026-11-04 03:12:19", "Spam", "True", email(7, "A"), ""),
        ("2026-11-05 19:30:39", "IP Address", "False", email(7, "B"), ""),
        ("2026-11-10 19:55:21", "IP Address", "True", email(7, "A"), ""),
        ("2026-11-11 20:10:43", "IP Address", "True", email(7, "B"), ""),
    ]
    for n, (recorded, status, finished, mail, reference) in enumerate(sheets, start=1):
        values = [str(v) for v in answers(rng)]
        if finished == "False":
            values = values[:12] + [""] * (len(values) - 12)
        started = recorded[:-2] + "00"
        rows.append([started, recorded, status, "", "100" if finished == "True" else "35", "412",
                     finished, recorded, f"R_{n:03d}DemoResp{n}", "", "", mail, reference, "", "",
                     "email" if mail else "anonymous", "EN", *values])  # fmt: skip
    write_csv("qualtrics.csv", rows)


def redcap(rng: random.Random) -> None:
    """Raw export: enrolment form (client code) at the first event, check-in at weekly events."""
    fields = [c.lower() for c, _ in ITEMS]
    header = ["record_id", "redcap_event_name", "client_code", "enrolment_date",
              "enrolment_complete", "checkin_timestamp", *fields, "checkin_complete"]  # fmt: skip
    rows = [header]
    blank = [""] * len(fields)
    plan = [(1, code(8, "A"), ["2026-10-27 21:05:33", "2026-11-03 20:47:19"]),
            (2, code(8, "B"), ["2026-10-27 22:13:05", "2026-11-04 08:02:51"]),
            (3, code(9, "A"), ["2026-11-05 19:19:29", None])]  # fmt: skip
    for record, client, stamps in plan:
        rows.append([str(record), "enrolment_arm_1", client, "2026-10-20", "2", "", *blank, ""])
        for week, stamp in enumerate(stamps, start=1):
            event = f"week_{week}_arm_1"
            if stamp is None:  # the form was not filled in at this event
                rows.append([str(record), event, "", "", "", "", *blank, ""])
                continue
            values = [str(v) for v in answers(rng)]
            rows.append([str(record), event, "", "", "", stamp, *values, "2"])
    write_csv("redcap.csv", rows)


def typeform(rng: random.Random) -> None:
    """ "#" ids, lower-case titles without full stops, numbers, hidden email field, UTC dates."""
    header = ["#", *(t.rstrip(".").lower() for _, t in ITEMS)]
    rows = [[*header, "Start Date (UTC)", "Submit Date (UTC)", "Network ID", "email"]]
    people = [(10, "A", "2026-10-16 18:22:47"), (10, "B", "2026-10-16 19:03:15"),
              (11, "A", "2026-10-23 17:45:09"), (11, "B", "2026-10-24 10:11:31"),
              (10, "A", "2026-11-06 18:30:53"), (11, "A", "2026-11-13 20:58:01")]  # fmt: skip
    for n, (case, label, submitted) in enumerate(people, start=1):
        values = [str(v) for v in answers(rng)]
        started = submitted[:-2] + "01"
        rows.append(
            [f"tf{n:04d}x9k", *values, started, submitted, f"net{n:03d}", email(case, label)]
        )
    write_csv("typeform.csv", rows)


def generic_wide(rng: random.Random) -> None:
    """Excel "CSV UTF-8" in a European locale: BOM, ";" separator, decimal commas, d/m/y dates."""
    rows = [["client_code", "completed_at", *(c for c, _ in ITEMS)]]
    plan = [(12, "A", "09/10/2026 19:41:13"), (12, "B", "09/10/2026 20:02:35"),
            (12, "A", "16/10/2026 19:37:57"), (12, "B", "17/10/2026 08:15:21"),
            (1, "A", "05/11/2026 18:44:39"), (1, "B", "05/11/2026 21:16:07"),
            (12, "A", "13/11/2026 19:40:45"), (12, "B", "14/11/2026 09:05:17")]  # fmt: skip
    for case, label, stamp in plan:
        values = [f"{v},0" if rng.random() < 0.5 else str(v) for v in answers(rng)]
        rows.append([code(case, label), stamp, *values])
    write_csv("generic_wide.csv", rows, delimiter=";", bom=True)


def generic_long(rng: random.Random) -> None:
    """One row per answer (labels), to be pivoted to one row per response."""
    rows = [["respondent", "completed_at", "item", "value"]]
    plan = [(2, "A", "2026-10-30 19:12:45"), (2, "B", "2026-10-30 20:40:19"),
            (3, "A", "2026-11-12 18:03:27"), (3, "B", "2026-11-12 18:59:51")]  # fmt: skip
    for case, label, stamp in plan:
        for (item, _), value in zip(ITEMS, answers(rng), strict=True):
            rows.append([email(case, label), stamp, item, LABELS[value]])
    write_csv("generic_long.csv", rows)


def main() -> None:
    for seed, writer in enumerate(
        (google_forms, microsoft_forms, qualtrics, redcap, typeform, generic_wide, generic_long)
    ):
        writer(random.Random(1000 + seed))
        print(f"wrote {writer.__name__}")


if __name__ == "__main__":
    main()
