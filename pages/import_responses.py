"""Import check-in responses: upload -> check the columns -> preview -> confirm; plus the queue of
responses whose respondent matched no partner.

Text from uploaded files is only ever shown in st.text, st.dataframe or st.table (never as
markdown). All data work happens in analytics.importing.service.
"""

from __future__ import annotations

import streamlit as st

import ui
from analytics.errors import CaseloadError
from analytics.importing import service
from analytics.importing.mapping import Mapping
from analytics.importing.parsed import ParsedFile

NONCE, PARSED, RESULT = "import_nonce", "import_parsed", "import_result"

actor = ui.require_actor()
db = ui.database()
st.title("📥 Import check-ins")
st.caption(
    "Upload an export from Google Forms, Microsoft Forms, Qualtrics, REDCap, Typeform or a plain "
    "CSV. Nothing is stored until you confirm, and responses already stored are skipped."
)
ui.show_flash()


def outside_note(count: int, *, done: bool) -> str:
    """How many rows go to couples outside the caseload: a count, never whose."""
    rows = "1 row" if count == 1 else f"{count} rows"
    verb = ("went" if done else "go") if count != 1 else ("went" if done else "goes")
    return (
        f"{rows} {verb} to couples outside your caseload; their own therapist sees "
        f"{'it' if count == 1 else 'them'} on the couple's page."
    )


def show_result(result: service.ImportResult) -> None:
    st.success(
        f"Imported {result.accepted} new responses. {result.duplicates} were already stored, "
        f"{result.unmatched} wait in the unmatched queue below, {result.rejected} were rejected.",
        icon="✅",
    )
    if result.outside_caseload:
        st.info(outside_note(result.outside_caseload, done=True), icon="🔒")
    for couple_id, case_code in result.couples:
        label = f"Open {ui.escape_markdown(case_code)}"
        if st.button(label, key=f"import_open_{couple_id}", icon="👫"):
            st.session_state["couple_id"] = couple_id
            st.switch_page("pages/couple.py")


def read_upload(file_id: str, name: str, data: bytes) -> ParsedFile | None:
    """The uploaded file read once per upload (kept in the session while it is reviewed)."""
    kept = st.session_state.get(PARSED)
    if kept and kept[0] == file_id:
        return kept[1]  # type: ignore[no-any-return]
    try:
        parsed = service.read(db, name, data)
    except CaseloadError as exc:
        ui.show_error(exc)
        return None
    st.session_state[PARSED] = (file_id, parsed)
    return parsed


def choose_mapping(parsed: ParsedFile) -> Mapping:
    """One selectbox per question column, starting from the profile or automatic matching."""
    start, _, profile_name = service.suggest_mapping(db, parsed)
    labels = service.item_labels(db, start.instrument_code)
    options = ["", *labels]
    chosen: dict[str, str] = {}
    with st.expander("Check which question each column holds", expanded=not profile_name):
        if profile_name:
            st.caption("Columns mapped by the saved profile:")
            st.text(profile_name)
        st.caption(
            "Columns marked (free text) hold answers in the partner's own words: they are stored "
            "with the response, kept confidential and shown only on the couple page."
        )
        for number, column in enumerate(parsed.question_columns, start=1):
            left, right = st.columns([2, 3])
            left.text(column)
            pick = right.selectbox(
                f"Question for column {number}",
                options,
                index=options.index(start.columns.get(column, "")),
                format_func=lambda code: labels.get(code, "— not imported —"),
                key=f"import_map_{parsed.checksum[:12]}_{number}",
                label_visibility="collapsed",
            )
            if pick:
                chosen[column] = pick
    ignored = tuple(c for c in parsed.question_columns if c not in chosen)
    return Mapping(start.instrument_code, chosen, ignored)


def show_preview(preview: service.ImportPreview) -> None:
    if preview.problems:
        # The reasons name scales and items from instrument files: shown as plain text only.
        st.error("This file cannot be imported:", icon="🚫")
        for problem in preview.problems:
            st.text(problem)
    if preview.unmapped and not preview.problems:
        st.caption("Questions that no column holds (left unanswered):")
        st.text(", ".join(preview.unmapped))
    cols = st.columns(4)
    cols[0].metric("New responses", preview.accepted)
    cols[1].metric("Rejected rows", len(preview.rejected))
    cols[2].metric("Already stored", preview.duplicates)
    cols[3].metric("Unmatched", preview.unmatched)
    if preview.outside_caseload:
        st.info(outside_note(preview.outside_caseload, done=False), icon="🔒")
    if preview.accepted > preview.outside_caseload:
        st.caption("Responses that will be stored")
        st.dataframe(preview.accepted_table(), hide_index=True, width="stretch")
    if not preview.rejected_table().empty:
        st.caption("Rows that will not be imported")
        st.dataframe(preview.rejected_table(), hide_index=True, width="stretch")


def review_and_commit(parsed: ParsedFile) -> None:
    st.subheader("1. File")
    st.text(f"{parsed.source_label} export, {len(parsed.frame)} responses")
    for note in parsed.notes:
        st.text(note)
    st.subheader("2. Columns")
    mapping = choose_mapping(parsed)
    profile = st.text_input("Save this column mapping as a profile (optional)", max_chars=100)
    st.subheader("3. Preview")
    try:
        preview = service.review(db, actor, parsed, now=ui.now_utc(), mapping=mapping)
    except CaseloadError as exc:
        ui.show_error(exc)
        return
    show_preview(preview)
    label = f"Import {preview.accepted + preview.unmatched} responses"
    # Keyed by the file, not by its label: when another session stores these responses first,
    # the label's count changes on the click's rerun, and an unkeyed button would drop the click.
    commit_key = f"import_commit_{parsed.checksum[:16]}"
    if st.button(label, key=commit_key, type="primary", disabled=not preview.importable, icon="📥"):
        bar = st.progress(0.0, text="Storing the responses…")

        def progress(done: float) -> None:
            bar.progress(done, text="Storing the responses…")

        with ui.guarded():
            result = service.commit_import(
                db,
                actor,
                preview,
                save_profile_as=profile.strip() or None,
                progress=progress,
            )
            ui.changed()
            st.session_state[RESULT] = result
            st.session_state.pop(PARSED, None)
            st.session_state[NONCE] = st.session_state.get(NONCE, 0) + 1
            st.rerun()


def unmatched_queue() -> None:
    st.subheader("Unmatched responses")
    pending = ui.load(service.list_pending, actor)
    if pending.empty:
        st.caption("No imported response is waiting for a partner.")
        return
    st.dataframe(pending, hide_index=True, width="stretch")
    rows = service.pending_choices(pending)
    partners = ui.load(service.partner_choices, actor)
    left, right = st.columns(2)
    pick = left.selectbox("Response", list(rows), format_func=rows.__getitem__)
    # No default partner: filing a response under a client is always a deliberate choice.
    partner = right.selectbox(
        "File it under",
        list(partners),
        index=None,
        placeholder="Choose a partner",
        format_func=partners.__getitem__,
    )
    if pick is None:
        return
    filing = st.button("File under this partner", disabled=partner is None, icon="📎")
    if filing and partner is not None:
        with ui.guarded():
            service.assign(db, actor, pick, partner)
            ui.changed()
            ui.flash("The response was filed.")
    discard_form(pick, rows[pick])


def discard_form(pick: int, label: str) -> None:
    """Discarding asks why (a fixed list, plus an optional note) and for a confirmation."""
    with st.expander("Discard this response instead"):
        st.caption(
            "A discarded response is kept for the record but never filed under a client. "
            "The reason is recorded in the audit trail; the note is stored with the response only."
        )
        reasons = service.DISCARD_REASONS
        reason = st.selectbox(
            "Why is it discarded?",
            list(reasons),
            index=None,
            placeholder="Choose a reason",
            format_func=reasons.__getitem__,
            key=f"discard_reason_{pick}",
        )
        note = st.text_input(
            "Note (optional)", max_chars=service.MAX_NOTE, key=f"discard_note_{pick}"
        )
        sure = st.checkbox(
            f"Yes, discard response {label}", key=f"discard_sure_{pick}", disabled=reason is None
        )
        if st.button("Discard", icon="🗑️", disabled=reason is None or not sure):
            with ui.guarded():
                service.discard(db, actor, pick, reason=str(reason), note=note)
                ui.changed()
                ui.flash("The response was discarded.")


nonce = st.session_state.get(NONCE, 0)
upload = st.file_uploader(
    "Survey export", type=["csv", "xlsx", "txt", "tsv"], key=f"import_upload_{nonce}"
)
if upload is None:
    if RESULT in st.session_state:
        show_result(st.session_state[RESULT])
else:
    st.session_state.pop(RESULT, None)
    parsed = read_upload(upload.file_id, upload.name, upload.getvalue())
    if parsed is not None:
        review_and_commit(parsed)
st.divider()
unmatched_queue()
